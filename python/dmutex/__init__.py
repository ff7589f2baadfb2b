"""dmutex -- a Python client of dmutexd's control protocol (standard library only).

The daemon's control socket (``dmutexd --control PATH``, net/README.md
"Control protocol") is a line protocol on a Unix stream socket; a lock
belongs to the connection (session) that took it and is released when the
connection closes. This package speaks it::

    import dmutex

    def lost(lock, reason):          # called on a background thread
        print("lost", lock.name, lock.token, reason)

    with dmutex.Lock("backup", timeout=5, on_lost=lost) as lk:
        write_with_fence(lk.token)   # pass the fencing token to the resource
        if lk.lost:                  # or check before each step
            ...

    try:                             # TRYLOCK: no waiting for a holder
        with dmutex.try_lock("backup", timeout=5) as lk:
            write_with_fence(lk.token)
    except dmutex.LockHeld:          # another holder has it
        pass

    dmutex.status()   # the daemon's STATUS as a dict (schema_version 1)
    dmutex.members()  # list of {"address", "id", "state", "incarnation", "self"}
    dmutex.metrics()  # Prometheus text

``python3 -m dmutex lock NAME [--timeout S] -- CMD`` behaves as ``dmutexctl
lock`` (same environment, signals and exit statuses); see ``__main__``.

A lease ends the lock even when nobody says so. The client keeps the lease
deadline the daemon gave (``deadline_us`` of ``OK``, an absolute
CLOCK_MONOTONIC time, moved on by every ``! RENEWED``) on its own clock, as
dmutexctl does: when the daemon reports ``! LOST`` (or ``! UNLOCKED``:
another session released it), goes away, or that deadline passes with no
renewal (the daemon paused, stuck or cut off), ``on_lost`` is called once
and ``lost`` becomes true. The fencing token is the only real defence
against a holder that was paused: pass it to the resource you protect.
"""

import json
import os
import socket
import threading
import time

__all__ = ["Lock", "Session", "DmutexError", "LockError", "LockTimeout", "LockHeld", "Unreachable",
           "try_lock", "status", "members", "metrics", "default_path"]

DEFAULT_CONTROL = "/run/dmutex/control.sock"
LINE_MAX = 1024          # the daemon's limit on a command line


def default_path():
    """$DMUTEX_CONTROL, else /run/dmutex/control.sock (as dmutexctl)."""
    return os.environ.get("DMUTEX_CONTROL") or DEFAULT_CONTROL


class DmutexError(Exception):
    """An ERR answer: .code is the daemon's code (e.g. "ETIMEDOUT")."""

    def __init__(self, code, message):
        super().__init__("%s %s" % (code, message) if message else code)
        self.code = code
        self.message = message


class LockError(DmutexError):
    """A lock could not be taken (no quorum, busy in this session, bad name...)."""


class LockTimeout(LockError, TimeoutError):
    """The lock was not granted within the timeout (ERR ETIMEDOUT)."""


class LockHeld(LockError):
    """A try (TRYLOCK) found another holder of the lock (ERR EHELD). It may
    be stale by the time it is raised (the holder just released)."""


# ERR codes with an exception of their own; other codes of a lock command
# raise LockError, of any other command DmutexError.
_ERRORS = {"ETIMEDOUT": LockTimeout, "EHELD": LockHeld}
_LOCK_COMMANDS = ("LOCK", "TRYLOCK")


class Unreachable(OSError):
    """The daemon's control socket cannot be reached, or it went away."""


def _monotonic_us():
    """CLOCK_MONOTONIC in µs: the daemon's clock for deadline_us (net/README.md)."""
    return time.clock_gettime_ns(time.CLOCK_MONOTONIC) // 1000


def _check_name(name):
    if not isinstance(name, str) or not name or any(c in name for c in " \t\r\n"):
        raise ValueError("a lock name is a non-empty string without whitespace: %r" % (name,))
    if len(name.encode("utf-8", "surrogateescape")) > 255:
        raise ValueError("a lock name has at most 255 bytes")


class Session:
    """One control connection. Commands are sent one at a time (the protocol
    answers them in order); a background thread reads every line, hands
    final lines (OK/ERR) and data lines to the waiting command and '!'
    notifications to ``on_notice(words)``."""

    def __init__(self, path=None, on_notice=None):
        self.path = path or default_path()
        self._on_notice = on_notice
        self._sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            self._sock.connect(self.path)
        except OSError as e:
            self._sock.close()
            raise Unreachable(e.errno, "cannot reach dmutexd at %s: %s" % (self.path, e.strerror)) from None
        self._cmd = threading.Lock()            # one command in flight
        self._cv = threading.Condition()
        self._data = []
        self._final = None
        self.closed = False                     # the daemon went away (or close())
        self._reader = threading.Thread(target=self._read, name="dmutex-reader", daemon=True)
        self._reader.start()

    def _read(self):
        buf = b""
        try:
            while True:
                chunk = self._sock.recv(65536)
                if not chunk:
                    break
                buf += chunk
                while b"\n" in buf:
                    raw, buf = buf.split(b"\n", 1)
                    self._line(raw.decode("utf-8", "surrogateescape").rstrip("\r"))
        except OSError:
            pass
        with self._cv:
            self.closed = True
            self._cv.notify_all()
        if self._on_notice:
            self._on_notice(None)               # None: the connection ended

    def _line(self, line):
        if line.startswith("!"):
            if self._on_notice:
                self._on_notice(line[1:].split())
            return
        with self._cv:
            if line == "OK" or line.startswith("OK ") or line.startswith("ERR"):
                self._final = line
                self._cv.notify_all()
            else:
                self._data.append(line)

    def command(self, line, timeout=None):
        """Send one command; return (rest of the OK line, data lines) or
        raise DmutexError on ERR, Unreachable when the daemon goes away."""
        if "\n" in line or len(line.encode("utf-8", "surrogateescape")) >= LINE_MAX:
            raise ValueError("a command is one line of less than %d bytes" % LINE_MAX)
        with self._cmd:
            with self._cv:
                self._data, self._final = [], None
            try:
                self._sock.sendall((line + "\n").encode("utf-8", "surrogateescape"))
            except OSError as e:
                raise Unreachable(e.errno, "lost the connection to dmutexd: %s" % e.strerror) from None
            with self._cv:
                if not self._cv.wait_for(lambda: self._final is not None or self.closed, timeout):
                    raise TimeoutError("no answer to %r" % line.split()[0])
                if self._final is None:
                    raise Unreachable(0, "dmutexd closed the connection")
                final, data = self._final, self._data
        if final.startswith("ERR"):
            words = final.split(" ", 2)
            code = words[1] if len(words) > 1 else "EPROTO"
            msg = words[2] if len(words) > 2 else ""
            verb = line.split(" ", 1)[0].upper()
            raise _ERRORS.get(code, LockError if verb in _LOCK_COMMANDS else DmutexError)(code, msg)
        return final[3:], data

    def close(self):
        try:
            self._sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self._sock.close()
        self._reader.join(timeout=5)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


class Lock:
    """A distributed lock held through its own control session.

    ``timeout`` (seconds) bounds the wait for the grant; ``on_lost(lock,
    reason)`` is called once, on the reader thread, when the lock is lost
    while held: reason is the daemon's code ("ELEASE", "ESHUTDOWN", ...),
    "UNLOCKED" (another session released it), "DISCONNECTED" (the daemon
    went away) or "DEADLINE" (the lease deadline passed by this process's
    clock with no renewal). After that ``lost`` is true and the lock must
    not be trusted. ``deadline`` is the lease's end in CLOCK_MONOTONIC
    seconds (``time.monotonic()`` on Linux), ``remaining()`` what is left.
    """

    def __init__(self, name, timeout=30.0, on_lost=None, path=None):
        _check_name(name)
        if not timeout or timeout <= 0:
            raise ValueError("timeout must be positive")
        self.name = name
        self.timeout = float(timeout)
        self.on_lost = on_lost
        self.path = path
        self.token = None
        self.lease_ms = None
        self.lost_reason = None
        self.margin_ms = None
        self._deadline_us = None
        self._clock = threading.Condition()
        self._lost = threading.Event()
        self._held = False
        self._session = None
        self._taken_for_with = False

    @property
    def lost(self):
        return self._lost.is_set()

    @property
    def held(self):
        return self._held and not self.lost and self.remaining() > 0

    @property
    def deadline(self):
        """The lease's end (CLOCK_MONOTONIC seconds), or None when not held."""
        d = self._deadline_us
        return None if d is None else d / 1e6

    def remaining(self):
        """Seconds of lease left by this process's clock (0 when not held)."""
        d = self._deadline_us
        return 0.0 if d is None or not self._held else max(0.0, (d - _monotonic_us()) / 1e6)

    @staticmethod
    def _parse_deadline(lease_ms, deadline_us):
        # deadline_us is absolute (right however late the line was read);
        # a daemon without it gave lease_ms only, relative to now.
        if deadline_us is not None:
            return int(deadline_us)
        return _monotonic_us() + int(lease_ms) * 1000

    def _watch(self):
        """The lease clock: ends the lock when the last deadline heard passes."""
        with self._clock:
            while self._held and not self._lost.is_set():
                left = (self._deadline_us - _monotonic_us()) / 1e6
                if left <= 0:
                    break
                self._clock.wait(left)
            else:
                return
        self._mark_lost("DEADLINE")

    def wait_lost(self, timeout=None):
        """Block until the lock is lost (True) or timeout passes (False)."""
        return self._lost.wait(timeout)

    def _notice(self, words):
        if words is None:
            self._mark_lost("DISCONNECTED")
            return
        if not self._held or len(words) < 3 or words[1] != self.name or words[2] != str(self.token):
            return        # about another lock, or an earlier grant of the name
        if words[0] == "LOST":
            self._mark_lost(words[3] if len(words) > 3 else "LOST")
        elif words[0] == "UNLOCKED":
            self._mark_lost("UNLOCKED")
        elif words[0] == "RENEWED" and len(words) >= 4:
            try:
                d = self._parse_deadline(words[3], words[4] if len(words) > 4 else None)
            except ValueError:
                return
            with self._clock:
                self._deadline_us = d
                self._clock.notify_all()

    def _mark_lost(self, reason):
        # The reader thread and the lease clock may both get here: once only.
        with self._clock:
            if not self._held or self._lost.is_set():
                return
            self.lost_reason = reason
            self._lost.set()
            self._clock.notify_all()
        if self.on_lost:
            self.on_lost(self, reason)

    def acquire(self):
        """Take the lock; return the fencing token. Raises LockTimeout,
        LockError (e.g. EBUSY, ENOQUORUM) or Unreachable."""
        return self._take("LOCK")

    def try_acquire(self):
        """Take the lock unless another holder has it (TRYLOCK): as
        acquire(), but raises LockHeld after about one round trip when a
        holder on any node has it, or another session of this daemon holds
        or acquires it. Contention between nodes (others acquiring, nobody
        holding) is resolved as for acquire(), within the timeout."""
        return self._take("TRYLOCK")

    def _take(self, verb):
        if self._session:
            raise LockError("EBUSY", "this Lock object is already held")
        self._lost.clear()
        self.lost_reason = None
        self._session = Session(self.path, self._notice)
        ms = max(1, int(self.timeout * 1000 + 0.5))
        try:
            rest, _ = self._session.command("%s %s %d" % (verb, self.name, ms))
            words = rest.split()     # token lease_ms [deadline_us margin_ms]
            self.token = int(words[0])
            self.lease_ms = int(words[1])
            self.margin_ms = int(words[3]) if len(words) > 3 else None
            with self._clock:
                self._deadline_us = self._parse_deadline(words[1], words[2] if len(words) > 2 else None)
        except BaseException:
            self._session.close()
            self._session = None
            raise
        self._held = True
        threading.Thread(target=self._watch, name="dmutex-lease", daemon=True).start()
        return self.token

    def release(self):
        """Release the lock (closing the session releases it too). Returns
        False when it was lost before the release."""
        if not self._session:
            return False
        ok = not self.lost
        try:
            if ok:
                self._session.command("UNLOCK %s" % self.name, timeout=30)
        except (DmutexError, Unreachable, TimeoutError):
            ok = False
        finally:
            was_lost = self.lost
            with self._clock:
                self._held = False
                self._clock.notify_all()
            self._session.close()
            self._session = None
            self._taken_for_with = False
        return ok and not was_lost

    def __enter__(self):
        if self._taken_for_with:     # try_lock() took it for this with
            self._taken_for_with = False
        else:
            self.acquire()
        return self

    def __exit__(self, *exc):
        self.release()
        return False


def try_lock(name, timeout=30.0, on_lost=None, path=None):
    """A Lock taken with TRYLOCK (Lock.try_acquire), or LockHeld when
    another holder has it; use it in a ``with`` or release() it."""
    lk = Lock(name, timeout=timeout, on_lost=on_lost, path=path)
    lk.try_acquire()
    lk._taken_for_with = True
    return lk


def _query(line, path=None):
    with Session(path) as s:
        return s.command(line, timeout=30)[1]


def status(name=None, path=None):
    """The daemon's STATUS as a dict (net/README.md "STATUS JSON", schema_version 1)."""
    if name is not None:
        _check_name(name)
    return json.loads("\n".join(_query("JSON STATUS" + (" " + name if name else ""), path)))


def members(path=None):
    """The members as the daemon sees them: a list of dicts."""
    return json.loads("\n".join(_query("JSON MEMBERS", path)))["members"]


def metrics(path=None):
    """The daemon's metrics in the Prometheus text format."""
    return "".join(l + "\n" for l in _query("METRICS", path))
