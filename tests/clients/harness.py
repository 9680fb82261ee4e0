"""What the scripted clients share: a failed check, the stock client's
session, and a main that runs
the script's `run` and prints its summary as one JSON line (the Rust tests
read it), exiting 0 when every check held, 1 when one failed, 2 on usage."""

import json
import sys

import requests


class Failure(Exception):
    pass


def expect(condition, message):
    if not condition:
        raise Failure(message)


class StockSession:
    """What xivo-confd-client 15.20's BaseClient and ConfdSession do on the
    wire before any command: HTTPS with Digest, a new Session for each
    request with its headers replaced (`Connection: close`), the
    certificate not checked."""

    def __init__(self, host, port, login, password):
        self.base = "https://%s:%s/1.1" % (host, port)
        self.auth = (login, password)

    def session(self):
        # BaseClient.session(): a new Session each time, headers replaced
        session = requests.Session()
        session.headers = {"Connection": "close"}
        session.verify = False
        # the machine may set a CA bundle or proxies: ignore them all
        session.trust_env = False
        session.auth = requests.auth.HTTPDigestAuth(*self.auth)
        return session

    def url(self, part):
        # ConfdSession.clean_url
        return "{}/{}".format(self.base.rstrip("/"), part.lstrip("/"))


def main(run, argv, usage):
    arguments = usage.split()
    if len(argv) != len(arguments) + 1:
        sys.stderr.write("usage: %s %s\n" % (argv[0], usage))
        return 2
    try:
        summary = run(*argv[1:])
    except Failure as failure:
        sys.stderr.write("FAILED: %s\n" % failure)
        print(json.dumps({"ok": False, "error": str(failure)}))
        return 1
    except requests.RequestException as error:
        sys.stderr.write("FAILED: request error: %r\n" % error)
        print(json.dumps({"ok": False, "error": repr(error)}))
        return 1
    print(json.dumps(summary))
    return 0
