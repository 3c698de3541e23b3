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
from oracle_tui.core.readability import decide
from oracle_tui.core.report import OutputResult
from oracle_tui.core.storage.base import Store
from oracle_tui.core.stream_receipts import (
    Receipt,
    view_prefix,
)
from oracle_tui.core.view_target import ViewTarget, readability_check, resolve_target, view_state_of

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


def preview_rows(pack: OpenedPack, output_id: str, receipt: dict[str, Any], *,
                 limit: int = 20, verified: set[str] | None = None,
                 cancel: threading.Event | None = None) -> pa.Table:
    """The first ``limit`` rows of a view the session's check judged VALID (``receipt``):
    its first part only, its digest checked unless ``verified`` already holds it (a session
    cache: a part is hashed once), no listing and no check of its own."""
    first = Receipt.model_validate(receipt).parts[0]
    views = pack.view_store()
    key = view_prefix(pack.profile, output_id) + first.path
    local = views.local_path(key)
    if local is not None:
        if verified is None or first.sha256 not in verified:
            _, digest = hash_object(views, key, cancel)
            if digest != first.sha256:
                raise OracleError("STREAM_RECEIPT_MISMATCH",
                                  f"{key} does not match its receipt digest", output_id)
        table = pq.ParquetFile(local).iter_batches(batch_size=limit)
        batch = next(table, None)
    else:
        chunks: list[bytes] = []
        _, digest = hash_object(views, key, cancel, copy_to=lambda b: chunks.append(bytes(b)))
        if digest != first.sha256:
            raise OracleError("STREAM_RECEIPT_MISMATCH",
                              f"{key} does not match its receipt digest", output_id)
        batch = next(pq.ParquetFile(pa.BufferReader(b"".join(chunks))).iter_batches(
            batch_size=limit), None)
    if verified is not None:
        verified.add(first.sha256)
    return pa.Table.from_batches([batch]) if batch is not None else pa.table({})


def _view_batches(t: ViewTarget, receipt: Receipt, batch_size: int) -> Iterator[pa.RecordBatch]:
    for part in receipt.parts:
        with _verified_part(t.view_store, t.prefix + part.path, part.sha256,
                            receipt.output_id) as path:
            yield from pq.ParquetFile(path).iter_batches(batch_size=batch_size)


@contextlib.contextmanager
def _verified_part(store: Store, key: str, sha256: str, output_id: str) -> Iterator[str]:
    """A local file holding the part, its digest checked before any row is read. Streams:
    a local part is hashed in place, a remote one is downloaded while hashed."""
    local = store.local_path(key)
    if local is not None:
        _, digest = hash_object(store, key)
        path = str(local)
        if digest != sha256:
            raise OracleError("STREAM_RECEIPT_MISMATCH",
                              f"{key} does not match its receipt digest", output_id)
        yield path
        return
    with tempfile.NamedTemporaryFile(prefix="oracle-tui-part-", suffix=".parquet") as tmp:
        _, digest = hash_object(store, key, copy_to=tmp.write)
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
        digest = sha256_bytes(data)
        stated = [("the content index", out._sealed.get(key)),
                  ("the engine's evidence", getattr(out._evidence.get(key), "sha256", None)),
                  ("its instance proof", getattr(out._pinned.get(key), "sha256", None))]
        for source, want in stated:
            if want is not None and want != digest:
                raise OracleError("DIGEST_MISMATCH", f"refusing to read: {key} hashes to "
                                                     f"{digest}, {source} says {want}", key)
        yield from pq.ParquetFile(pa.BufferReader(data)).iter_batches(batch_size=batch_size)

