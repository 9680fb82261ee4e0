#!/usr/bin/env bash
# Runs the whole test suite. First installs what the tests drive besides the
# binary itself: curl, and Python 3 with requests (legacy-client tests).
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v curl >/dev/null 2>&1; then
    apt-get update -qq && apt-get install -y -qq curl
fi
if ! command -v python3 >/dev/null 2>&1; then
    apt-get update -qq && apt-get install -y -qq python3 python3-pip
fi
if ! python3 -c 'import requests' >/dev/null 2>&1; then
    python3 -m pip install --quiet requests \
        || (apt-get update -qq && apt-get install -y -qq python3-requests)
fi

cargo test --locked
