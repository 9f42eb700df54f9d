"""Time limits, signals and temporary files of downloads into the cache.

Three limits keep a misbehaving server from holding a download forever
(`zoo.hub.download(..., timeout=, min_rate=, deadline=)`, `zoo download
--timeout --min-rate --deadline`):

- `timeout` (default 30 s): the server must accept the connection and send
  its whole response head (status line and headers) within `timeout` seconds
  of the request, and the body may never go silent for `timeout` seconds;
- `min_rate` (default 4096 bytes/s): in every `timeout`-second window of the
  body at least `min_rate * timeout` bytes must arrive, so a server that drips
  a byte a second fails within about two windows; `0` turns this off. At the
  default a 16 MB file may take up to about 70 minutes: slow links pass,
  stalled ones fail within a minute;
- `deadline` (default none): the whole call, every file included, must end
  within `deadline` seconds whatever the rate (a script's hard limit).

These apply to `http(s)://` and `file://` sources; `hf://` files are fetched
by `huggingface_hub` under its own timeouts. A blocked read is cut by a
watchdog thread that shuts the connection's socket when a limit passes, so even
a server that drips its headers is bounded.

While a download runs in the main thread and SIGTERM, SIGHUP or SIGINT has
its default action, that signal raises `Terminated` instead: the usual
clean-up removes the temporary file, then the signal is delivered again with
its default action (so the exit status still says "killed by SIGTERM"). A
process killed outright (SIGKILL, power loss) leaves its `.NAME.part-*` file;
the next download of that file removes it (`clean_stale_parts`). A writer
holds an exclusive `flock` on its temporary for the whole transfer and a
temporary is removed only when that lock can be taken, so a download running
in another process is never disturbed. (Without `fcntl`, as on Windows, a
file that is open cannot be removed, which gives the same guarantee.)
"""

import contextlib
import hashlib
import http.client
import math
import os
import signal
import socket
import tempfile
import threading
import time

from zoo.errors import ZooError

try:
    import fcntl
except ImportError:  # Windows: an open file cannot be removed, which is the lock.
    fcntl = None

DEFAULT_TIMEOUT = 30.0
DEFAULT_MIN_RATE = 4096.0
MAX_TIMEOUT = 86400.0
MAX_DEADLINE = 7 * 86400.0
MAX_MIN_RATE = 1e12
PART_MARK = ".part-"
CHUNK_SIZE = 1 << 16
TERMINATING_SIGNALS = ("SIGTERM", "SIGHUP", "SIGINT")


class Limits:
    """The checked time limits of one `download` call; the deadline clock starts here.

    Attributes:
        timeout: seconds for the connection and response head, and the
            longest silence in a body.
        min_rate: bytes/s a body must average over each `timeout` window (`0`: off).
        deadline: seconds for the whole call, or `None`.
    """

    def __init__(self, timeout, min_rate, deadline):
        self.timeout, self.min_rate, self.deadline = timeout, min_rate, deadline
        self.ends = None if deadline is None else time.monotonic() + deadline

    def remaining(self):
        """Seconds left before the deadline, or `None` without one."""
        return None if self.ends is None else self.ends - time.monotonic()

    def expired(self):
        return self.ends is not None and time.monotonic() >= self.ends


def check_limits(timeout=DEFAULT_TIMEOUT, min_rate=DEFAULT_MIN_RATE, deadline=None, flags=False):
    """Returns `Limits` after checking each number's type and range.

    Args:
        timeout: seconds, `0 < timeout <= 86400`.
        min_rate: bytes/s, `0 <= min_rate <= 1e12` (`0`: no minimum).
        deadline: seconds, `0 < deadline <= 604800`, or `None`.
        flags: the values are the command line's: strings are parsed, and
            errors name `--timeout`, `--min-rate`, `--deadline` instead of
            `timeout=` ...

    Raises:
        TypeError: for a value that is not a number.
        ZooError: for a number out of range, `nan` or infinite.
    """
    names = ("--timeout", "--min-rate", "--deadline") if flags else ("timeout", "min_rate", "deadline")
    timeout = _number(timeout, names[0], 0.0, MAX_TIMEOUT, "a number of seconds", open_low=True)
    min_rate = _number(min_rate, names[1], 0.0, MAX_MIN_RATE, "a number of bytes per second")
    if deadline is not None:
        deadline = _number(deadline, names[2], 0.0, MAX_DEADLINE, "a number of seconds", open_low=True)
    return Limits(timeout, min_rate, deadline)


def _number(value, name, low, high, what, open_low=False):
    from zoo.hub.layout import clip, clip_repr

    flag = name.startswith("--")
    received = f"{name} {clip(str(value))}" if flag else f"{name}={clip_repr(value)}"
    if flag and isinstance(value, str):  # the command line's text, echoed as typed
        try:
            value = float(value)
        except ValueError:
            raise ZooError(f"{name} must be {what}. Received: {received}.") from None
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise TypeError(f"{name} must be {what}. Received: {name} of type {type(value).__name__}.")
    bound = f"> {low:g}" if open_low else f">= {low:g}"
    if not math.isfinite(value) or value < low or (open_low and value == low) or value > high:
        raise ZooError(f"{name} must be {what} {bound} and <= {high:g}. Received: {received}.")
    return float(value)


class Watchdog:
    """Shuts the sockets of a transfer when a time limit passes, so that a blocked read returns.

    `register` is called by the connection as soon as it is connected; `arm`
    (re)starts the one timer; `fired` is the reason of the limit that cut the
    connection (`"head"` or `"deadline"`), else `None`.
    """

    def __init__(self):
        self._lock = threading.Lock()
        self._sockets = []
        self._timer = None
        self._generation = 0
        self.fired = None
        self.connected = False

    def register(self, sock):
        with self._lock:
            self._sockets.append(sock)
            self.connected = True
            fired = self.fired
        if fired is not None:
            _shut(sock)

    def arm(self, seconds, reason):
        """Cuts the connection in `seconds` (now if <= 0) unless re-armed or disarmed first; `None`: disarm."""
        self.disarm()
        if seconds is None:
            return
        with self._lock:
            self._generation += 1
            generation = self._generation
            self._timer = threading.Timer(max(0.0, seconds), self._fire, args=(reason, generation))
            self._timer.daemon = True
            self._timer.start()

    def disarm(self):
        with self._lock:
            timer, self._timer = self._timer, None
            self._generation += 1
        if timer is not None:
            timer.cancel()

    def _fire(self, reason, generation):
        with self._lock:
            if generation != self._generation or self.fired is not None:
                return
            self.fired = reason
            sockets = list(self._sockets)
        for sock in sockets:
            _shut(sock)


def _shut(sock):
    try:
        sock.shutdown(socket.SHUT_RDWR)
    except (OSError, ValueError):
        pass


def copy_body(stream, out, size, limits, watchdog, what, url, bar=None):
    """Copies a response body to `out` under the limits; returns `(bytes received, sha256 hex)`.

    Reads at most `size + 1` bytes (so a longer file is noticed) with single
    reads of the underlying stream, so the count in every message is exact.

    Raises:
        ZooError: one line for the deadline, a stall, a too slow body or a
            connection that failed; it names the bytes received of `size`.
    """
    read = getattr(stream, "read1", None) or stream.read
    digest = hashlib.sha256()
    received = 0
    window_start, window_received = time.monotonic(), 0
    while received <= size:
        if limits.expired():
            raise _deadline_error(limits, what, url, received, size)
        try:
            chunk = read(min(CHUNK_SIZE, size + 1 - received))
        except Exception as error:  # IncompleteRead, ConnectionResetError, timeouts
            partial = getattr(error, "partial", b"")
            received += len(partial) if isinstance(partial, bytes) else 0
            if watchdog is not None and watchdog.fired == "deadline" or limits.expired():
                raise _deadline_error(limits, what, url, received, size) from None
            if isinstance(error, (socket.timeout, TimeoutError)):
                raise ZooError(
                    f"Download of {what} from {url} stalled: no data for {limits.timeout:g} s after {received} "
                    f"of {size} bytes. Nothing was cached; try again, or raise --timeout (timeout=) for a slow server."
                ) from None
            raise ended_early(what, url, received, size, describe_failure(error)) from None
        if not chunk:
            if watchdog is not None and watchdog.fired == "deadline":
                raise _deadline_error(limits, what, url, received, size)
            break
        out.write(chunk)
        digest.update(chunk)
        received += len(chunk)
        if bar is not None:
            bar.update(len(chunk))
        now = time.monotonic()
        if limits.min_rate and now - window_start >= limits.timeout:
            arrived = received - window_received
            if arrived < limits.min_rate * (now - window_start):
                raise ZooError(
                    f"Download of {what} from {url} was too slow: {arrived} bytes in the last "
                    f"{now - window_start:.1f} s, below the minimum of {limits.min_rate:g} bytes/s, after "
                    f"{received} of {size} bytes. Nothing was cached; try again, or lower --min-rate "
                    "(min_rate=) for a slow link."
                )
            window_start, window_received = now, received
    return received, digest.hexdigest()


def ended_early(what, url, received, size, reason="connection closed early"):
    """The error for a body that ended before `size` bytes."""
    return ZooError(
        f"Download of {what} from {url}: the transfer ended after {received} of {size} bytes ({reason}). "
        "Nothing was cached; try again."
    )


def _deadline_error(limits, what, url, received, size):
    return ZooError(
        f"Download of {what} from {url} did not finish within the deadline of {limits.deadline:g} s "
        f"({received} of {size} bytes received). Nothing was cached; raise --deadline (deadline=) or use a "
        "faster source."
    )


def describe_failure(error):
    """A short reason for an exception raised while reading a transfer."""
    if isinstance(error, (socket.timeout, TimeoutError)):
        return "timed out"
    if isinstance(error, http.client.IncompleteRead):
        return "connection closed early"
    if isinstance(error, ConnectionResetError):
        return "connection reset by the server"
    text = str(error).strip().splitlines()[0] if str(error).strip() else ""
    return f"{type(error).__name__}: {text}"[:160] if text else type(error).__name__


# ------------------------------------------------------------------ signals


class Terminated(BaseException):
    """Raised in the main thread by a terminating signal while a download runs."""

    def __init__(self, signum):
        super().__init__(f"terminated by signal {signum}")
        self.signum = signum


def _raise_terminated(signum, frame):
    raise Terminated(signum)


@contextlib.contextmanager
def terminate_cleanly():
    """Turns SIGTERM/SIGHUP/SIGINT (where they have their default action) into `Terminated` for the block.

    On `Terminated` the handlers are restored and the signal is sent again,
    so the process ends the way the signal asks once the block's clean-up has
    run. Signal handlers someone else installed are left alone, as is every
    thread but the main one.
    """
    installed = {}
    if threading.current_thread() is threading.main_thread():
        for name in TERMINATING_SIGNALS:
            signum = getattr(signal, name, None)
            if signum is None:
                continue
            try:
                if signal.getsignal(signum) == signal.SIG_DFL:
                    installed[signum] = signal.signal(signum, _raise_terminated)
            except (OSError, ValueError):
                pass
    try:
        yield
    except Terminated as error:
        _restore(installed)
        os.kill(os.getpid(), error.signum)
        raise SystemExit(128 + error.signum) from None  # only when the signal did not end the process
    finally:
        _restore(installed)


def _restore(installed):
    while installed:
        signum, previous = installed.popitem()
        try:
            signal.signal(signum, previous)
        except (OSError, ValueError):
            pass


# ------------------------------------------------------- temporary files


def create_part(path):
    """Creates the temporary sibling `.NAME.part-XXXX` of `path`, locked for this process; returns `(fd, path)`."""
    folder, base = os.path.split(path)
    for _ in range(8):
        handle, temporary = tempfile.mkstemp(dir=folder, prefix=f".{base}{PART_MARK}")
        if fcntl is None:
            return handle, temporary
        fcntl.flock(handle, fcntl.LOCK_EX)  # a cleaner holds it only for an instant
        if os.fstat(handle).st_nlink:
            return handle, temporary
        os.close(handle)  # a cleaner took it for a stale one before the lock: use another name
    raise OSError(f"could not create a temporary file for {path}")


def renames_while_open():
    """Whether a finished temporary is renamed before it is closed (so its lock covers the rename)."""
    return fcntl is not None


def clean_stale_parts(path):
    """Removes the `.NAME.part-*` temporaries of `path` that no running download holds.

    Only regular files whose names start with `.NAME.part-` in `path`'s folder
    are considered; a locked one (a download in progress in any process) is
    left alone.

    Returns:
        The sorted names removed.
    """
    folder, base = os.path.split(path)
    prefix = f".{base}{PART_MARK}"
    try:
        entries = [entry for entry in os.scandir(folder) if entry.name.startswith(prefix)]
    except OSError:
        return []
    removed = []
    for entry in entries:
        try:
            if not entry.is_file(follow_symlinks=False):
                continue  # not a temporary this module made
        except OSError:
            continue
        if _remove_if_unheld(entry.path):
            removed.append(entry.name)
    return sorted(removed)


def _remove_if_unheld(path):
    if fcntl is None:
        try:
            os.remove(path)  # fails while the writer has it open
            return True
        except OSError:
            return False
    try:
        handle = os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0))
    except OSError:
        return False
    try:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            return False  # a live download holds it
        try:
            now, held = os.stat(path, follow_symlinks=False), os.fstat(handle)
        except OSError:
            return False
        if (now.st_ino, now.st_dev) != (held.st_ino, held.st_dev):
            return False  # the name was reused meanwhile
        try:
            os.remove(path)
        except OSError:
            return False
        return True
    finally:
        os.close(handle)
