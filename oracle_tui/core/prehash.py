"""A head start on `check`'s re-hash: the sealed files are hashed by a helper process while
the command is still importing its modules.

`check ROOT` spends its first few hundred milliseconds in one Python thread (the interpreter,
the imports, the gates, the footers) before it reaches the re-hash, and on a machine of two
cores the other one idles meanwhile. `start` is called by the entry point before anything
heavy is imported: when the command is a full check of a local folder that has a content
index, it forks a helper that hashes the files that index names, from the page cache through
a read-only map (no copy), while the command starts. The helper is a separate process so
that a file cut short under its map (SIGBUS) ends the helper and not the command, and so
that its hashing never waits for the command's interpreter lock.

What the helper found is only a claim about one file as it was: its digest with the file's
identity (device, inode, size, modification and change time in ns) taken before and after
the read. `hash_object` uses a digest only for a file it has opened itself, by the store's
own rules, whose identity is still the same; anything else (no answer, another identity, a
helper that died or was never started) is hashed again in the command. A rewrite changes the
change time, so a file changed after the helper read it is read again.

The helper reads only below the root: every name is opened one folder at a time, relative
to the folder before it, and never through a link (O_NOFOLLOW), so neither a link nor '..'
leads out. Only the standard library is imported here: the entry point pays nothing for it.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import mmap
import os
import signal
import stat
import threading
from collections.abc import Sequence

CONTENT_INDEX = "_oracle_content_index.json"  # pack_files.CONTENT_INDEX (not imported: heavy)
MAX_INDEX_BYTES = 64 * 1024 * 1024  # jsonio.MAX_JSON_BYTES
WINDOW = 64 * 1024 * 1024  # bytes mapped (and hashed in one call) at a time, per thread
MIN_SIZE = 1024 * 1024  # smaller files cost more to hand over than to hash in the command
WAIT_STEP = 0.05  # seconds between looks at the cancel event while an answer is awaited
READER_GRACE = 5.0  # seconds the reader may take to see the pipe of an ended helper close

# check's flags that keep the default (a full re-hash of a local pack), and those that take
# a value; any other flag (--quick, --output-id, --help...) means no head start.
_PLAIN_FLAGS = frozenset({"--json", "--verify-digests", "--strict-seal"})
_VALUE_FLAGS = frozenset({"--profile", "--profiles-dir", "--interface-pack", "--scenario-id",
                          "--threads"})

Identity = tuple[int, int, int, int, int]


def identity(st: os.stat_result) -> Identity:
    return (st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns)


def plan(argv: Sequence[str]) -> tuple[str, int] | None:
    """(root, threads) when ``argv`` is a full check of one local folder, else None."""
    if not argv or argv[0] != "check":
        return None
    roots: list[str] = []
    threads = 2
    args = list(argv[1:])
    while args:
        arg = args.pop(0)
        if arg == "--":
            roots.extend(args)
            break
        name, eq, value = arg.partition("=")
        if name in _VALUE_FLAGS:
            if not eq:
                if not args:
                    return None
                value = args.pop(0)
            if name == "--threads":
                if not value.isdigit() or not 1 <= int(value) <= 64:
                    return None
                threads = int(value)
        elif arg in _PLAIN_FLAGS:
            continue
        elif arg.startswith("-"):
            return None
        else:
            roots.append(arg)
    if len(roots) != 1 or "://" in roots[0] or not roots[0]:
        return None
    return os.path.abspath(roots[0]), threads


def _safe_parts(key: object) -> list[str] | None:
    if not isinstance(key, str) or not key or key.startswith("/"):
        return None
    if any(ch == "\\" or ord(ch) < 0x20 or 0x7F <= ord(ch) <= 0x9F for ch in key):
        return None
    parts = key.split("/")
    if any(p in ("", ".", "..") for p in parts):
        return None
    return parts


_NO_LINKS = os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC | os.O_NONBLOCK


def open_below(root_fd: int, key: str) -> int | None:
    """A descriptor of the regular file ``key`` below the folder ``root_fd``, opened one
    name at a time and never through a link; None for anything else."""
    parts = _safe_parts(key)
    if parts is None:
        return None
    fd = root_fd
    try:
        for folder in parts[:-1]:
            nxt = os.open(folder, _NO_LINKS | os.O_DIRECTORY, dir_fd=fd)
            if fd != root_fd:
                os.close(fd)
            fd = nxt
        # Only a regular file is opened: opening a device or a FIFO can have effects.
        if not stat.S_ISREG(os.stat(parts[-1], dir_fd=fd, follow_symlinks=False).st_mode):
            return None
        out = os.open(parts[-1], _NO_LINKS, dir_fd=fd)
    except (OSError, ValueError):  # ValueError: a name the file system cannot encode
        return None
    finally:
        if fd != root_fd:
            os.close(fd)
    if not stat.S_ISREG(os.fstat(out).st_mode):
        os.close(out)
        return None
    return out


def sha256_mapped(fd: int, size: int, parent: int | None = None) -> str | None:
    """sha256 of the first ``size`` bytes of ``fd``, read through a map a window at a time;
    None as soon as the process ``parent`` is no longer this one's parent."""
    h = hashlib.sha256()
    for start in range(0, size, WINDOW):
        if parent is not None and os.getppid() != parent:
            return None
        length = min(WINDOW, size - start)
        with mmap.mmap(fd, length, offset=start, access=mmap.ACCESS_READ) as mm, \
                memoryview(mm) as view:
            h.update(view)
    return h.hexdigest()


def _min_size() -> int:
    value = os.environ.get("ORACLE_TUI_PREHASH_MIN_BYTES", "")
    return int(value) if value.isdigit() and int(value) >= 1 else MIN_SIZE


def _read_index(root_fd: int) -> list[tuple[str, int]]:
    """The files of the content index worth a head start, the largest first; [] for an
    index that cannot be read (the command says why)."""
    fd = open_below(root_fd, CONTENT_INDEX)
    if fd is None:
        return []
    try:
        if os.fstat(fd).st_size > MAX_INDEX_BYTES:
            return []
        with os.fdopen(fd, "rb", closefd=False) as fh:
            doc = json.loads(fh.read(MAX_INDEX_BYTES + 1))
    except (OSError, ValueError, RecursionError):
        return []
    finally:
        os.close(fd)
    files = doc.get("files") if isinstance(doc, dict) else None
    if not isinstance(files, list):
        return []
    least = _min_size()
    out = {e["path"]: e["size"] for e in files
           if isinstance(e, dict) and isinstance(e.get("path"), str)
           and isinstance(e.get("size"), int) and e["size"] >= least}
    # The largest first, so that the threads end together.
    return sorted(out.items(), key=lambda item: (-item[1], item[0]))


def _helper(root: str, threads: int, out_fd: int, parent: int) -> None:
    """The helper process's whole life: say which files it will hash (one JSON line), then
    one JSON line per file hashed, and end."""
    root_fd = os.open(root, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    files = _read_index(root_fd)
    lock = threading.Lock()

    def say(doc: object) -> None:
        with lock:
            os.write(out_fd, json.dumps(doc).encode() + b"\n")

    say({"plan": [key for key, _ in files]})
    todo = iter(files)

    def work() -> None:
        while True:
            with lock:
                item = next(todo, None)
            if item is None or os.getppid() != parent:  # done, or the command has ended
                return
            key, size = item
            fd = open_below(root_fd, key)
            if fd is None:
                continue
            try:
                before = identity(os.fstat(fd))
                if before[2] != size:
                    continue  # the command reports the size; nothing to hash ahead
                digest = sha256_mapped(fd, size, parent)
                if digest is None:
                    return  # the command has ended
                if identity(os.fstat(fd)) != before:
                    continue
            finally:
                os.close(fd)
            say([key, list(before), digest])

    pool = [threading.Thread(target=work, daemon=True) for _ in range(threads)]
    for t in pool:
        t.start()
    for t in pool:
        t.join()


class HeadStart:
    """The command's side: the helper's pid, its plan and the answers read so far."""

    def __init__(self, root: str, pid: int, read_fd: int) -> None:
        self.root = root
        self.pid = pid
        self._read_fd = read_fd
        self._planned: frozenset[str] | None = None  # the keys the helper will answer
        self._answers: dict[str, tuple[Identity, str]] = {}
        self._ended = False
        self._changed = threading.Condition()
        self._reader = threading.Thread(target=self._read, name="prehash-reader", daemon=True)
        self._reader.start()

    def _read(self) -> None:
        rest = b""
        try:
            while chunk := os.read(self._read_fd, 1 << 16):
                lines = (rest + chunk).split(b"\n")
                rest = lines.pop()
                planned, got = None, {}
                for line in lines:
                    doc = json.loads(line)
                    if isinstance(doc, dict):
                        planned = frozenset(doc["plan"])
                    else:
                        key, ident, digest = doc
                        got[key] = (tuple(ident), digest)
                with self._changed:
                    if planned is not None:
                        self._planned = planned
                    self._answers.update(got)
                    self._changed.notify_all()
        except (OSError, ValueError, KeyError, TypeError):
            pass  # a helper that says something else is not listened to any more
        finally:
            os.close(self._read_fd)
            with self._changed:
                self._ended = True
                self._changed.notify_all()

    def answer(self, key: str, cancel: threading.Event | None = None
               ) -> tuple[Identity, str] | None:
        """The helper's (identity, digest) for ``key``, waiting for it while the helper
        runs and has it in its plan; None when no answer will come."""
        with self._changed:
            while not self._ended and key not in self._answers and (
                    self._planned is None or key in self._planned):
                if cancel is not None and cancel.is_set():
                    return None
                self._changed.wait(WAIT_STEP)
            return self._answers.get(key)

    def stop(self) -> None:
        """End the helper (if still running), reap it, and let the reader see its pipe
        close: no thread of this module is left running while the interpreter exits."""
        with contextlib.suppress(OSError):
            os.kill(self.pid, signal.SIGTERM)
        with contextlib.suppress(OSError):
            os.waitpid(self.pid, 0)
        self._reader.join(READER_GRACE)


_current: HeadStart | None = None


def start(argv: Sequence[str]) -> HeadStart | None:
    """Fork the helper when ``argv`` is a full check of a local folder. Called by the entry
    point before any thread exists; never raises for a reason of its own."""
    global _current
    if _current is not None or not hasattr(os, "fork") or os.environ.get(
            "ORACLE_TUI_NO_PREHASH"):
        return None
    wanted = plan(argv)
    if wanted is None or not os.path.isfile(os.path.join(wanted[0], CONTENT_INDEX)):
        return None
    root, threads = wanted
    try:
        read_fd, write_fd = os.pipe()
        pid = os.fork()
    except OSError:
        return None
    if pid == 0:  # the helper: nothing it does may reach the command's terminal
        _run_helper(root, threads, read_fd, write_fd, os.getppid())
    os.close(write_fd)
    _current = HeadStart(root, pid, read_fd)
    return _current


def _run_helper(root: str, threads: int, read_fd: int, write_fd: int, parent: int) -> None:
    code = 0
    try:
        signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the command's to handle
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        signal.signal(signal.SIGPIPE, signal.SIG_DFL)
        os.close(read_fd)
        devnull = os.open(os.devnull, os.O_RDWR)
        for std in (0, 1, 2):
            os.dup2(devnull, std)
        _helper(root, threads, write_fd, parent)
    except BaseException:  # a helper that fails says nothing: the command hashes it all
        code = 1
    finally:
        os._exit(code)  # never the command's exit handlers, never its buffered output


def current() -> HeadStart | None:
    return _current


def stop() -> None:
    """End the helper, if one was started (the entry point, once the command has ended)."""
    global _current
    if _current is not None:
        _current.stop()
        _current = None
