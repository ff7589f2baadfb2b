"""Tests of the Python client against a live loopback cluster.

Started by tests/net-python.sh, which runs three dmutexd and passes their
control sockets in DMUTEX_TEST_SOCKETS (space-separated) and their pids in
DMUTEX_TEST_PIDS; skipped without them. Every wait is bounded.
"""
import json
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
import unittest

import dmutex

SOCKS = os.environ.get("DMUTEX_TEST_SOCKETS", "").split()
PIDS = [int(p) for p in os.environ.get("DMUTEX_TEST_PIDS", "").split()]
PYDIR = os.path.dirname(os.path.dirname(os.path.abspath(dmutex.__file__)))


def cli(*args, timeout=30):
    env = dict(os.environ, PYTHONPATH=PYDIR)
    return subprocess.run([sys.executable, "-m", "dmutex", "--control", SOCKS[0]] + list(args),
                          capture_output=True, text=True, env=env, timeout=timeout)


@unittest.skipUnless(len(SOCKS) == 3, "needs DMUTEX_TEST_SOCKETS (tests/net-python.sh)")
class TestLock(unittest.TestCase):
    def test_token_and_mutual_exclusion(self):
        with dmutex.Lock("py-a", timeout=5, path=SOCKS[0]) as a:
            self.assertIsInstance(a.token, int)
            self.assertGreater(a.token, 0)
            self.assertTrue(a.held)
            with self.assertRaises(dmutex.LockTimeout):
                with dmutex.Lock("py-a", timeout=0.3, path=SOCKS[1]):
                    self.fail("granted while held elsewhere")
            first = a.token
        with dmutex.Lock("py-a", timeout=5, path=SOCKS[1]) as b:
            self.assertGreater(b.token, first)
        self.assertFalse(b.held)

    def test_try_lock(self):
        # A holder elsewhere and one in another session of the same
        # daemon: LockHeld, without waiting the (generous) timeout out.
        with dmutex.Lock("py-try", timeout=5, path=SOCKS[0]) as a:
            for path in (SOCKS[1], SOCKS[0]):
                t0 = time.monotonic()
                with self.assertRaises(dmutex.LockHeld) as cm:
                    dmutex.try_lock("py-try", timeout=10, path=path)
                elapsed = time.monotonic() - t0
                self.assertLess(elapsed, 5, "a try waited %.1f s of its 10 s timeout" % elapsed)
                self.assertEqual(cm.exception.code, "EHELD")
                self.assertIsInstance(cm.exception, dmutex.LockError)
                self.assertNotIsInstance(cm.exception, dmutex.LockTimeout)
            first = a.token
        with dmutex.try_lock("py-try", timeout=10, path=SOCKS[1]) as b:
            self.assertGreater(b.token, first)
            self.assertTrue(b.held)
        self.assertFalse(b.held)
        lk = dmutex.Lock("py-try", timeout=10, path=SOCKS[2])
        self.assertGreater(lk.try_acquire(), b.token)
        self.assertTrue(lk.release())
        with dmutex.Session(SOCKS[0]) as s:
            for bad in ("TRYLOCK py-try", "TRYLOCK py-try 0", "TRYLOCK py-try soon"):
                with self.assertRaises(dmutex.LockError) as cm:
                    s.command(bad)
                self.assertEqual(cm.exception.code, "EPROTO", bad)

    def test_lost_callback_when_released_by_another_session(self):
        seen = []
        got = threading.Event()

        def on_lost(lk, reason):
            seen.append((lk.name, lk.token, reason))
            got.set()

        lk = dmutex.Lock("py-b", timeout=5, on_lost=on_lost, path=SOCKS[0])
        with lk:
            with dmutex.Session(SOCKS[0]) as admin:
                admin.command("UNLOCK py-b")
            self.assertTrue(got.wait(5), "on_lost not called")
            self.assertTrue(lk.lost)
        self.assertEqual(seen, [("py-b", lk.token, "UNLOCKED")])

    def test_lost_callback_when_the_lease_runs_out(self):
        # Stop the two other members: no quorum renews the lease (1 s), so
        # the daemon reports the lock LOST; then let them go on.
        got = threading.Event()
        reasons = []
        lk = dmutex.Lock("py-c", timeout=5, path=SOCKS[0], on_lost=lambda l, r: (reasons.append(r), got.set()))
        lk.acquire()
        try:
            for p in PIDS[1:]:
                os.kill(p, signal.SIGSTOP)
            try:
                self.assertTrue(got.wait(8), "no LOST within 8 s of losing the quorum")
            finally:
                for p in PIDS[1:]:
                    os.kill(p, signal.SIGCONT)
            self.assertTrue(lk.lost)
            self.assertFalse(lk.held)
            # The daemon's LOST and the client's clock end it at the same
            # moment (deadline_us is when the daemon reports LOST): either.
            self.assertTrue(len(reasons) == 1 and (reasons[0] == "DEADLINE" or reasons[0].startswith("E")), reasons)
        finally:
            self.assertFalse(lk.release(), "release after a loss must say so")

    def test_renewals_move_the_deadline(self):
        # Lease 1 s (tests/net-lib.sh): held for 2.5 s, renewals keep it.
        with dmutex.Lock("py-renew", timeout=5, path=SOCKS[0]) as lk:
            first = lk.deadline
            self.assertIsNotNone(first)
            self.assertGreater(lk.remaining(), 0)
            self.assertLessEqual(lk.remaining(), 1.0)
            self.assertFalse(lk.wait_lost(2.5), "lost (%s) although the daemon renews" % lk.lost_reason)
            self.assertGreater(lk.deadline, first + 1.0)
            self.assertTrue(lk.held)

    def test_own_clock_ends_the_lease_when_the_daemon_is_paused(self):
        # SIGSTOP the holder's own daemon: no LOST can come from it, the
        # client's lease clock must end the lock by the deadline it heard.
        got = threading.Event()
        reasons = []
        lk = dmutex.Lock("py-pause", timeout=5, path=SOCKS[0], on_lost=lambda l, r: (reasons.append(r), got.set()))
        lk.acquire()
        deadline = None
        try:
            os.kill(PIDS[0], signal.SIGSTOP)
            try:
                deadline = lk.deadline
                self.assertTrue(got.wait(5), "the lease clock did not end the lock")
                ended = time.monotonic()
            finally:
                os.kill(PIDS[0], signal.SIGCONT)
            self.assertEqual(reasons, ["DEADLINE"])
            self.assertGreaterEqual(ended, lk.deadline)
            self.assertLess(ended - lk.deadline, 0.5, "ended %.3f s after the deadline" % (ended - lk.deadline))
            self.assertGreaterEqual(lk.deadline, deadline)
        finally:
            lk.release()

    def test_errors(self):
        with self.assertRaises(ValueError):
            dmutex.Lock("has space")
        with self.assertRaises(dmutex.Unreachable):
            dmutex.Lock("x", path="/nonexistent/dmutex.sock").acquire()
        with dmutex.Session(SOCKS[0]) as s:
            with self.assertRaises(dmutex.DmutexError) as cm:
                s.command("FROB")
            self.assertEqual(cm.exception.code, "EPROTO")


@unittest.skipUnless(len(SOCKS) == 3, "needs DMUTEX_TEST_SOCKETS (tests/net-python.sh)")
class TestQueries(unittest.TestCase):
    def test_status_members_metrics(self):
        st = dmutex.status(path=SOCKS[0])
        self.assertEqual(st["schema_version"], 1)
        self.assertTrue(st["recovery"]["ready"])
        self.assertEqual(dmutex.status("py-q", path=SOCKS[0])["quorum"]["name"], "py-q")
        ms = dmutex.members(path=SOCKS[0])
        self.assertEqual(len(ms), 3)
        self.assertEqual(sum(m["self"] for m in ms), 1)
        self.assertIn("# TYPE dmutex_grants_total counter", dmutex.metrics(path=SOCKS[0]))


MARKS = tempfile.TemporaryDirectory(prefix="dmutex-py-")   # removed at exit


def hold_with_command(name, **popen):
    """python3 -m dmutex lock NAME -- sleep 20, returned once the command runs.

    Waiting for the daemon to report NAME held is not enough: the CLI may not
    have read its OK yet, and a signal in that gap interrupts the wait (exit 1)
    instead of reaching the command. The command marks a file when it starts."""
    env = dict(os.environ, PYTHONPATH=PYDIR)
    mark = os.path.join(MARKS.name, name)
    p = subprocess.Popen([sys.executable, "-m", "dmutex", "--control", SOCKS[0], "lock", name, "--",
                          "sh", "-c", 'touch "$0" && exec sleep 20', mark], env=env, **popen)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and not os.path.exists(mark):
        time.sleep(0.02)
    return p


@unittest.skipUnless(len(SOCKS) == 3, "needs DMUTEX_TEST_SOCKETS (tests/net-python.sh)")
class TestCli(unittest.TestCase):
    """python3 -m dmutex: dmutexctl's semantics and exit statuses."""

    def test_command_gets_token_and_its_status_is_ours(self):
        r = cli("lock", "py-cli", "--timeout", "5", "--", "sh", "-c",
                'echo "$DMUTEX_LOCK_NAME $DMUTEX_FENCING_TOKEN"; exit 7')
        self.assertEqual(r.returncode, 7, r.stderr)
        name, token = r.stdout.split()
        self.assertEqual(name, "py-cli")
        self.assertGreater(int(token), 0)

    def test_exit_statuses(self):
        self.assertEqual(cli("lock", "py-cli2", "--", "/nonexistent/cmd").returncode, 127)
        self.assertEqual(cli("lock", "x", "--kill-after", "-1", "--", "true").returncode, 2)
        self.assertEqual(cli("members", "frob", "x").returncode, 2)
        self.assertEqual(cli("lock").returncode, 2)
        self.assertEqual(cli("lock", "x", "--timeout", "-1").returncode, 2)
        self.assertEqual(cli("frob").returncode, 2)
        self.assertEqual(cli("unlock", "py-never").returncode, 1)
        env = dict(os.environ, PYTHONPATH=PYDIR)
        r = subprocess.run([sys.executable, "-m", "dmutex", "--control", "/nonexistent.sock", "status"],
                           capture_output=True, env=env, timeout=30)
        self.assertEqual(r.returncode, 3)
        with dmutex.Lock("py-held", timeout=5, path=SOCKS[1]):
            r = cli("lock", "py-held", "--timeout", "0.3", "--", "true")
            self.assertEqual(r.returncode, 1)
            self.assertIn("ETIMEDOUT", r.stderr)
            r = cli("lock", "py-held", "--try", "--timeout", "10", "--", "true")
            self.assertEqual(r.returncode, 1, r.stderr)
            self.assertIn("held by another holder", r.stderr)
            self.assertEqual(cli("lock", "py-held", "--try", "--held-exit", "75", "--", "true").returncode, 75)
        self.assertEqual(cli("lock", "py-held", "--try", "--held-exit=75", "--", "true").returncode, 0)
        self.assertEqual(cli("lock", "x", "--held-exit", "75", "--", "true").returncode, 2)
        self.assertEqual(cli("lock", "x", "--try", "--held-exit", "256", "--", "true").returncode, 2)

    def test_status_json_parses(self):
        r = cli("status", "--json")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(json.loads(r.stdout)["schema_version"], 1)
        r = cli("members", "--json")
        self.assertEqual(len(json.loads(r.stdout)["members"]), 3)

    def test_lost_while_the_command_runs(self):
        p = hold_with_command("py-lose", stderr=subprocess.PIPE, text=True)
        try:
            with dmutex.Session(SOCKS[0]) as admin:
                admin.command("UNLOCK py-lose")
            self.assertEqual(p.wait(timeout=10), 1)
            self.assertIn("released by another client", p.communicate(timeout=10)[1])
        finally:
            if p.poll() is None:
                p.kill()
                p.wait()
            p.stderr.close()

    def test_signal_is_passed_to_the_command(self):
        p = hold_with_command("py-sig")
        try:
            p.send_signal(signal.SIGTERM)
            self.assertEqual(p.wait(timeout=10), 128 + signal.SIGTERM)
        finally:
            if p.poll() is None:
                p.kill()
                p.wait()
        self.assertFalse(any(h["name"] == "py-sig" for h in dmutex.status(path=SOCKS[0])["held"]))


if __name__ == "__main__":
    unittest.main()
