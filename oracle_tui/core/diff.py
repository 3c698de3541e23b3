"""Are two worlds the same, and if not, exactly where do they differ (``oracle-tui diff``).

Levels, cheapest first: identity (world keys, run, release, pack id, the catalogue and gate
map), gates (each flag's status and digest), outputs (parts, bytes, rows and schema from the
footers, content digests as the packs state them: the sealed content index, else the
engine's gate-verified evidence, else hashed here), and rows, only for outputs whose digests
differ (``row_diff``: segment checksums first). Both sides must be readable: a side that is
not is named with the check's own findings, and nothing is compared.
"""

from __future__ import annotations

import shutil
import threading
from pathlib import Path
from typing import Any, Literal

import duckdb
from pydantic import BaseModel, Field

from oracle_tui.core.check import run_check
from oracle_tui.core.diff_ask import DiffAsk
from oracle_tui.core.duck import close as close_connection
from oracle_tui.core.duck import connect, duck_error
from oracle_tui.core.engine import DEFAULT_ENGINE, EngineOptions
from oracle_tui.core.errors import OracleError
from oracle_tui.core.findings import Finding
from oracle_tui.core.hashing import hash_object
from oracle_tui.core.outcome import EXIT_FAIL, exit_code
from oracle_tui.core.pack import OpenedPack, opened
from oracle_tui.core.pack_files import SEAL_BINDING
from oracle_tui.core.parquet_footer import Footer, read_footers, schema_text
from oracle_tui.core.progress import Progress, check_cancel, no_progress
from oracle_tui.core.proven_parts import copies_folder, stage_proven_parts
from oracle_tui.core.readability import decide
from oracle_tui.core.report import QUICK_NOTE, CheckReport, OutputResult
from oracle_tui.core.row_diff import RowDifference, diff_rows
from oracle_tui.core.timeline import hbar
from oracle_tui.core.view_location import sort_keys_for

DIFF_FORMAT = "oracle-tui diff report v1"
# Columns that carry the world's identity: compared at the identity level, and left out of
# the row comparison of two different worlds (they differ in every row by construction).
WORLD_COLUMNS = frozenset({"seed", "manifest_fingerprint", "parameter_hash", "scenario_id",
                           "run_id"})
MAX_BLOCKING = 10


class SideState(BaseModel):
    root: str
    verdict: str
    lifecycle: str
    readable: bool
    blocking: list[Finding] = Field(default_factory=list)  # why not, the check's findings


class FieldDifference(BaseModel):
    field: str
    a: Any
    b: Any


class GateDifference(BaseModel):
    gate_id: str
    a_status: str | None
    b_status: str | None
    a_digest: str | None
    b_digest: str | None


class OutputDifference(BaseModel):
    output_id: str
    state: Literal["identical", "different", "only_in_a", "only_in_b"]
    parts: tuple[int, int]
    bytes: tuple[int, int]
    rows: tuple[int, int]
    schema_equal: bool
    schemas: tuple[str, str] | None = None  # both, when they differ
    parts_differing: list[str] = Field(default_factory=list)  # part names, in name order
    digests_from: tuple[str, str]
    rows_diff: RowDifference | None = None
    note: str | None = None


class SegmentDifference(BaseModel):
    """How many of one engine segment's outputs differ (the interface pack's segment)."""

    segment: str
    outputs: int
    differing: int


class DiffReport(BaseModel):
    format: str = DIFF_FORMAT
    a: SideState
    b: SideState
    result: Literal["IDENTICAL", "DIFFERENT", "UNREADABLE"]
    summary: str  # the answer in one line
    identity: list[FieldDifference] = Field(default_factory=list)
    gates: list[GateDifference] = Field(default_factory=list)
    outputs: list[OutputDifference] = Field(default_factory=list)
    # Where the differing outputs concentrate: per segment, those with a difference first.
    by_segment: list[SegmentDifference] = Field(default_factory=list)
    # What the comparison rests on, in words (every face shows it).
    verified: str = ""

    @property
    def exit_code(self) -> int:
        """The one rule (core/outcome.py) over what kept a side unreadable: different
        worlds are 1, a side that could not be read is coded by its findings."""
        if self.result == "DIFFERENT":
            return EXIT_FAIL
        return exit_code(self.result != "IDENTICAL", [f for s in (self.a, self.b)
                                                      for f in s.blocking])


def diff_packs(pack_a: str | OpenedPack, pack_b: str | OpenedPack, ask: DiffAsk | None = None,
               *, engine: EngineOptions = DEFAULT_ENGINE, progress: Progress = no_progress,
               cancel: threading.Event | None = None) -> DiffReport:
    """Compare two worlds level by level (see :class:`DiffAsk`). By default both sides'
    bytes are re-hashed by their checks (a sealed side against its content index, an
    unsealed one against the engine's evidence), so "identical" rests on bytes read now."""
    ask = ask or DiffAsk()
    output_ids, examples = ask.output_ids, ask.examples
    packs = (opened(pack_a), opened(pack_b))
    reports = tuple(_checked(p, ask, cancel) for p in packs)
    ids = list(output_ids or sorted({o.output_id for r in reports for o in r.outputs
                                     if o.part_keys()}))
    steps = len(ids) + 2  # the two checks, each output, the rows
    progress(1, steps)
    sides = tuple(_side(r, ids, whole=not output_ids) for r in reports)
    if not (sides[0].readable and sides[1].readable):
        which = [n for n, s in zip("AB", sides, strict=True) if not s.readable]
        first = next(f for s in sides for f in s.blocking)
        return DiffReport(a=sides[0], b=sides[1], result="UNREADABLE",
                          summary=f"not compared: {' and '.join(which)} not readable "
                                  f"({first.code} {first.subject}: {first.detail})",
                          verified=_verified(reports))
    report = DiffReport(a=sides[0], b=sides[1], result="IDENTICAL", summary="",
                        identity=_identity(reports), gates=_gates(reports),
                        verified=_verified(reports))
    same_world = not any(d.field.startswith("world_key.") for d in report.identity)
    parts_of: dict[str, tuple[_Parts, _Parts]] = {}
    for i, oid in enumerate(ids):
        check_cancel(cancel)
        found = [_output_of(r, oid) for r in reports]
        parts_of[oid] = (_Parts(packs[0], found[0], cancel), _Parts(packs[1], found[1], cancel))
        report.outputs.append(_compare(oid, parts_of[oid]))
        progress(1 + i + 1, steps)
    for out in report.outputs:
        if out.state != "different":
            continue
        if same_world or output_ids:
            out.rows_diff = _rows(packs, parts_of[out.output_id], out.output_id, same_world,
                                  examples, engine, cancel)
        else:
            out.note = ("rows not compared: the worlds differ in identity; name the output "
                        "with --output-id to compare its rows")
    progress(steps, steps)
    report.by_segment = _by_segment(packs[0], packs[1], report.outputs)
    report.result, report.summary = _verdict(report, same_world)
    return report


def _checked(pack: OpenedPack, ask: DiffAsk, cancel: threading.Event | None) -> CheckReport:
    """A side's check. Re-hashed by default; with ``quick``, a side is compared by its
    content index only when seal, binding and content index all checked (fully sealed);
    any other side is checked again with its bytes re-hashed (against the engine's
    evidence when unsealed), so a digest nobody proved is never compared."""
    report = run_check(pack, output_ids=ask.output_ids, verify_digests=not ask.quick,
                       cancel=cancel)
    if ask.quick and not fully_sealed(report):
        report = run_check(pack, output_ids=ask.output_ids, verify_digests=True,
                           cancel=cancel)
    return report


# Findings that say a seal's chain (seal, manifest, binding, content index) did not hold.
_SEAL_CHAIN_CODES = frozenset({
    "PACK_MANIFEST_MISSING", "PACK_MANIFEST_INVALID", "PACK_SEAL_INVALID", "SEAL_MISMATCH",
    "MANIFEST_MISMATCH", "SEAL_BINDING_MISSING", "SEAL_BINDING_INVALID",
    "CONTENT_DIGEST_MISSING", "CONTENT_INDEX_INVALID", "PACK_LAYOUT_OUTDATED"})


def fully_sealed(report: CheckReport) -> bool:
    """Seal, binding and content index all present and checked, nothing said against them:
    only then does the content index speak for the bytes."""
    seal = report.seal
    if seal.lifecycle != "SEALED_OK" or seal.binding is None or seal.manifest is None:
        return False
    if seal.content_index_files is None:
        return False
    return not any(f.code in _SEAL_CHAIN_CODES or f.subject == SEAL_BINDING
                   for f in report.findings)


def _verified(reports: tuple[CheckReport, ...]) -> str:
    """What the comparison rests on, in words (every face shows it), side by side when the
    two sides were not proven the same way (one not read at all, one sealed)."""
    said = [_proof_of(r) for r in reports]
    if said[0] == said[1] and all(r.judged for r in reports) and \
            all(r.digests_rehashed for r in reports):
        return "both sides' " + said[0]
    if all(r.judged for r in reports) and not any(r.digests_rehashed for r in reports):
        return (f"{QUICK_NOTE}: a fully sealed side compared by its content index (seal, "
                "binding and sizes checked); any other side re-hashed against the engine's "
                "evidence")
    return "; ".join(f"{name}: {text}" for name, text in zip("AB", said, strict=True))


def _proof_of(report: CheckReport) -> str:
    """How one side's bytes were proven, or that they were not read."""
    if not report.judged:
        return report.verified or "nothing read"
    if not report.digests_rehashed:
        return QUICK_NOTE
    against = "its content index" if report.seal.lifecycle == "SEALED_OK" else \
        "the engine's evidence"
    return f"bytes re-hashed now against {against}"


def _side(report: CheckReport, output_ids: list[str], whole: bool) -> SideState:
    """Whether a side may be compared: the whole pack readable (every FAIL of its check
    blocks), or, for named outputs (``whole`` False), each of them that it has."""
    blocking: dict[tuple[str, str], Finding] = {}
    if whole or report.world_key is None:
        for f in report.findings:
            if f.severity.value == "FAIL":
                blocking.setdefault((f.code, f.subject), f)
    present = {o.output_id for o in report.outputs if o._files}
    for oid in output_ids:
        if oid not in present:
            continue  # no files on this side: an output difference, not a refusal
        for f in decide(report, oid).blocking:
            blocking.setdefault((f.code, f.subject), f)
    return SideState(root=report.root, verdict=report.verdict,
                     lifecycle=report.seal.lifecycle, readable=not blocking,
                     blocking=list(blocking.values())[:MAX_BLOCKING])


def _identity(reports: tuple[CheckReport, ...]) -> list[FieldDifference]:
    def fields(report: CheckReport) -> dict[str, Any]:
        wk = report.world_key.model_dump() if report.world_key else {}
        # The fields an operator tells worlds apart by come first.
        wk = {k: wk.get(k) for k in ("seed", "scenario_id", "manifest_fingerprint",
                                     "parameter_hash")}
        receipt, manifest = report.run_receipt or {}, report.seal.manifest or {}
        return {
            **{f"world_key.{k}": v for k, v in wk.items()},
            "run_id": receipt.get("run_id"),
            "engine_release": manifest.get("engine_release", receipt.get("engine_release")),
            "oracle_pack_id": report.seal.oracle_pack_id,
            "lifecycle": report.seal.lifecycle,
            "catalogue_digest": manifest.get("catalogue_digest"),
            "gate_map_digest": manifest.get("gate_map_digest"),
            "interface_pack": report.interface_pack,
        }

    a, b = fields(reports[0]), fields(reports[1])
    return [FieldDifference(field=k, a=a[k], b=b[k]) for k in a if a[k] != b[k]]


def _gates(reports: tuple[CheckReport, ...]) -> list[GateDifference]:
    a = {g.gate_id: g for g in reports[0].gates}
    b = {g.gate_id: g for g in reports[1].gates}
    out = []
    for gid in sorted(set(a) | set(b)):
        ga, gb = a.get(gid), b.get(gid)
        pair = GateDifference(gate_id=gid, a_status=ga.status if ga else None,
                              b_status=gb.status if gb else None,
                              a_digest=ga.recomputed_digest if ga else None,
                              b_digest=gb.recomputed_digest if gb else None)
        if (pair.a_status, pair.a_digest) != (pair.b_status, pair.b_digest):
            out.append(pair)
    return out


class _Parts:
    """One side of an output: its parts by name (relative to the output's folder), their
    digests, footers, and where the digests came from."""

    def __init__(self, pack: OpenedPack, out: OutputResult | None,
                 cancel: threading.Event | None) -> None:
        self.bytes = out.bytes if out is not None else 0
        self.keys: dict[str, str] = {}  # part name → key
        self.digests: dict[str, str] = {}
        self.footers: dict[str, Footer] = {}
        self.source = "absent"
        self.out = out  # as the side's check found it: its parts' stated digests
        if out is None or not out._files:
            return
        folder = out.path.rsplit("/", 1)[0] + "/"
        files = sorted(out._files)
        self.keys = {k[len(folder):] if k.startswith(folder) else k: k for k in files}
        sources = set()
        for name, key in self.keys.items():
            digest, source = _stated_digest(out, key)
            if digest is None:
                check_cancel(cancel)
                _, digest = hash_object(pack.store, key, cancel)
                source = "hashed here"
            self.digests[name] = digest
            sources.add(source)
        self.source = " + ".join(sorted(sources))
        for key, footer in read_footers(pack.store, files, cancel=cancel).items():
            if isinstance(footer, OracleError):
                raise footer
            self.footers[key] = footer

    def rows(self) -> int:
        return sum(f.num_rows for f in self.footers.values())

    def schema(self) -> str:
        texts = sorted({schema_text(f.schema) for f in self.footers.values()})
        return " | ".join(texts)

    def columns(self) -> list[str]:
        first = next(iter(self.footers.values()), None)
        return [] if first is None else list(first.schema.names)


def _stated_digest(out: OutputResult, key: str) -> tuple[str | None, str]:
    """A part's sha256 as the pack states it, and where: sealed, evidence, instance proof."""
    if key in out._sealed:
        return out._sealed[key], "sealed content index"
    for source, where in ((out._evidence, "engine evidence"), (out._pinned, "instance proof")):
        digest = getattr(source.get(key), "sha256", None)
        if isinstance(digest, str):
            return digest, where
    return None, "hashed here"


def _by_segment(a: OpenedPack, b: OpenedPack, outputs: list[OutputDifference]
                ) -> list[SegmentDifference]:
    counts: dict[str, list[int]] = {}
    for out in outputs:
        spec = a.interface_pack.outputs.get(out.output_id) or \
            b.interface_pack.outputs.get(out.output_id)
        seen = counts.setdefault((spec.owner_segment if spec else "") or "unknown", [0, 0])
        seen[0] += 1
        seen[1] += out.state != "identical"
    return [SegmentDifference(segment=s, outputs=n, differing=d)
            for s, (n, d) in sorted(counts.items(), key=lambda kv: (-kv[1][1], kv[0]))]


def segment_lines(report: DiffReport) -> list[str]:
    """Where the differing outputs are, per segment, as every face shows it (bars against
    the segment with most); nothing when no output differs."""
    if not any(s.differing for s in report.by_segment):
        return []
    width = max(len(s.segment) for s in report.by_segment)
    # A bar is the share of the segment's outputs that differ: full when all of them do.
    return ["where outputs differ (per engine segment):"] + [
        f"  {s.segment:<{width}}  {hbar(s.differing, s.outputs, 16):<16}  {s.differing} of "
        f"{s.outputs} output{'s' if s.outputs != 1 else ''}" for s in report.by_segment]


def _output_of(report: CheckReport, output_id: str) -> OutputResult | None:
    return next((o for o in report.outputs if o.output_id == output_id), None)


def _compare(output_id: str, sides: tuple[_Parts, _Parts]) -> OutputDifference:
    a, b = sides
    names = sorted(set(a.digests) | set(b.digests))
    differing = [n for n in names if a.digests.get(n) != b.digests.get(n)]
    schemas = (a.schema(), b.schema())
    state: Literal["identical", "different", "only_in_a", "only_in_b"]
    note = None
    if not a.keys and not b.keys:  # named with --output-id, and on neither side
        state, note = "identical", "absent on both sides"
    elif not b.keys:
        state = "only_in_a"
    elif not a.keys:
        state = "only_in_b"
    else:
        state = "different" if differing else "identical"
    return OutputDifference(
        output_id=output_id, state=state, parts=(len(a.keys), len(b.keys)),
        bytes=(a.bytes, b.bytes), rows=(a.rows(), b.rows()),
        schema_equal=schemas[0] == schemas[1],
        schemas=None if schemas[0] == schemas[1] else schemas,
        parts_differing=differing, digests_from=(a.source, b.source), note=note)


def _rows(packs: tuple[OpenedPack, ...], sides: tuple[_Parts, _Parts], output_id: str,
          same_world: bool, examples: int, engine: EngineOptions,
          cancel: threading.Event | None) -> RowDifference:
    """The row-level difference of one output (both sides present, digests differ)."""
    common = [c for c in sides[0].columns() if c in set(sides[1].columns())]
    if not same_world:
        common = [c for c in common if c not in WORLD_COLUMNS]
    spec = packs[0].interface_pack.outputs.get(output_id)
    key = [c for c in (spec.primary_key if spec else []) if c in common] or common
    # The rows compared come from copies made while hashing each part and held to the digests
    # the side states: never from the files reopened by name after the check hashed them.
    copies = copies_folder(engine.temp_dir)
    try:
        uris = tuple(_proven(p, s, copies / side, cancel)
                     for p, s, side in zip(packs, sides, "ab", strict=True))
        allowed = engine.budget()
        con = connect(stores=[], memory_limit=allowed.engine_limit, temp_dir=engine.temp_dir,
                      threads=allowed.threads)
        try:
            return diff_rows(con, (uris[0], uris[1]), key, common, examples, cancel,
                             _time_column(packs[0], output_id, common))
        except duckdb.Error as exc:
            raise duck_error(exc, engine.memory_limit) from exc
        finally:
            close_connection(con)
    finally:
        shutil.rmtree(copies, ignore_errors=True)


def _time_column(pack: OpenedPack, output_id: str, columns: list[str]) -> str | None:
    """The column the differing rows are placed in time by: the output's stream sort key
    where it has one, else ts_utc, when the output has that column."""
    spec = pack.interface_pack.outputs.get(output_id)
    first = sort_keys_for(pack.profile, pack.interface_pack, output_id)[0] if spec else "ts_utc"
    return first if first in columns else None


def _proven(pack: OpenedPack, side: _Parts, folder: Path, cancel: threading.Event | None
            ) -> list[str]:
    """The side's parts of one output as proven local copies, in the order compared."""
    assert side.out is not None
    copies = dict(zip(side.out._files, stage_proven_parts(pack.store, side.out, folder,
                                                          door="diff", cancel=cancel),
                      strict=True))
    return [str(copies[k]) for k in side.keys.values()]


def _verdict(report: DiffReport, same_world: bool) -> tuple[
        Literal["IDENTICAL", "DIFFERENT", "UNREADABLE"], str]:
    outputs = report.outputs
    changed = [o for o in outputs if o.state != "identical"]
    if not (report.identity or report.gates or changed):
        parts = sum(o.parts[0] for o in outputs)
        how = ("identical by content index (bytes not re-hashed)"
               if report.verified.startswith(QUICK_NOTE) else "identical")
        return "IDENTICAL", (f"{how}: same world key, {len(report.gates) or 'all'} gates "
                             f"alike, {len(outputs)} output(s) and {parts} part(s) with the "
                             "same content digests")
    lead = "same world key"
    if not same_world:
        d = report.identity[0]
        lead = f"identity differs first: {d.field} {_short(d.a)} vs {_short(d.b)}"
    if changed:  # a determinism audit names the first output that is not the same
        o = changed[0]
        detail = (f"output {o.output_id} is {state_words(o.state)}"
                  if o.state != "different" else
                  f"output {o.output_id} differs ({len(o.parts_differing)} part(s)"
                  + (f"; rows: {_rows_text(o.rows_diff)}" if o.rows_diff else "") + ")")
    elif report.gates:
        g = report.gates[0]
        detail = (f"gate {g.gate_id} differs: {g.a_status} {_short(g.a_digest)} vs "
                  f"{g.b_status} {_short(g.b_digest)}")
    else:
        d = report.identity[0]
        detail = f"{d.field} {_short(d.a)} vs {_short(d.b)}"
    first = f"{lead}, but {detail}" if same_world else f"{lead}; first {detail}"
    return "DIFFERENT", f"NOT identical: {first}"


def _rows_text(rows: RowDifference) -> str:
    return (f"{rows.changed:,} changed, {rows.only_in_a:,} only in A, {rows.only_in_b:,} only "
            "in B")


def state_words(state: str) -> str:
    """An output's state as every face says it: "only in A", not "only in a"."""
    return {"only_in_a": "only in A", "only_in_b": "only in B"}.get(state, state)


def rows_lines(rows: RowDifference) -> list[str]:
    """An output's row level in words, as every face shows it: the counts, then each
    differing row (changed ones with the columns that differ, side by side)."""
    lines = [f"rows: {_rows_text(rows)} (key {', '.join(rows.key_columns)}; "
             f"{rows.segments_differing:,} of {rows.segments:,} key-hash buckets differ)"]
    lines += when_lines(rows)
    # Key columns with one value in every example (seed, fingerprint, scenario) said once,
    # so each row's line names what tells it apart.
    same = {k: v for k, v in (rows.examples[0].key.items() if len(rows.examples) > 1 else ())
            if all(ex.key.get(k) == v for ex in rows.examples)}
    if same:
        lines.append("  in every row below: " + " ".join(f"{k}={v}" for k, v in same.items()))
    for ex in rows.examples:
        key = " ".join(f"{k}={v}" for k, v in ex.key.items() if k not in same)
        if ex.only_in is not None:
            lines.append(f"  only in {ex.only_in.upper()}: {key}")
        elif ex.a is not None and ex.b is not None:
            lines.append(f"  changed {key}: " + "; ".join(
                f"{c} {ex.a[c]!r} | {ex.b[c]!r}" for c in ex.columns))
    return lines


WHEN_SHOWN = 14  # days (or months) listed; the busiest, in time order


def when_lines(rows: RowDifference) -> list[str]:
    """Where the differing rows lie in time: one bar a day (the busiest WHEN_SHOWN, in time
    order, the rest counted), each with what kind of difference it holds."""
    if not rows.by_time or rows.time_column is None:
        return []
    shown = sorted(sorted(rows.by_time, key=lambda w: -w.rows)[:WHEN_SHOWN],
                   key=lambda w: (w.when is None, w.when or ""))
    top = max(w.rows for w in shown)
    lines = [f"  where in time (per {rows.time_unit} of {rows.time_column}):"]
    for w in shown:
        kinds = ", ".join(f"{n:,} {word}" for n, word in ((w.changed, "changed"),
                                                        (w.only_in_a, "only in A"),
                                                        (w.only_in_b, "only in B")) if n)
        lines.append(f"    {w.when or 'no time':<10}  {hbar(w.rows, top, 16):<16}  "
                     f"{w.rows:,} ({kinds})")
    hidden = [w for w in rows.by_time if w not in shown]
    if hidden:
        lines.append(f"    … {len(hidden)} more {rows.time_unit}s with "
                     f"{sum(w.rows for w in hidden):,} rows")
    return lines


def _short(value: Any) -> str:
    text = str(value)
    return text if len(text) <= 20 else text[:16] + "…"
