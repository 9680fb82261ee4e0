#!/usr/bin/env python3
"""The CTI, call log and live reload calls of the stock client of XiVO 15.20
(xivo-confd-client), as it sends them: a new requests session per call with
`Connection: close`, HTTP Digest, `Accept: application/json` on reads and
writes, `Content-Type: application/json` on writes, and for
`call_logs.list` its URL as that client builds it (its base URL joined in
front of the full one) with `Accept: text/csv` and the dates formatted by
`strftime('%Y-%m-%dT%H:%M:%S')`.

Usage: stock_client_cti.py HOST PORT LOGIN PASSWORD

Prints one JSON summary line; exits non-zero, with a message on stderr, on
the first failed expectation.
"""

import datetime
import json
import sys

import urllib3

from harness import Failure, StockSession, expect, main

urllib3.disable_warnings(urllib3.exceptions.InsecureRequestWarning)

READ_HEADERS = {"Accept": "application/json"}
WRITE_HEADERS = {"Accept": "application/json", "Content-Type": "application/json"}
DATETIME_FMT = "%Y-%m-%dT%H:%M:%S"


class StockClient(StockSession):
    """What ConfdClient(host, port, username, password, https=True,
    verify_certificate=False) does on the wire for these commands."""

    def __init__(self, host, port, login, password):
        super().__init__(host, port, login, password)
        self.calls = 0

    def call(self, method, part, body=None, headers=None, params=None):
        self.calls += 1
        headers = headers or (WRITE_HEADERS if method in ("POST", "PUT") else READ_HEADERS)
        data = json.dumps(body) if body is not None else None
        response = self.session().request(
            method, self.url(part), data=data, headers=headers, params=params, timeout=10
        )
        expect(
            response.status_code in (200, 201, 204),
            "%s %s -> %s %r" % (method, response.request.url, response.status_code, response.text[:300]),
        )
        return response

    # cti_profiles.list() / cti_profiles.get(id)
    def cti_profiles_list(self):
        return self.call("GET", "/cti_profiles").json()

    def cti_profiles_get(self, profile_id):
        return self.call("GET", "/cti_profiles/%s" % profile_id).json()

    # users.create(user)
    def users_create(self, user):
        return self.call("POST", "/users", body=user).json()

    # users(id).get_cti_profile() / add_cti_profile(id) / disable_cti_profile()
    def get_cti_profile(self, user_id):
        return self.call("GET", "/users/%s/cti" % user_id).json()

    def add_cti_profile(self, user_id, profile_id):
        self.call("PUT", "/users/%s/cti" % user_id, body={"cti_profile_id": profile_id, "enabled": True})

    def disable_cti_profile(self, user_id):
        self.call("PUT", "/users/%s/cti" % user_id, body={"enabled": False})

    # configuration.live_reload.get() / update(body)
    def live_reload_get(self):
        return self.call("GET", "/configuration/live_reload").json()

    def live_reload_update(self, body):
        self.call("PUT", "/configuration/live_reload", body=body)

    # call_logs.list(start_date=None, end_date=None): RESTCommand's base_url
    # (the full URL) given to ConfdSession.get, which joins it to its own
    def call_logs_list(self, start_date=None, end_date=None):
        params = {}
        if start_date:
            params["start_date"] = start_date.strftime(DATETIME_FMT)
        if end_date:
            params["end_date"] = end_date.strftime(DATETIME_FMT)
        response = self.call("GET", self.base + "/call_logs", headers={"Accept": "text/csv"}, params=params)
        return response.text


def run(host, port, login, password):
    client = StockClient(host, port, login, password)
    profiles = client.cti_profiles_list()
    names = [p["name"] for p in profiles["items"]]
    expect(names == ["Supervisor", "Agent", "Client", "Switchboard"], "profiles: %r" % names)
    client_id = [p["id"] for p in profiles["items"] if p["name"] == "Client"][0]
    expect(client.cti_profiles_get(client_id)["name"] == "Client", "get profile")

    user = client.users_create({"firstname": "Stock", "username": "stock", "password": "stockpass"})
    cti = client.get_cti_profile(user["id"])
    expect(cti["cti_profile_id"] is None and cti["enabled"] is False, "new user's cti: %r" % cti)
    client.add_cti_profile(user["id"], client_id)
    cti = client.get_cti_profile(user["id"])
    expect(cti["cti_profile_id"] == client_id and cti["enabled"] is True, "after add: %r" % cti)
    client.disable_cti_profile(user["id"])
    cti = client.get_cti_profile(user["id"])
    expect(cti["cti_profile_id"] == client_id and cti["enabled"] is False, "after disable: %r" % cti)

    expect(client.live_reload_get()["enabled"] is True, "live reload on by default")
    client.live_reload_update({"enabled": False})
    expect(client.live_reload_get()["enabled"] is False, "live reload off")

    everything = client.call_logs_list()
    expect(everything.startswith("Call Date,Caller,Called,Period,user Field\r\n"), "export: %r" % everything[:100])
    period = client.call_logs_list(
        start_date=datetime.datetime(2013, 1, 30), end_date=datetime.datetime(2013, 1, 31)
    )
    return {
        "ok": True,
        "calls": client.calls,
        "call_logs": everything.splitlines()[1:],
        "period": period.splitlines()[1:],
    }


if __name__ == "__main__":
    sys.exit(main(run, sys.argv, "HOST PORT LOGIN PASSWORD"))
