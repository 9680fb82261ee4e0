"""What the scripted clients share: a failed check, and a main that runs
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
