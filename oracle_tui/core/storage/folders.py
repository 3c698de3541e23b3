"""Local folders the tool makes for itself (view folders, temp and spill folders) and the
codes a failed local write gets: the one place an OSError becomes a reason code."""

from __future__ import annotations

import errno
import os
import tempfile
from pathlib import Path

from oracle_tui.core.errors import OracleError


def ensure_folder(path: str | os.PathLike[str], what: str) -> Path:
    """``path`` as an existing folder (created if absent), or the code that says why it
    cannot be one: a file or device there or on the way (INPUT_INVALID), no permission or a
    read-only mount (ACCESS_DENIED), a full disk (STORAGE_FULL)."""
    folder = Path(path)
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except FileExistsError as exc:
        raise OracleError("INPUT_INVALID", f"{what} {folder} exists and is not a folder",
                          str(folder)) from exc
    except OSError as exc:
        raise write_error(exc, str(folder)) from exc
    if not folder.is_dir():
        raise OracleError("INPUT_INVALID", f"{what} {folder} is not a folder", str(folder))
    return folder


def new_temp_folder(prefix: str, parent: str | None, what: str) -> Path:
    """A new private folder (``tempfile.mkdtemp``) under ``parent``, its failures as codes."""
    if parent is not None:
        ensure_folder(parent, what)
    try:
        return Path(tempfile.mkdtemp(prefix=prefix, dir=parent))
    except OSError as exc:
        raise write_error(exc, parent or tempfile.gettempdir()) from exc


def exhausted(exc: OSError, key: str) -> OracleError:
    """Out of file descriptors (or memory) in this process: the file is there, the retry
    will see it."""
    return OracleError("RESOURCE_EXHAUSTED", f"cannot open {key}: {exc.strerror} (this "
                                             "process's limit, not the pack's fault)", key)


def write_error(exc: OSError, key: str) -> OracleError:
    """A failed local write as the code that names it (temp files are already removed)."""
    if exc.errno in (errno.ENOSPC, errno.EDQUOT):
        return OracleError("STORAGE_FULL", f"no space left writing {key}; nothing half-written "
                                           "was kept", key)
    if exc.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
        return OracleError("ACCESS_DENIED", f"cannot write {key}: {exc.strerror}", key)
    if exc.errno in (errno.ENOTDIR, errno.EISDIR, errno.ENAMETOOLONG, errno.ELOOP,
                     errno.EEXIST, errno.ENODEV, errno.ENXIO):
        return OracleError("INPUT_INVALID", f"cannot write {key} there: {exc.strerror} (a "
                                            "folder on the way is a file, or the place cannot "
                                            "hold files)", key)
    if exc.errno in (errno.EMFILE, errno.ENFILE, errno.ENOMEM):
        return exhausted(exc, key)
    return OracleError("STORAGE_TIMEOUT", f"writing {key} failed: {exc.strerror}", key)
