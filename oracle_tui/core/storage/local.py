"""Local-disk store: never follows a symlink, never opens a FIFO, never leaves the root."""

from __future__ import annotations

import builtins
import contextlib
import errno
import io
import os
import stat
import uuid
from collections.abc import Iterator
from pathlib import Path

from oracle_tui.core.errors import OracleError, TooLarge
from oracle_tui.core.paths import PATH_MAX, require_safe_key
from oracle_tui.core.storage.base import EMPTY_FOLDER, TEMP_PREFIX, TEMP_RE, ObjectInfo
from oracle_tui.core.storage.folders import exhausted, write_error
from oracle_tui.core.storage.settings import StoreSpec

# Temporary files of create-if-absent writes. They are never part of a pack's content.


def _kind(mode: int) -> str:
    if stat.S_ISREG(mode):
        return "file"
    if stat.S_ISLNK(mode):
        return "symlink"
    if stat.S_ISDIR(mode):
        return "dir"
    if stat.S_ISFIFO(mode):
        return "fifo"
    return "special"


def _path_error(exc: OSError, key: str, doing: str) -> OracleError:
    """What an OSError on ``key`` (other than its absence) means, as a reason code."""
    if exc.errno == errno.EACCES:
        return OracleError("ACCESS_DENIED", f"permission denied: {key}", key)
    if exc.errno == errno.ENAMETOOLONG:
        return OracleError("PATH_UNSAFE", f"path longer than PATH_MAX: {key[:80]}…", key)
    if exc.errno in (errno.EMFILE, errno.ENFILE, errno.ENOMEM):
        return exhausted(exc, key)
    return OracleError("OBJECT_MISSING", f"cannot {doing} {key}: {exc.strerror}", key)


class LocalStore:
    remote = False

    def __init__(self, root: str | os.PathLike[str]) -> None:
        self.root = Path(root).absolute()
        self.root_uri = str(self.root)
        self._real_root: str | None = None  # os.path.realpath(root), once a file opened
        if len(self.root_uri.encode("utf-8", "surrogateescape")) >= PATH_MAX:
            raise OracleError("PATH_UNSAFE", f"the root is longer than PATH_MAX ({PATH_MAX} "
                                             "bytes)", self.root_uri[:80] + "…")

    # -- reading ---------------------------------------------------------------------------
    def root_exists(self) -> bool:
        try:
            return stat.S_ISDIR(os.lstat(self.root).st_mode) or self.root.is_dir()
        except PermissionError as exc:  # a folder above it this user cannot search: not
            raise self._denied("") from exc  # "no pack there"
        except OSError:
            return False

    def _path(self, key: str) -> Path:
        require_safe_key(key)
        return self.root / key

    def list(self, prefix: str = "") -> Iterator[ObjectInfo]:
        out: builtins.list[ObjectInfo] = []
        start = self.root
        # Descend only into the directory that can hold the prefix, then filter.
        head, _, _ = prefix.rpartition("/")
        if head:
            require_safe_key(head)
            start = self.root / head
            try:
                st = os.lstat(start)
            except PermissionError as exc:  # a folder above it this user cannot search:
                raise self._denied(head) from exc  # not "nothing there"
            except OSError:
                return iter(())
            if not stat.S_ISDIR(st.st_mode):
                return iter(())
        try:
            os.scandir(start).close()
        except PermissionError as exc:
            raise self._denied(head) from exc
        except OSError:
            return iter(())
        self._walk(start, out)
        out.sort(key=lambda o: o.key)
        return (o for o in out if o.key.startswith(prefix))

    def _denied(self, head: str) -> OracleError:
        where = head or "the root"
        return OracleError("ACCESS_DENIED", f"permission denied listing {where} "
                                            f"({self.uri(head)})", head)

    def _walk(self, directory: Path, out: builtins.list[ObjectInfo]) -> None:
        try:
            entries = list(os.scandir(directory))
        except FileNotFoundError:
            return  # removed while listing
        except OSError as exc:
            # Never skipped in silence: an unlistable folder is reported by whoever lists.
            key = directory.relative_to(self.root).as_posix() + "/"
            kind = ("path longer than PATH_MAX" if exc.errno == errno.ENAMETOOLONG
                    else "unreadable")
            out.append(ObjectInfo(key=key, size=0, kind=kind))
            return
        cut = len(str(self.root)) + 1
        if not entries and directory != self.root:
            out.append(ObjectInfo(key=directory.as_posix()[cut:] + "/", size=0,
                                  kind=EMPTY_FOLDER))
            return
        for entry in entries:
            key = entry.path[cut:]  # scandir joins the paths we gave it: cheaper than Path
            try:
                st = entry.stat(follow_symlinks=False)
            except FileNotFoundError:
                continue  # removed while listing (another writer's temp file)
            except OSError as exc:
                kind = ("path longer than PATH_MAX" if exc.errno == errno.ENAMETOOLONG
                        else "unreadable")
                out.append(ObjectInfo(key=key, size=0, kind=kind))
                continue
            if stat.S_ISDIR(st.st_mode):
                self._walk(Path(entry.path), out)
            else:
                kind = _kind(st.st_mode)
                if kind == "file" and not _readable(st):
                    kind = "unreadable"
                out.append(ObjectInfo(key=key, size=st.st_size, kind=kind))

    def head(self, key: str) -> ObjectInfo | None:
        path = self._path(key)
        try:
            st = os.lstat(path)
        except (FileNotFoundError, NotADirectoryError):
            return None
        except OSError as exc:  # a folder on the way this user cannot search, say
            raise _path_error(exc, key, "look at") from exc
        if stat.S_ISDIR(st.st_mode):
            return None
        # A local "ETag": what changes when the file is rewritten or replaced (its inode,
        # its modification and change times), so a cache of what was proven can tell.
        return ObjectInfo(key=key, size=st.st_size, kind=_kind(st.st_mode),
                          etag=f"{st.st_ino:x}-{st.st_mtime_ns:x}-{st.st_ctime_ns:x}")

    def _open_fd(self, key: str) -> int:
        path = self._path(key)
        # An intermediate symlinked directory could lead out of the root: refuse it.
        real_parent = os.path.realpath(path.parent)
        # The root's own resolution, once per store: a link above the root that changes
        # later only makes every parent look outside it (refused), never the reverse.
        real_root = self._real_root or os.path.realpath(self.root)
        if real_parent != real_root and not real_parent.startswith(real_root + os.sep):
            raise OracleError("PATH_UNSAFE", f"path leaves the root via a link: {key!r}", key)
        try:
            fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC)
        except FileNotFoundError as exc:
            raise OracleError("OBJECT_MISSING", f"no such object: {key}", key) from exc
        except NotADirectoryError as exc:
            raise OracleError("OBJECT_MISSING", f"no such object: {key}", key) from exc
        except OSError as exc:
            if exc.errno == errno.ELOOP:  # the final component is a symlink
                raise OracleError("PATH_UNSAFE", f"symlink refused: {key!r}", key) from exc
            raise _path_error(exc, key, "open") from exc
        self._real_root = real_root
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            os.close(fd)
            raise OracleError("PATH_UNSAFE", f"not a regular file ({_kind(st.st_mode)}): {key!r}",
                              key)
        os.set_blocking(fd, True)
        return fd

    def read_bytes(self, key: str, max_bytes: int | None = None) -> bytes:
        fd = self._open_fd(key)
        with os.fdopen(fd, "rb") as fh:
            if max_bytes is None:
                return fh.read()
            if os.fstat(fh.fileno()).st_size > max_bytes:
                raise TooLarge(key, max_bytes)  # refused by size, never read
            data = fh.read(max_bytes + 1)
        if len(data) > max_bytes:
            raise TooLarge(key, max_bytes)
        return data

    def read_tail(self, key: str, nbytes: int) -> bytes:
        fd = self._open_fd(key)
        try:
            size = os.fstat(fd).st_size
            start = max(0, size - nbytes)
            return os.pread(fd, size - start, start)
        finally:
            os.close(fd)

    def open_read(self, key: str) -> io.FileIO:
        return io.FileIO(self._open_fd(key), "rb", closefd=True)

    def local_path(self, key: str) -> Path:
        return self._path(key)

    def uri(self, key: str) -> str:
        return str(self._path(key)) if key else self.root_uri

    def s3_access(self) -> None:
        return None  # DuckDB reads local files directly

    def spec(self) -> StoreSpec:
        return StoreSpec(self.root_uri)

    def delete(self, key: str) -> None:
        with contextlib.suppress(FileNotFoundError):
            self._path(key).unlink()

    # -- writing ---------------------------------------------------------------------------
    def put_if_absent(self, key: str, data: bytes) -> bool:
        """Temp file + fsync + link(): link() never replaces an existing file."""
        try:
            return self._put_if_absent(key, data)
        except OSError as exc:
            raise write_error(exc, key) from exc

    def _put_if_absent(self, key: str, data: bytes) -> bool:
        path = self._path(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.parent / f"{TEMP_PREFIX}{os.getpid()}-{uuid.uuid4().hex}"
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o644)
        try:
            with os.fdopen(fd, "wb") as fh:
                fh.write(data)
                fh.flush()
                os.fsync(fh.fileno())
            try:
                os.link(tmp, path)
                created = True
            except FileExistsError:
                created = False
        finally:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(tmp)
        if created:
            _fsync_dir(path.parent)
        return created

    def put_file_if_absent(self, key: str, path: str) -> bool:
        """Publish a finished local file under ``key`` without ever replacing one.

        The file is handed over: it is hard-linked where it can be, so the caller must not
        write to ``path`` again (callers publish their own temp files and then drop them).
        """
        try:
            return self._put_file_if_absent(key, path)
        except OSError as exc:
            raise write_error(exc, key) from exc

    def _put_file_if_absent(self, key: str, path: str) -> bool:
        dest = self._path(key)
        dest.parent.mkdir(parents=True, exist_ok=True)
        try:
            os.link(path, dest)
        except FileExistsError:
            return False
        except OSError as exc:
            if exc.errno != 18:  # EXDEV: another filesystem, copy instead
                raise
            with open(path, "rb") as fh:
                return self.put_if_absent(key, fh.read())
        _fsync_dir(dest.parent)
        return True

    def ensure_conditional_writes(self) -> None:
        """link() refuses an existing name on every local filesystem: nothing to prove."""
        return None

    def remove_stale_temps(self, directory_key: str = "") -> builtins.list[str]:
        """Delete our own temp files left by dead writers (crash recovery); returns their keys."""
        directory = self._path(directory_key) if directory_key else self.root
        removed: builtins.list[str] = []
        try:
            entries = list(os.scandir(directory))
        except OSError:
            return removed
        for entry in entries:
            m = TEMP_RE.match(entry.name)
            if not m or not entry.is_file(follow_symlinks=False):
                continue
            if _pid_alive(int(m.group(1))):
                continue
            with contextlib.suppress(FileNotFoundError):
                os.unlink(entry.path)
                removed.append(Path(entry.path).relative_to(self.root).as_posix())
        return removed


def _readable(st: os.stat_result) -> bool:
    """Whether this process may open the file for reading, from its mode bits (no syscall;
    ACLs aside, which the open itself still enforces)."""
    euid = os.geteuid()
    if euid == 0:
        return True
    if st.st_uid == euid:
        return bool(st.st_mode & stat.S_IRUSR)
    if st.st_gid == os.getegid() or st.st_gid in os.getgroups():
        return bool(st.st_mode & stat.S_IRGRP)
    return bool(st.st_mode & stat.S_IROTH)


def _fsync_dir(directory: Path) -> None:
    """Make a new directory entry durable (the link itself, not only the bytes)."""
    dfd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(dfd)
    finally:
        os.close(dfd)


def _pid_alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
