#!/usr/bin/env python3
"""A legacy confd client: one requests.Session with HTTP Digest auth.

Usage: digest_session.py BASE_URL LOGIN PASSWORD
  BASE_URL is the confd HTTPS base, e.g. https://127.0.0.1:9486

Runs 20 GET /1.1/infos then a user create/read/update/delete cycle on the
same session (so requests can reuse the server's nonce with an increasing
nc), prints one JSON summary line on stdout and exits non-zero, with a
message on stderr, on the first failed expectation.
"""

import json
import sys

import requests
import urllib3

from harness import Failure, expect, main

urllib3.disable_warnings(urllib3.exceptions.InsecureRequestWarning)

INFOS_ROUNDS = 20


def describe(response):
    return "%s %s -> %s %r" % (
        response.request.method,
        response.request.url,
        response.status_code,
        response.text[:500],
    )


def body_json(response):
    try:
        return response.json()
    except ValueError as error:
        raise Failure("not JSON (%s): %s" % (error, describe(response)))


def run(base, login, password):
    base = base.rstrip("/")
    session = requests.Session()
    # the environment may set REQUESTS_CA_BUNDLE / proxies: ignore them all
    session.trust_env = False
    session.auth = requests.auth.HTTPDigestAuth(login, password)
    requests_done = 0

    def call(method, path, **kwargs):
        nonlocal requests_done
        requests_done += 1
        return session.request(method, base + path, verify=False, timeout=10, **kwargs)

    for i in range(INFOS_ROUNDS):
        response = call("GET", "/1.1/infos")
        expect(response.status_code == 200, "infos #%d: expected 200: %s" % (i + 1, describe(response)))
        infos = body_json(response)
        expect(isinstance(infos, dict) and "uuid" in infos, "infos #%d: no uuid: %s" % (i + 1, describe(response)))

    response = call("POST", "/1.1/users", json={"firstname": "Py", "lastname": "Thon"})
    expect(response.status_code == 201, "create: expected 201: %s" % describe(response))
    created = body_json(response)
    expect(isinstance(created, dict) and "id" in created, "create: no id: %s" % describe(response))
    user_id = created["id"]
    path = "/1.1/users/%s" % user_id

    response = call("GET", path)
    expect(response.status_code == 200, "get: expected 200: %s" % describe(response))
    user = body_json(response)
    expect(user.get("firstname") == "Py" and user.get("lastname") == "Thon",
           "get: unexpected user: %s" % describe(response))

    response = call("PUT", path, json={"firstname": "Pyy"})
    expect(response.status_code == 204, "update: expected 204: %s" % describe(response))

    response = call("GET", path)
    expect(response.status_code == 200, "get after update: expected 200: %s" % describe(response))
    user = body_json(response)
    expect(user.get("firstname") == "Pyy" and user.get("lastname") == "Thon",
           "get after update: change not seen: %s" % describe(response))

    response = call("DELETE", path)
    expect(response.status_code == 204, "delete: expected 204: %s" % describe(response))

    response = call("GET", path)
    expect(response.status_code == 404, "get after delete: expected 404: %s" % describe(response))

    return {"ok": True, "requests": requests_done, "infos": INFOS_ROUNDS, "user_id": user_id}


if __name__ == "__main__":
    sys.exit(main(run, sys.argv, "BASE_URL LOGIN PASSWORD"))
