#!/usr/bin/env python3
"""The users CSV calls of the stock client of XiVO 15.20 (xivo-confd-client),
as it sends them: a new requests session per call with `Connection: close`
and HTTP Digest; `users.import_csv(csvdata)` and `users.update_csv(csvdata)`
send the raw CSV with `Content-Type: text/csv; charset=utf-8` as their only
header (no `Accept`), do not check the status, and return `response.json()`;
`users.export_csv()` sends `Accept: application/json` and returns
`response.content`.

Usage: stock_client_users_csv.py HOST PORT LOGIN PASSWORD

Prints one JSON summary line; exits non-zero, with a message on stderr, on
the first failed expectation.
"""

import csv
import io
import json
import sys

import urllib3

from harness import Failure, StockSession, expect, main

urllib3.disable_warnings(urllib3.exceptions.InsecureRequestWarning)


class StockClient(StockSession):
    """What ConfdClient(host, port, username, password, https=True,
    verify_certificate=False).users does on the wire for these commands."""

    # users.import_csv(csvdata, encoding='utf-8', timeout=300)
    def import_csv(self, csvdata, encoding="utf-8"):
        headers = {"Content-Type": "text/csv; charset={}".format(encoding)}
        response = self.session().post(self.url("users/import"), data=csvdata, timeout=300, headers=headers)
        return response.json()

    # users.update_csv(csvdata, encoding='utf-8', timeout=300)
    def update_csv(self, csvdata, encoding="utf-8"):
        headers = {"Content-Type": "text/csv; charset={}".format(encoding)}
        response = self.session().put(self.url("users/import"), data=csvdata, timeout=300, headers=headers)
        return response.json()

    # users.export_csv(): ConfdSession.get with its READ_HEADERS
    def export_csv(self):
        response = self.session().get(self.url("users/export"), headers={"Accept": "application/json"})
        expect(response.status_code == 200, "export: %s %r" % (response.status_code, response.text[:300]))
        return response.content


def rows(content):
    return list(csv.DictReader(io.StringIO(content.decode("utf-8"))))


def run(host, port, login, password):
    client = StockClient(host, port, login, password)
    created = client.import_csv(
        "firstname,lastname,username,password,line_protocol,context,exten,cti_profile_name,"
        "cti_profile_enabled\r\n"
        "Stôck,Client,stock,stockpass,sip,default,1001,Client,1\r\n"
        "Sécond,,,,sccp,default,1002,,\r\n".encode("utf-8")
    )
    expect("created" in created and len(created["created"]) == 2, "import: %r" % created)
    refused = client.import_csv(b"firstname,nickname\r\nA,b\r\n")
    expect("errors" in refused and "nickname" in refused["errors"][0]["message"], "refused: %r" % refused)

    exported = rows(client.export_csv())
    expect([r["firstname"] for r in exported] == ["Stôck", "Sécond"], "export: %r" % exported)
    stock = exported[0]
    expect(stock["line_protocol"] == "sip" and stock["exten"] == "1001", "stock's line: %r" % stock)
    expect(stock["cti_profile_name"] == "Client" and stock["cti_profile_enabled"] == "1", "cti: %r" % stock)

    # latin-1, as the client's encoding argument names it
    updated = client.update_csv(
        "uuid,lastname\r\n{},Clïent\r\n".format(stock["uuid"]).encode("iso-8859-1"),
        encoding="iso-8859-1",
    )
    expect("updated" in updated and updated["updated"][0]["user_uuid"] == stock["uuid"], "update: %r" % updated)
    after = rows(client.export_csv())
    expect(after[0]["lastname"] == "Clïent", "after update: %r" % after[0])
    return {"ok": True, "created": created["created"], "exported": len(after)}


if __name__ == "__main__":
    sys.exit(main(run, sys.argv, "HOST PORT LOGIN PASSWORD"))
