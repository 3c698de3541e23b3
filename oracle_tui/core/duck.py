"""DuckDB wiring: one connection per job, disk-backed, reading local files or S3 directly.

S3 goes through the httpfs extension shipped by the `duckdb-extension-httpfs` package (no
download at run time; DuckDB's own install/autoload is the fallback) and a temporary secret
built from the same wiring as the boto3 store: endpoint, region, URL style, SSL, and
credentials from the standard AWS chain. The secret lives only inside the connection.
"""

from __future__ import annotations

import atexit
import contextlib
import shutil
import weakref
from pathlib import Path

import duckdb

from oracle_tui.core.engine import _UNITS, DEFAULT_MEMORY_LIMIT, size_bytes
from oracle_tui.core.errors import OracleError
from oracle_tui.core.storage.base import S3Access, Store
from oracle_tui.core.storage.folders import ensure_folder, new_temp_folder

DUCKDB_VERSION = duckdb.__version__

# Every connection this process opened and has not dropped: what an interrupt (Ctrl-C)
# stops, from whichever thread notices it (a statement running in C polls no Python signal
# handler on its own).
_OPEN: weakref.WeakSet[duckdb.DuckDBPyConnection] = weakref.WeakSet()


def interrupt_all() -> None:
    """Interrupt every running statement of this process's connections."""
    for con in list(_OPEN):
        with contextlib.suppress(duckdb.Error, RuntimeError):
            con.interrupt()


def close(con: duckdb.DuckDBPyConnection) -> None:
    """Close a connection of :func:`connect`, stopping first whatever it still runs. A
    Ctrl-C that reached Python while a statement ran in C (or just before it started)
    returns KeyboardInterrupt to the caller while DuckDB's own threads may still be on that
    statement; a close without the interrupt then waits for it (hours)."""
    _OPEN.discard(con)
    with contextlib.suppress(duckdb.Error, RuntimeError):
        con.interrupt()
    con.close()


def sql_str(value: str) -> str:
    """A SQL string literal."""
    return "'" + value.replace("'", "''") + "'"


def quote_column(column: str) -> str:
    """A SQL identifier (a column name of any spelling)."""
    return '"' + column.replace('"', '""') + '"'


def sql_list(values: list[str]) -> str:
    return "[" + ", ".join(sql_str(v) for v in values) + "]"


def object_uri(store: Store, key: str) -> str:
    """What DuckDB reads for ``key``: an absolute local path or an s3:// URI."""
    path = store.local_path(key)
    return str(path) if path is not None else store.uri(key)


def _httpfs_path() -> Path | None:
    try:
        import duckdb_extension_httpfs
    except ImportError:
        return None
    base = Path(duckdb_extension_httpfs.__file__).parent / "extensions"
    found = sorted(base.glob(f"v{DUCKDB_VERSION}/httpfs.duckdb_extension"))
    return found[0] if found else None


def load_httpfs(con: duckdb.DuckDBPyConnection) -> None:
    path = _httpfs_path()
    try:
        if path is not None:
            con.execute(f"LOAD {sql_str(str(path))}")
        else:
            con.execute("INSTALL httpfs")
            con.execute("LOAD httpfs")
    except duckdb.Error as exc:
        raise OracleError("ENGINE_EXTENSION_MISSING", "cannot load DuckDB's httpfs "
                                                      "extension: "
                                                      f"{str(exc).splitlines()[0][:160]}") \
            from exc


def _s3_secret(con: duckdb.DuckDBPyConnection, access: S3Access) -> None:
    parts = ["TYPE s3"]
    if access.key_id and access.secret:
        parts += [f"KEY_ID {sql_str(access.key_id)}", f"SECRET {sql_str(access.secret)}"]
        if access.token:
            parts.append(f"SESSION_TOKEN {sql_str(access.token)}")
    if access.endpoint:
        parts.append(f"ENDPOINT {sql_str(access.endpoint)}")
        parts.append(f"USE_SSL {'true' if access.use_ssl else 'false'}")
    parts.append(f"REGION {sql_str(access.region)}")
    parts.append(f"URL_STYLE {sql_str('path' if access.path_style else 'vhost')}")
    con.execute(f"CREATE OR REPLACE TEMPORARY SECRET oracle_tui_s3 ({', '.join(parts)})")


def memory_limit_bytes(con: duckdb.DuckDBPyConnection) -> int:
    """The connection's memory limit in bytes (DuckDB reports it as e.g. '244.1 MiB')."""
    row = con.execute("SELECT current_setting('memory_limit')").fetchone()
    number, _, unit = str(row[0] if row else "0 b").strip().partition(" ")
    return int(float(number) * _UNITS.get(unit.strip().lower(), 1))


def private_spill(temp_dir: str) -> Path:
    """A folder of this process's own under the operator's temp folder, for DuckDB's spill
    files: removed when the process ends, however it ends short of being killed (an
    interrupt included), so nothing of the tool's stays beside the operator's files."""
    ensure_folder(temp_dir, "the temp folder")
    folder = new_temp_folder("oracle-tui-spill-", temp_dir, "the temp folder")
    atexit.register(shutil.rmtree, folder, True)
    return folder


def connect(*, stores: list[Store], memory_limit: str = DEFAULT_MEMORY_LIMIT,
            temp_dir: str | None = None, threads: int | None = None) -> duckdb.DuckDBPyConnection:
    """A fresh in-memory connection that spills to ``temp_dir`` and can read ``stores``."""
    size_bytes(memory_limit)  # INPUT_INVALID unless a size
    con = duckdb.connect(":memory:", config={"autoinstall_known_extensions": False,
                                            "autoload_known_extensions": False})
    try:
        con.execute(f"SET memory_limit = {sql_str(memory_limit)}")
        if temp_dir:
            con.execute(f"SET temp_directory = {sql_str(str(private_spill(temp_dir)))}")
        if threads:
            con.execute(f"SET threads = {int(threads)}")
        con.execute("SET preserve_insertion_order = true")
        # Instants as UTC wherever a zone matters (a TIMESTAMPTZ cast to TIMESTAMP in the
        # platform's stats), whatever zone this machine is in.
        con.execute("SET TimeZone = 'UTC'")
    except OracleError:
        con.close()
        raise
    except duckdb.Error as exc:
        con.close()
        raise OracleError("INPUT_INVALID", f"DuckDB refused a setting (memory limit, temp "
                                           f"folder, threads): {str(exc).splitlines()[0][:160]}"
                          ) from exc
    access = next((a for a in (s.s3_access() for s in stores) if a is not None), None)
    if access is not None:
        load_httpfs(con)
        _s3_secret(con, access)
    _OPEN.add(con)
    return con


_CAUSES = ("http 403", "forbidden", "access denied", "no space left", "out of memory",
           "timeout", "could not", "failed to")


def _useful(message: str, limit: int = 400) -> str:
    """DuckDB's message in one line of at most ``limit`` characters, its cause kept: the
    words that say why (an HTTP 403, a full disk) often come after a long URL."""
    flat = " ".join(message.split())
    if len(flat) <= limit:
        return flat
    low = flat.lower()
    at = min((low.find(c) for c in _CAUSES if c in low[limit // 2:]), default=-1)
    if at <= limit // 2:
        return flat[:limit - 1] + "…"
    return flat[:limit // 2 - 2] + " … " + flat[at:at + limit // 2 - 1]


def duck_error(exc: duckdb.Error, memory_limit: str = "") -> OracleError:
    """DuckDB's failure as the code that names it: never a tampering code for an engine
    problem."""
    text = _useful(str(exc))
    low = str(exc).lower()  # the cause may sit past the first line or the cut
    if "http 403" in low or "forbidden" in low or "access denied" in low:
        return OracleError("ACCESS_DENIED", f"DuckDB: {text}")
    if "no space left" in low or "disk is full" in low:
        return OracleError("STORAGE_FULL", f"DuckDB: {text}")
    if isinstance(exc, duckdb.OutOfMemoryException) or "out of memory" in low:
        return OracleError("MEMORY_LIMIT_EXCEEDED", f"the sort needed more than the memory "
                                                    f"limit {memory_limit or '(default)'}: "
                                                    f"{text}")
    if "http" in low or "timeout" in low or "connection" in low:
        return OracleError("STORAGE_TIMEOUT", f"DuckDB: {text}")
    if isinstance(exc, duckdb.ConversionException):
        return OracleError("SORT_KEY_INVALID", f"DuckDB: {text}")
    return OracleError("SORT_ENGINE_ERROR", f"DuckDB: {text}")
