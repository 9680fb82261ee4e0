#!/usr/bin/env python3
"""The queue member calls of the stock xivo-confd-client 15.20
(`confd.queues.add_agent / get_membership / edit_membership / remove_agent`),
made as that client makes them: a requests session with HTTP Digest auth,
`Accept: application/json` on reads, `Accept` and `Content-Type:
application/json` on writes, the body `json.dumps`ed, any status but 200,
201 and 204 raised as an error.

Usage: queue_members_client.py BASE_URL LOGIN PASSWORD QUEUE_ID AGENT_ID
Prints one JSON line: what each call returned.
"""

import json
import sys

import requests
import urllib3

urllib3.disable_warnings(urllib3.exceptions.InsecureRequestWarning)

READ_HEADERS = {"Accept": "application/json"}
WRITE_HEADERS = {"Accept": "application/json", "Content-Type": "application/json"}
OK = (200, 201, 204)


class Session:
    """What the client's session does around requests."""

    def __init__(self, base, login, password):
        self.base = base.rstrip("/") + "/1.1"
        self.session = requests.Session()
        self.session.trust_env = False
        self.session.auth = requests.auth.HTTPDigestAuth(login, password)

    def send(self, method, url, headers, body=None):
        data = json.dumps(body) if body is not None else None
        response = self.session.request(
            method, self.base + "/" + url, headers=headers, data=data, verify=False, timeout=10
        )
        if response.status_code not in OK:
            raise SystemExit("%s %s -> %s %s" % (method, url, response.status_code, response.text))
        return response


def url_join(*parts):
    return "/".join(str(part) for part in parts)


def main(base, login, password, queue_id, agent_id):
    session = Session(base, login, password)
    members = url_join("queues", queue_id, "members", "agents")
    one = url_join("queues", queue_id, "members", "agents", agent_id)
    added = session.send("POST", members, WRITE_HEADERS, {"agent_id": agent_id, "penalty": 0}).json()
    read = session.send("GET", one, READ_HEADERS).json()
    session.send("PUT", one, WRITE_HEADERS, {"penalty": 3})
    edited = session.send("GET", one, READ_HEADERS).json()
    session.send("DELETE", one, READ_HEADERS)
    print(json.dumps({"added": added, "read": read, "edited": edited}))


if __name__ == "__main__":
    base, login, password, queue_id, agent_id = sys.argv[1:6]
    main(base, login, password, int(queue_id), int(agent_id))
