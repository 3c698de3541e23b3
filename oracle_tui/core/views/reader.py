"""Read a stream view in order (the stream producer's door): every part's bytes checked
against its receipt before any of its rows; the raw output only where the profile allows it."""

from __future__ import annotations

import contextlib
import tempfile
import threading
from collections.abc import Iterator
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from oracle_tui.core.codes import Severity
from oracle_tui.core.errors import OracleError
from oracle_tui.core.findings import Finding, make_finding
from oracle_tui.core.hashing import hash_object, sha256_bytes
from oracle_tui.core.pack import OpenedPack
from oracle_tui.core.proven_parts import require_stated
from oracle_tui.core.readability import decide
from oracle_tui.core.report import CheckReport, OutputResult
from oracle_tui.core.storage.base import Store
from oracle_tui.core.view_location import view_prefix
from oracle_tui.core.views.documents import Receipt
from oracle_tui.core.views.target import (
    ViewTarget,
    readability_check,
    resolve_target,
    view_state_of,
)

# -- reader API for the stream producer ----------------------------------------------------------

class StreamReader:
    """Iterate Arrow record batches of a view in order (or of the raw output, on fallback)."""

    def __init__(self, source: str, batches: Iterator[pa.RecordBatch], findings: list[Finding],
                 receipt: dict[str, Any] | None) -> None:
        self.source = source  # "stream_view" | "raw_fallback"
        self.findings = findings
        self.receipt = receipt
        self._batches = batches

    def __iter__(self) -> Iterator[pa.RecordBatch]:
        return self._batches


def open_stream_view(pack: str | OpenedPack, output_id: str, *,
                     batch_size: int = 65_536) -> StreamReader:
    """The view's rows in order. Refuses a view without a valid receipt; only a profile that
    allows it (local) falls back to the raw, unsorted output when no view exists, with a WARN.
    Each part's bytes are checked against the receipt's sha256 (a raw part's against its
    sealed digest and the engine's evidence) before any of its rows. WARN findings of the
    check about the pack or the output (an unsealed or half-sealed pack) come with the
    reader: it reads, and says so."""
    t = resolve_target(pack, output_id)
    report = readability_check(t, output_id)
    decision = decide(report, output_id, include_view=False)
    decision.require("read")
    state = view_state_of(report, output_id, t.view_store.uri(t.prefix))
    warned = list(decision.warnings)
    if state.state == "VALID":
        receipt = Receipt.model_validate(state.receipt)
        return StreamReader("stream_view", _view_batches(t, receipt, batch_size),
                            warned + [f for f in state.findings
                                      if f.severity is Severity.WARN], state.receipt)
    if state.state == "MISSING" and t.profile.policy.allow_raw_fallback:
        warn = make_finding("STREAM_VIEW_MISSING", output_id,
                            "no stream view: reading the raw output, NOT time-sorted "
                            f"(profile {t.profile.name} allows this fallback)", Severity.WARN)
        out = next(o for o in report.outputs if o.output_id == output_id)
        return StreamReader("raw_fallback", _raw_batches(t, out, batch_size), [*warned, warn],
                            None)
    if state.findings:
        first = state.findings[0]
        raise OracleError(first.code, f"refusing to read: {first.detail}", output_id)
    raise OracleError("STREAM_VIEW_MISSING", f"no stream view for {output_id} and profile "
                                             f"{t.profile.name} does not fall back to raw output",
                      output_id)


PreviewCache = dict[tuple[str, int, str | None], pa.Table]


def preview_rows(pack: OpenedPack, report: CheckReport, output_id: str, *, limit: int = 20,
                 cache: PreviewCache | None = None,
                 cancel: threading.Event | None = None) -> pa.Table:
    """The first ``limit`` rows of a view, for the inspector: only when the session's check
    (``report``) re-hashed the pack and its one readability decision allows the output and
    the view is VALID. The first part is copied while hashed and its rows come from that
    copy; ``cache`` keeps the rows by the part's listing entry (key, size, ETag or local
    inode and times), so a part that changed since is proven again."""
    decision = decide(report, output_id, include_view=True)
    decision.require("preview")
    if not report.digests_rehashed:
        raise OracleError("DIGESTS_NOT_REHASHED", f"preview of {output_id} waits for the full "
                                                  "check: this session's check did not re-hash "
                                                  "the pack's bytes", output_id)
    state = next((v for v in report.stream_views if v.output_id == output_id), None)
    if state is None or state.state != "VALID" or state.receipt is None:
        raise OracleError("STREAM_VIEW_MISSING", f"no valid view of {output_id}", output_id)
    first = Receipt.model_validate(state.receipt).parts[0]
    views = pack.view_store()
    key = view_prefix(pack.profile, output_id) + first.path
    entry = views.head(key)
    if entry is None:
        raise OracleError("OBJECT_MISSING", f"{key} is gone", key)
    held = (key, entry.size, entry.etag)
    if cache is not None and held in cache:
        return cache[held].slice(0, limit)
    with _verified_part(views, key, first.sha256, output_id, cancel) as path:
        batch = next(pq.ParquetFile(path).iter_batches(batch_size=limit), None)
    table = pa.Table.from_batches([batch]) if batch is not None else pa.table({})
    if cache is not None and entry.etag is not None:
        cache[held] = table
    return table


def _view_batches(t: ViewTarget, receipt: Receipt, batch_size: int) -> Iterator[pa.RecordBatch]:
    for part in receipt.parts:
        with _verified_part(t.view_store, t.prefix + part.path, part.sha256,
                            receipt.output_id) as path:
            yield from pq.ParquetFile(path).iter_batches(batch_size=batch_size)


@contextlib.contextmanager
def _verified_part(store: Store, key: str, sha256: str, output_id: str,
                   cancel: threading.Event | None = None) -> Iterator[str]:
    """A private copy of the part, made while hashing it and checked before any row is read:
    the rows served come from the bytes that were hashed, never from a file reopened by
    name (a writer swapping the part between a hash and a read gets nothing through)."""
    with tempfile.NamedTemporaryFile(prefix="oracle-tui-part-", suffix=".parquet") as tmp:
        _, digest = hash_object(store, key, cancel, copy_to=tmp.write)
        tmp.flush()
        if digest != sha256:
            raise OracleError("STREAM_RECEIPT_MISMATCH",
                              f"{key} does not match its receipt digest", output_id)
        yield tmp.name


def _raw_batches(t: ViewTarget, out: OutputResult, batch_size: int
                 ) -> Iterator[pa.RecordBatch]:
    """The parts the check judged, each read once into memory and its sha256 held to every
    digest the pack states for it (sealed, the engine's evidence, an instance proof) before
    a row of it is served: a part changed after the check is refused, not read."""
    for key in sorted(out._files):
        data = t.store.read_bytes(key)
        require_stated(out, key, sha256_bytes(data), "read")
        yield from pq.ParquetFile(pa.BufferReader(data)).iter_batches(batch_size=batch_size)

