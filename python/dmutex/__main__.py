"""python3 -m dmutex -- dmutexctl's commands in Python (standard library only).

  python3 -m dmutex [--control PATH] lock NAME [--timeout SECONDS] [-- COMMAND ARGS...]
  python3 -m dmutex [--control PATH] unlock NAME
  python3 -m dmutex [--control PATH] status [--json] [NAME]
  python3 -m dmutex [--control PATH] members [--json]
  python3 -m dmutex [--control PATH] metrics

``lock`` has dmutexctl's semantics: with a command it runs it holding the
lock, with DMUTEX_FENCING_TOKEN and DMUTEX_LOCK_NAME in its environment,
passes SIGINT/SIGTERM/SIGHUP on, releases the lock when it exits and exits
with its status; if the lock is lost meanwhile the command gets SIGTERM and
the exit status is 1. Without a command it prints the token and holds the
lock until SIGINT/SIGTERM (exit 0) or until it is lost (exit 1).

Exit status: 0 ok; 1 lock failed, timed out, not held or lost; 2 usage;
3 cannot reach the daemon; otherwise the command's status (126 not
executable, 127 not found, 128+N killed by signal N).
"""

import json
import os
import signal
import subprocess
import sys
import threading

from . import (DmutexError, Lock, Session, Unreachable, default_path)

EX_OK, EX_FAIL, EX_USAGE, EX_UNREACHABLE = 0, 1, 2, 3
USAGE = """Usage: python3 -m dmutex [--control PATH] COMMAND
  lock NAME [--timeout SECONDS] [-- COMMAND ARGS...]
  unlock NAME
  status [--json] [NAME]   (with NAME: the quorum line is that lock's)
  members [--json]
  metrics         (Prometheus text format)
PATH defaults to $DMUTEX_CONTROL, else /run/dmutex/control.sock.
Exit status: 0 ok, 1 lock failed/timed out/not held/lost, 2 usage,
3 cannot reach the daemon, else the command's status.
"""


def err(msg):
    print("dmutex: " + msg, file=sys.stderr)


def usage(msg=None):
    if msg:
        err(msg)
    sys.stderr.write(USAGE)
    return EX_USAGE


def bad_name(name):
    return not name or any(c in name for c in " \t\r\n")


def simple(path, line, show):
    try:
        with Session(path) as s:
            _, data = s.command(line, timeout=60)
    except Unreachable as e:
        err(str(e.strerror or e))
        return EX_UNREACHABLE
    except DmutexError as e:
        err(str(e))
        return EX_FAIL
    if show:
        for l in data:
            print(l)
    return EX_OK


def wait_status(proc):
    rc = proc.wait()
    return 128 - rc if rc < 0 else rc


def cmd_lock(path, name, timeout, command):
    signals = []
    wake = threading.Event()

    def on_signal(sig, frame):
        signals.append(sig)
        wake.set()

    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, on_signal)
    lk = Lock(name, timeout=timeout, path=path, on_lost=lambda l, r: wake.set())
    # Acquire on a thread, so that SIGINT/SIGTERM give up at once (closing
    # the session abandons the acquisition).
    outcome = {}

    def take():
        try:
            outcome["token"] = lk.acquire()
        except BaseException as e:
            outcome["error"] = e
        wake.set()

    t = threading.Thread(target=take, daemon=True)
    t.start()
    while not outcome and not signals:
        wake.wait(0.2)
        wake.clear()
    if not outcome:
        err("interrupted while waiting for %s" % name)
        return EX_FAIL
    e = outcome.get("error")
    if isinstance(e, Unreachable):
        err(str(e.strerror or e))
        return EX_UNREACHABLE
    if isinstance(e, DmutexError):
        err("lock %s: %s" % (name, e))
        return EX_FAIL
    if e is not None:
        raise e
    token = outcome["token"]
    proc = None
    if command:
        env = dict(os.environ, DMUTEX_FENCING_TOKEN=str(token), DMUTEX_LOCK_NAME=name)
        try:
            proc = subprocess.Popen(command, env=env, restore_signals=True)
        except FileNotFoundError:
            err("cannot run %s: not found" % command[0])
            lk.release()
            return 127
        except OSError as e:
            err("cannot run %s: %s" % (command[0], e.strerror))
            lk.release()
            return 126
    else:
        print(token, flush=True)
    result = EX_OK
    while True:
        if lk.lost:
            err("lock %s LOST (%s)" % (name, lk.lost_reason) if lk.lost_reason != "UNLOCKED"
                else "lock %s was released by another client" % name)
            if proc:
                proc.terminate()
                proc.wait()
            lk.release()
            return EX_FAIL
        while signals:
            sig = signals.pop(0)
            if proc:
                proc.send_signal(sig)       # pass it on; we wait for the command
            else:
                result = None
        if result is None:
            result = EX_OK
            break
        if proc and proc.poll() is not None:
            result = wait_status(proc)
            break
        wake.wait(0.05)
        wake.clear()
    if not lk.release():
        err("lock %s LOST before the release" % name if lk.lost else "unlock %s failed" % name)
        return result if proc and not lk.lost else EX_FAIL
    return result


def main(argv=None):
    argv = list(sys.argv[1:] if argv is None else argv)
    path = default_path()
    while argv and argv[0].startswith("-"):
        a = argv.pop(0)
        if a == "--control":
            if not argv:
                return usage("--control needs a PATH")
            path = argv.pop(0)
        elif a.startswith("--control="):
            path = a[len("--control="):]
        elif a in ("--help", "-h"):
            sys.stdout.write(USAGE)
            return EX_OK
        else:
            return usage("unknown option %s" % a)
    if not argv:
        return usage("no command")
    cmd = argv.pop(0)
    if cmd in ("status", "members"):
        as_json = "--json" in argv
        rest = [a for a in argv if a != "--json"]
        if len(rest) > (1 if cmd == "status" else 0) or any(a.startswith("-") for a in rest):
            return usage("status takes --json and at most one NAME, members --json")
        if rest and bad_name(rest[0]):
            return usage("lock names may not contain whitespace")
        line = ("JSON " if as_json else "") + cmd.upper() + ("" if not rest else " " + rest[0])
        return simple(path, line, True)
    if cmd == "metrics":
        return usage("metrics takes no arguments") if argv else simple(path, "METRICS", True)
    if cmd == "unlock":
        if len(argv) != 1:
            return usage("unlock takes one NAME")
        if bad_name(argv[0]):
            return usage("lock names may not contain whitespace")
        return simple(path, "UNLOCK " + argv[0], False)
    if cmd == "lock":
        name, timeout, command = None, 30.0, None
        while argv:
            a = argv.pop(0)
            if a == "--":
                command = argv
                if not command:
                    return usage("nothing after --")
                break
            if a == "--timeout" or a.startswith("--timeout="):
                v = a[len("--timeout="):] if "=" in a else (argv.pop(0) if argv else None)
                try:
                    timeout = float(v)
                    if not 0 < timeout <= 86400:
                        raise ValueError
                except (TypeError, ValueError):
                    return usage("--timeout takes SECONDS (0 < s <= 86400)")
            elif a.startswith("-") or name is not None:
                return usage("unexpected %s" % a)
            else:
                name = a
        if name is None:
            return usage("lock needs a NAME")
        if bad_name(name):
            return usage("lock names may not contain whitespace")
        return cmd_lock(path, name, timeout, command)
    return usage("unknown command %s" % cmd)


if __name__ == "__main__":
    sys.exit(main())
