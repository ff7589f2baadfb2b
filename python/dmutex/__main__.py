"""python3 -m dmutex -- dmutexctl's commands in Python (standard library only).

  python3 -m dmutex [--control PATH] lock NAME [--try [--held-exit N]] [--timeout SECONDS] [--kill-after SECONDS]
                    [-- COMMAND ARGS...]
  python3 -m dmutex [--control PATH] unlock NAME
  python3 -m dmutex [--control PATH] status [--json] [NAME]
  python3 -m dmutex [--control PATH] members [--json]
  python3 -m dmutex [--control PATH] metrics

``lock`` has dmutexctl's semantics: with a command it runs it holding the
lock, with DMUTEX_FENCING_TOKEN and DMUTEX_LOCK_NAME in its environment,
passes SIGINT/SIGTERM/SIGHUP on, releases the lock when it exits and exits
with its status. It keeps the lease deadline on its own clock (dmutex.Lock);
if the lock is lost meanwhile (``! LOST``, the daemon gone, or the deadline
passed with no renewal) the command gets SIGTERM, then SIGKILL --kill-after
seconds later (default 1) if it has not ended, and the exit status is 1. Without a command it prints the token and holds the
lock until SIGINT/SIGTERM (exit 0) or until it is lost (exit 1). With
--try (TRYLOCK) it fails in about one round trip when another holder has
the lock: exit 1, or N with --held-exit N.

Exit status: 0 ok; 1 lock failed, timed out, not held or lost, or (--try) held; 2 usage;
3 cannot reach the daemon; otherwise the command's status (126 not
executable, 127 not found, 128+N killed by signal N).
"""

import json
import os
import signal
import subprocess
import sys
import threading

from . import (DmutexError, Lock, LockHeld, Session, Unreachable, default_path)

EX_OK, EX_FAIL, EX_USAGE, EX_UNREACHABLE = 0, 1, 2, 3
USAGE = """Usage: python3 -m dmutex [--control PATH] COMMAND
  lock NAME [--try [--held-exit N]] [--timeout SECONDS] [--kill-after SECONDS]
       [-- COMMAND ARGS...]
     (--kill-after: SIGKILL this long after the SIGTERM of a lost lock; default 1)
     (--try: fail at once, in about one round trip, when another holder has NAME;
      exit 1 then, or N (0..255) with --held-exit N)
  unlock NAME
  status [--json] [NAME]   (with NAME: the quorum line is that lock's)
  members [--json]
  members add|remove HOST:PORT   (epoch policy: change the configuration;
                                  prints the epoch it installed)
  metrics         (Prometheus text format)
PATH defaults to $DMUTEX_CONTROL, else /run/dmutex/control.sock.
Exit status: 0 ok, 1 lock failed/timed out/not held/lost/held (--try), 2 usage,
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


def stop_command(proc, name, kill_after):
    """SIGTERM, then SIGKILL after kill_after seconds unless it ended."""
    proc.terminate()
    try:
        proc.wait(timeout=kill_after)
    except subprocess.TimeoutExpired:
        err("lock %s: the command did not stop on SIGTERM: SIGKILL" % name)
        proc.kill()
        proc.wait()


def cmd_lock(path, name, timeout, kill_after, command, try_once=False, held_exit=EX_FAIL):
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
            outcome["token"] = lk.try_acquire() if try_once else lk.acquire()
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
    if isinstance(e, LockHeld):
        err("lock %s is held by another holder: not waiting (--try)" % name)
        return held_exit
    if isinstance(e, DmutexError):
        err("lock %s: %s" % (name, e))
        return EX_FAIL
    if e is not None:
        raise e
    token = outcome["token"]
    if command and lk.margin_ms and lk.margin_ms / 1000 <= kill_after:
        err("lock %s: warning: the daemon's lost_margin (%d ms) is not above --kill-after (%.3f s): a command "
            "that ignores SIGTERM may still run when another node is granted the lock"
            % (name, lk.margin_ms, kill_after))
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
            err({"UNLOCKED": "lock %s was released by another client" % name,
                 "DEADLINE": "lock %s LOST: its lease ran out by our clock with no renewal "
                             "(dmutexd paused, stuck or cut off?)" % name,
                 "DISCONNECTED": "lock %s LOST: dmutexd went away" % name}.get(
                lk.lost_reason, "lock %s LOST (another holder may have it now): %s" % (name, lk.lost_reason)))
            if proc:
                stop_command(proc, name, kill_after)
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
        if cmd == "members" and len(rest) == 2 and not as_json:
            if rest[0] not in ("add", "remove"):
                return usage("members takes add HOST:PORT or remove HOST:PORT")
            if bad_name(rest[1]):
                return usage("addresses may not contain whitespace")
            return simple(path, "MEMBERS %s %s" % (rest[0], rest[1]), True)
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
        name, timeout, kill_after, command = None, 30.0, 1.0, None
        try_once, held_exit = False, None
        while argv:
            a = argv.pop(0)
            if a == "--":
                command = argv
                if not command:
                    return usage("nothing after --")
                break
            opt = a.split("=", 1)[0]
            if a == "--try":
                try_once = True
            elif opt == "--held-exit":
                v = a.split("=", 1)[1] if "=" in a else (argv.pop(0) if argv else "")
                if not (v.isascii() and v.isdigit()) or int(v) > 255:
                    return usage("--held-exit wants an exit status N in 0..255")
                held_exit = int(v)
            elif opt in ("--timeout", "--kill-after"):
                v = a.split("=", 1)[1] if "=" in a else (argv.pop(0) if argv else None)
                zero_ok, top = (False, 86400) if opt == "--timeout" else (True, 3600)
                try:
                    x = float(v)
                    if not ((0 <= x if zero_ok else 0 < x) and x <= top):
                        raise ValueError
                except (TypeError, ValueError):
                    return usage("%s wants SECONDS in %s0, %d]" % (opt, "[" if zero_ok else "(", top))
                if opt == "--timeout":
                    timeout = x
                else:
                    kill_after = x
            elif a.startswith("-") or name is not None:
                return usage("unexpected %s" % a)
            else:
                name = a
        if name is None:
            return usage("lock needs a NAME")
        if bad_name(name):
            return usage("lock names may not contain whitespace")
        if held_exit is not None and not try_once:
            return usage("--held-exit goes with --try (a lock without it waits for the holder)")
        return cmd_lock(path, name, timeout, kill_after, command, try_once,
                        EX_FAIL if held_exit is None else held_exit)
    return usage("unknown command %s" % cmd)


if __name__ == "__main__":
    sys.exit(main())
