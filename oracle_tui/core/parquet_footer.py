"""Parquet footers read by one ranged request: row counts and schemas without the data.

What the readability decision may afford on every read (docs/contract.md §4): control
files, gate bundles and footers, never a re-hash of the sources. pyarrow is imported only
when a footer is read, so checking a pack without Parquet evidence never pays for it.
"""

from __future__ import annotations

import struct
import threading
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import TYPE_CHECKING

from oracle_tui.core.errors import OracleError
from oracle_tui.core.storage.base import Store, in_flight

if TYPE_CHECKING:
    import pyarrow as pa

MAGIC = b"PAR1"
# One read usually holds the whole footer; a larger footer costs exactly one more read.
FIRST_READ = 64 * 1024
MAX_FOOTER = 64 * 1024 * 1024


@dataclass(frozen=True)
class Footer:
    num_rows: int
    schema: pa.Schema


def read_footer(store: Store, key: str, code: str = "PARQUET_INVALID") -> Footer:
    """The footer of one Parquet object; ``code`` when it is not a readable Parquet file."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    tail = store.read_tail(key, FIRST_READ)
    if len(tail) < 12 or tail[-4:] != MAGIC:
        raise OracleError(code, f"{key} is not a Parquet file (no footer magic; truncated?)", key)
    (length,) = struct.unpack("<I", tail[-8:-4])
    if length > MAX_FOOTER:
        raise OracleError(code, f"{key} claims a {length}-byte footer; not read", key)
    if length + 8 > len(tail):
        tail = store.read_tail(key, length + 8)
        if len(tail) < length + 8:
            raise OracleError(code, f"{key} is shorter than its footer claims (truncated?)", key)
    try:
        # A buffer of magic + footer parses as a file whose row groups are never touched.
        meta = pq.ParquetFile(pa.BufferReader(MAGIC + tail[-(length + 8):]))
        num_rows = int(meta.metadata.num_rows)
        in_groups = sum(meta.metadata.row_group(i).num_rows
                        for i in range(meta.metadata.num_row_groups))
        schema = meta.schema_arrow
    except (OSError, ValueError, pa.ArrowException) as exc:
        raise OracleError(code, f"{key} has an unreadable Parquet footer "
                                f"({str(exc).splitlines()[0][:120]})", key) from exc
    if num_rows != in_groups:
        # Readers trust one or the other: a count that the row groups do not bear out is a
        # file that would be read as more (or fewer) rows than it states.
        raise OracleError(code, f"{key}: its footer states {num_rows} rows, its row groups "
                                f"hold {in_groups}", key)
    return Footer(num_rows=num_rows, schema=schema)


def read_footers(store: Store, keys: Sequence[str], *, threads: int = 8,
                 code: str = "PARQUET_INVALID", cancel: threading.Event | None = None
                 ) -> dict[str, Footer | OracleError]:
    """Footers of many objects in parallel (S3 latency); a per-key error in place of one."""
    out: dict[str, Footer | OracleError] = {}

    def one(key: str) -> None:
        if cancel is not None and cancel.is_set():
            return
        try:
            out[key] = read_footer(store, key, code)
        except OracleError as exc:
            out[key] = exc

    if len(keys) <= 1:
        for key in keys:
            one(key)
        return out
    with ThreadPoolExecutor(max_workers=min(in_flight(store, threads), len(keys))) as pool:
        for fut in [pool.submit(one, k) for k in keys]:
            fut.result()
    return out


def schema_text(schema: pa.Schema) -> str:
    """A schema in one short line: (name:type, … not null)."""
    cols = ", ".join(f"{f.name}:{f.type}{'' if f.nullable else ' not null'}" for f in schema)
    return f"({cols[:300]})"
