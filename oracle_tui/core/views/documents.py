"""Stream-view receipts and their cheap validation (no DuckDB, no Arrow).

What `check` needs to report a view's state, kept apart from the builder so that checking a
pack never pays for importing the sort engine.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from oracle_tui.core.codes import Severity
from oracle_tui.core.errors import OracleError
from oracle_tui.core.findings import Finding, make_finding
from oracle_tui.core.hashing import hash_object, sha256_bytes
from oracle_tui.core.jsonio import read_json
from oracle_tui.core.listing import Listing
from oracle_tui.core.outcome import exit_code
from oracle_tui.core.parquet_footer import schema_text
from oracle_tui.core.storage.base import TEMP_RE, ObjectInfo, Store
from oracle_tui.core.timeline import RowsOverTime
from oracle_tui.core.timeline import problems as timeline_problems
from oracle_tui.core.view_location import sort_keys_for, view_prefix

if TYPE_CHECKING:
    from oracle_tui.core.pack import OpenedPack

RECEIPT = "_stream_sort_receipt.json"
MANIFEST = "_stream_view_manifest.json"
RECEIPT_SCHEMA = "oracle-tui.stream-sort-receipt/1"  # our extension inside the receipt
MANIFEST_EXT_SCHEMA = "oracle-tui.stream-view-manifest/1"
TIE_BREAK = ["filename", "file_row_number"]
PARTITION_GRANULARITY = "flat"  # one folder of globally ordered parts per output


class Stats(BaseModel):
    model_config = ConfigDict(extra="forbid")

    row_count: int
    min_ts: str | None
    max_ts: str | None
    hash_sum: str
    hash_sum_salted: str


class PartEntry(BaseModel):
    model_config = ConfigDict(extra="forbid")

    path: str
    size: int
    sha256: str
    row_count: int


class HashInfo(BaseModel):
    model_config = ConfigDict(extra="forbid")

    function: str
    engine: Literal["duckdb"]
    engine_version: str


class Receipt(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    schema_version: Literal["oracle-tui.stream-sort-receipt/1"] = Field(alias="schema")
    output_id: str
    sort_keys: list[str]
    partitioning: dict[str, Any]
    source_locator_digest: str
    source_parts: int
    source: Stats
    view: Stats
    hash: HashInfo
    parts: list[PartEntry]
    built_at_utc: str
    # How the platform's raw_stats were taken (None in receipts of oracle-tui 0.1, whose
    # raw_stats/sorted_stats were its own sums): "build scan" (the platform reads the same
    # values) or "platform scan" (its read of the partition folders differs; a scan of its
    # own).
    platform_stats_from: str | None = None
    # How the build ran: its memory limit and the threads that limit carried.
    run: dict[str, Any] | None = None
    # The view's rows per hour or day of its first key (core/timeline.py); None in receipts
    # of earlier versions, for a key that is no instant, or a range too wide to draw.
    rows_over_time: RowsOverTime | None = None


class PlatformStats(BaseModel):
    """The platform's stats block (raw_stats / sorted_stats): its sorter's own quantities,
    computed its way (range_sort.RawStats.platform, view_plan.platform_source_stats)."""

    model_config = ConfigDict(extra="forbid", strict=True)

    row_count: int
    hash_sum: str
    hash_sum2: str
    min_ts_utc: str | None
    max_ts_utc: str | None


class UpstreamReceipt(BaseModel):
    """`_stream_sort_receipt.json` as the platform's stream sorter writes it, with oracle-tui's
    own receipt (parts, digests, engine, boundaries) under ``extensions.oracle_tui``."""

    model_config = ConfigDict(extra="forbid", strict=True)

    stream_view_id: str
    engine_run_root: str
    stream_view_root: str
    output_id: str
    output_ids: list[str]
    sort_keys: list[str]
    partition_granularity: str
    source_locator_digest: str
    raw_stats: PlatformStats
    sorted_stats: PlatformStats
    created_utc: str
    status: str
    extensions: dict[str, Any]


class ViewManifest(BaseModel):
    """`_stream_view_manifest.json`: what the platform's producer checks before it streams."""

    model_config = ConfigDict(extra="forbid", strict=True)

    stream_view_id: str
    engine_run_root: str
    stream_view_root: str
    engine_run_id: str
    scenario_id: str
    output_id: str
    world_key: dict[str, Any]
    output_ids: list[str]
    sort_keys: list[str]
    partition_granularity: str
    created_utc: str
    extensions: dict[str, Any] = Field(default_factory=dict)


def stream_view_id(engine_run_root: str, scenario_id: str, output_id: str,
                   sort_keys: list[str], partition_granularity: str = PARTITION_GRANULARITY
                   ) -> str:
    """The platform's id of a view: sha256 of the canonical JSON of these five fields."""
    payload = {"engine_run_root": engine_run_root, "scenario_id": scenario_id,
               "output_id": output_id, "sort_keys": list(sort_keys),
               "partition_granularity": partition_granularity}
    text = json.dumps(payload, sort_keys=True, ensure_ascii=True, separators=(",", ":"))
    return sha256_bytes(text.encode("utf-8"))


def engine_run_root(store: Store) -> str:
    """How a root is named in a view's id: the absolute local path, or ``s3://bucket/prefix``,
    without a trailing slash. Wire the platform's producer with exactly this string."""
    return store.root_uri.rstrip("/")


class ViewState(BaseModel):
    output_id: str
    state: str  # MISSING | PARTIAL | INVALID | OUTDATED | VALID | BLOCKED | UNVERIFIED
    location: str
    receipt: dict[str, Any] | None = None  # oracle-tui's receipt (the extension)
    upstream: dict[str, Any] | None = None  # the platform's receipt fields
    manifest: dict[str, Any] | None = None  # the platform's view manifest
    findings: list[Finding] = Field(default_factory=list)
    # What this verification did not prove (set by verify; every face shows it).
    not_verified: str = ""

    @property
    def exit_code(self) -> int:
        """The one rule (core/outcome.py): 0 only for a VALID view."""
        return exit_code(self.state != "VALID", self.findings)


@dataclass(frozen=True)
class ViewExpect:
    """What a view of one output of this pack must say of itself: every field of its
    manifest and receipt is compared with these, so a view re-sorted by another key, built
    for another world or run, or copied from another root is never taken for this one's."""

    output_id: str
    source_keys: list[str]  # the output's parts, root-relative
    engine_run_root: str  # this root, as the platform names it (engine_run_root())
    view_root: str  # this view's folder, as written into the documents
    world_key: dict[str, Any]
    run_id: str
    sort_keys: list[str]  # the configured keys and the tie-break


def expect_view(pack: OpenedPack, output_id: str, world_key: dict[str, Any], run_id: str,
                source_keys: list[str]) -> ViewExpect:
    """What the view of ``output_id`` in ``pack`` must say of itself."""
    profile = pack.profile
    return ViewExpect(output_id=output_id, source_keys=source_keys,
                      engine_run_root=engine_run_root(pack.store),
                      view_root=pack.view_store().uri(view_prefix(profile, output_id))
                      .rstrip("/"),
                      world_key=world_key, run_id=run_id,
                      sort_keys=[*sort_keys_for(profile, pack.interface_pack, output_id),
                                 *TIE_BREAK])


def source_digest(keys: list[str]) -> str:
    """sha256 of the sorted source part locations, relative to the pack root (so a pack
    copied between disk and S3 keeps its receipts)."""
    return sha256_bytes("\n".join(sorted(keys)).encode("utf-8"))


# -- state and validation -----------------------------------------------------------------------

def read_view_state(store: Store, prefix: str, expect: ViewExpect,
                    view_objects: list[ObjectInfo] | None = None,
                    verify_digests: bool = False, location: str | None = None) -> ViewState:
    """Validation without DuckDB: receipt shape, parts present with their sizes (and, with
    ``verify_digests``, their sha256), source unchanged, every claim against ``expect``.
    What `check` reports (sizes only) and what a rebuild decides on (digests too)."""
    output_id, source_keys = expect.output_id, expect.source_keys
    objs = view_objects if view_objects is not None else list(store.list(prefix))
    location = location or store.uri(prefix)
    state = ViewState(output_id=output_id, state="MISSING", location=location)
    unreadable = sorted(o.key for o in objs if o.kind == "unreadable")
    if unreadable:
        # Not "no view": a folder or file of it that this user cannot read may hold one.
        state.state = "UNVERIFIED"
        state.findings.append(make_finding(
            "ACCESS_DENIED", output_id, f"this user cannot read {unreadable[0]} under "
                                        f"{location}: whether a view is there is not known"))
        return state
    # The folder itself, empty, holds no view: it is as absent as no folder.
    names = {o.key[len(prefix):]: o for o in objs if o.key != prefix}
    if RECEIPT not in names:
        if names:
            state.state = "PARTIAL"
            state.findings.append(make_finding(
                "STREAM_VIEW_PARTIAL_EXISTS", output_id,
                f"{len(names)} file(s) under {location} without {RECEIPT}"))
        return state
    try:
        upstream, receipt = _read_receipt(store, prefix + RECEIPT)
    except OracleError as exc:
        state.state = "OUTDATED" if exc.code == "STREAM_VIEW_OUTDATED" else "INVALID"
        state.findings.append(make_finding(exc.code, output_id, exc.message))
        return state
    state.receipt = receipt.model_dump(by_alias=True)
    state.upstream = upstream.model_dump(exclude={"extensions"})
    if receipt.platform_stats_from is None:
        state.findings.append(make_finding(
            "STREAM_VIEW_OUTDATED", output_id,
            "built by oracle-tui 0.1: its raw_stats/sorted_stats are oracle-tui's sums, not "
            "the platform sorter's quantities, so the platform's digests of them differ from "
            "a view built by its own sorter; the view itself is verified as it is. Rebuild it "
            "under a new stream_view_root for the platform's stats", Severity.WARN))
    problems = _receipt_problems(receipt, names, output_id, source_keys)
    moved = None
    if MANIFEST not in names:
        problems.append(f"{MANIFEST} is missing: the platform's producer refuses this view")
    else:
        try:
            manifest = _read_manifest(store, prefix + MANIFEST)
            state.manifest = manifest.model_dump()
            problems.extend(_upstream_problems(upstream, manifest, receipt, output_id))
            moved = _elsewhere(upstream, manifest, expect)
            if moved:  # its other claims are about the other root: one finding says why
                state.findings.append(make_finding("STREAM_VIEW_MOVED", output_id, moved))
            else:
                problems.extend(_claims_against(upstream, manifest, receipt, expect))
        except OracleError as exc:
            problems.append(exc.message)
    if verify_digests and not problems:
        for part in receipt.parts:
            _, digest = hash_object(store, prefix + part.path)
            if digest != part.sha256:
                problems.append(f"part {part.path} hashes to {digest}, receipt says "
                                f"{part.sha256}")
    state.state = "INVALID" if moved else "VALID"
    mark_invalid(state, problems)
    return state


def _read_receipt(store: Store, key: str) -> tuple[UpstreamReceipt, Receipt]:
    data, _ = read_json(store, key, "STREAM_RECEIPT_MISMATCH")
    if isinstance(data, dict) and data.get("schema") == RECEIPT_SCHEMA:
        raise OracleError("STREAM_VIEW_OUTDATED", f"{key} is in the layout of oracle-tui "
                                                  "before the platform's view manifest; the "
                                                  "producer refuses it. Rebuild under a new "
                                                  "stream_view_root or remove the view folder "
                                                  "by hand (nothing is rewritten)", key)
    try:
        upstream = UpstreamReceipt.model_validate(data)
        ours = upstream.extensions.get("oracle_tui")
        return upstream, Receipt.model_validate(ours)
    except ValidationError as exc:
        err = exc.errors()[0]
        where = ".".join(str(p) for p in err["loc"]) or "receipt"
        raise OracleError("STREAM_RECEIPT_MISMATCH", f"{key}: {where}: {err['msg']}", key
                          ) from exc


def _read_manifest(store: Store, key: str) -> ViewManifest:
    data, _ = read_json(store, key, "STREAM_RECEIPT_MISMATCH")
    try:
        return ViewManifest.model_validate(data)
    except ValidationError as exc:
        err = exc.errors()[0]
        where = ".".join(str(p) for p in err["loc"]) or "manifest"
        raise OracleError("STREAM_RECEIPT_MISMATCH", f"{key}: {where}: {err['msg']}", key
                          ) from exc


def _elsewhere(upstream: UpstreamReceipt, manifest: ViewManifest, expect: ViewExpect
               ) -> str | None:
    """Why the view was built for another root or folder (copied or moved here), if so."""
    for name, doc in (("manifest", manifest), ("receipt", upstream)):
        if doc.engine_run_root != expect.engine_run_root:
            return (f"the {name} was written for the root {doc.engine_run_root[:160]!r}, not "
                    f"{expect.engine_run_root[:160]!r}: the platform's producer wired with "
                    "this root refuses it (its stream_view_id differs)")
        if doc.stream_view_root.rstrip("/") != expect.view_root:
            return (f"the {name} was written for the folder {doc.stream_view_root[:160]!r}, "
                    f"not {expect.view_root[:160]!r}")
    return None


def _claims_against(upstream: UpstreamReceipt, manifest: ViewManifest, receipt: Receipt,
                    expect: ViewExpect) -> list[str]:
    """What the documents claim about this pack against what this pack is."""
    problems = []
    if receipt.sort_keys != expect.sort_keys:
        problems.append(f"sorted by {receipt.sort_keys}, but this output's sort key is "
                        f"{expect.sort_keys}")
    if manifest.world_key != expect.world_key or \
            manifest.scenario_id != expect.world_key.get("scenario_id"):
        problems.append("the manifest names another world key than this pack's")
    if manifest.engine_run_id != expect.run_id:
        problems.append(f"the manifest names engine run {manifest.engine_run_id[:40]!r}, this "
                        f"pack's is {expect.run_id}")
    wanted = stream_view_id(expect.engine_run_root, str(expect.world_key.get("scenario_id")),
                            expect.output_id, expect.sort_keys)
    if manifest.stream_view_id != wanted:
        problems.append("the manifest's stream_view_id is not this view's id")
    located = platform_source_digest(expect.engine_run_root, expect.source_keys)
    if upstream.source_locator_digest != located:
        problems.append("the receipt's source_locator_digest is not the digest of this "
                        "output's source parts")
    return problems


def platform_source_digest(root: str, keys: list[str]) -> str:
    """The platform's source_locator_digest: sha256 of the sorted full locations of the
    source parts (``ROOT/key``), joined by newlines."""
    return sha256_bytes("\n".join(sorted(f"{root}/{k}" for k in keys)).encode("utf-8"))


def _upstream_problems(upstream: UpstreamReceipt, manifest: ViewManifest, receipt: Receipt,
                       output_id: str) -> list[str]:
    """The platform's fields against themselves and against oracle-tui's own receipt."""
    problems = []
    if upstream.status != "OK":
        problems.append(f"receipt status is {upstream.status!r}, not 'OK'")
    expected = stream_view_id(manifest.engine_run_root, manifest.scenario_id,
                              manifest.output_id, manifest.sort_keys,
                              manifest.partition_granularity)
    if manifest.stream_view_id != expected:
        problems.append(f"manifest stream_view_id {manifest.stream_view_id[:16]}… is not the "
                        f"id of its own fields ({expected[:16]}…)")
    if upstream.stream_view_id != manifest.stream_view_id:
        problems.append("the receipt and the manifest name different stream_view_ids")
    for name, value in (("manifest", manifest.output_id), ("receipt", upstream.output_id)):
        if value != output_id:
            problems.append(f"the {name} is for output {value}, not {output_id}")
    if manifest.output_ids != [output_id] or upstream.output_ids != [output_id]:
        problems.append("output_ids must name exactly this output")
    if upstream.sort_keys != receipt.sort_keys or manifest.sort_keys != receipt.sort_keys:
        problems.append("sort_keys differ between the manifest, the receipt and its extension")
    if upstream.partition_granularity != PARTITION_GRANULARITY or \
            manifest.partition_granularity != PARTITION_GRANULARITY:
        problems.append(f"partition_granularity is not {PARTITION_GRANULARITY!r}")
    if upstream.raw_stats.row_count != receipt.source.row_count or \
            upstream.sorted_stats.row_count != receipt.view.row_count:
        problems.append("raw_stats/sorted_stats count other rows than the receipt's own stats")
    return problems


def _receipt_problems(receipt: Receipt, names: dict[str, ObjectInfo], output_id: str,
                      source_keys: list[str]) -> list[str]:
    problems = []
    if receipt.output_id != output_id:
        problems.append(f"receipt is for {receipt.output_id}")
    listed = {p.path: p for p in receipt.parts}
    present = {n: o for n, o in names.items() if n not in (RECEIPT, MANIFEST)}
    for name in sorted(set(listed) - set(present)):
        problems.append(f"part {name} is missing")
    for name in sorted(set(present) - set(listed)):
        problems.append(f"{name} is not in the receipt")
    for name in sorted(set(listed) & set(present)):
        if present[name].size != listed[name].size:
            problems.append(f"part {name} is {present[name].size} bytes, receipt says "
                            f"{listed[name].size}")
    if receipt.source_locator_digest != source_digest(source_keys):
        problems.append("the source parts differ from those the view was built from")
    if receipt.source.row_count != receipt.view.row_count or \
            receipt.source.hash_sum != receipt.view.hash_sum or \
            receipt.source.hash_sum_salted != receipt.view.hash_sum_salted:
        problems.append("the receipt's own source and view stats disagree")
    if sum(p.row_count for p in receipt.parts) != receipt.view.row_count:
        problems.append("part row counts do not add up to the view's")
    if receipt.rows_over_time is not None:
        problems.extend(timeline_problems(receipt.rows_over_time, receipt.view.row_count,
                                          receipt.view.min_ts, receipt.view.max_ts))
    return problems


def footer_problems(receipt: Receipt, view_footers: dict[str, Any],
                    source_footers: dict[str, Any]) -> list[str]:
    """What the Parquet footers contradict in a receipt: view and source row counts (a forger
    who drops a part and rewrites the stats to match still cannot change the sources), and
    each part's schema against the source's (names, types, nullability, order).
    ``*_footers`` map keys to a Footer or the OracleError reading it raised."""
    problems: list[str] = []
    broken = [(k, f) for k, f in (*view_footers.items(), *source_footers.items())
              if isinstance(f, OracleError)]
    for key, exc in broken:
        problems.append(f"{key}: {exc.message}")
    if broken:
        return problems
    source_rows = sum(f.num_rows for f in source_footers.values())
    if source_rows != receipt.source.row_count:
        problems.append(f"the source parts hold {source_rows} rows, the receipt says "
                        f"{receipt.source.row_count}")
    schema = next(iter(source_footers.values())).schema if source_footers else None
    by_name = {p.path: p for p in receipt.parts}
    view_rows = 0
    for key, footer in view_footers.items():
        part = by_name.get(key.rsplit("/", 1)[-1])
        view_rows += footer.num_rows
        if part is not None and footer.num_rows != part.row_count:
            problems.append(f"part {part.path} holds {footer.num_rows} rows, the receipt says "
                            f"{part.row_count}")
        if schema is not None and not footer.schema.equals(schema, check_metadata=False):
            problems.append(f"part {key.rsplit('/', 1)[-1]} has schema "
                            f"{schema_text(footer.schema)}, the source has "
                            f"{schema_text(schema)}")
    if view_rows != receipt.view.row_count:
        problems.append(f"the view parts hold {view_rows} rows, the receipt says "
                        f"{receipt.view.row_count}")
    return problems


def view_objects(listing: Listing, prefix: str) -> list[ObjectInfo]:
    """A view folder's files in ``listing``, less in-flight temp files (a build's own)."""
    return [o for o in listing.under(prefix) if not TEMP_RE.match(o.key.rsplit("/", 1)[-1])]


def stream_states_for_check(store: Store, prefix_of: dict[str, str],
                            expects: dict[str, ViewExpect], listing: Listing,
                            relative: bool, verify_digests: bool = False) -> list[ViewState]:
    """View states of several outputs from one listing (no extra LIST per output).
    ``relative``: the views live under the pack root, so locations are shown relative."""
    states = []
    for output_id, prefix in prefix_of.items():
        states.append(read_view_state(store, prefix, expects[output_id],
                                      view_objects(listing, prefix),
                                      verify_digests=verify_digests,
                                      location=prefix if relative else None))
    return states


def mark_invalid(state: ViewState, problems: list[str]) -> None:
    """Turn a view state INVALID with one STREAM_RECEIPT_MISMATCH finding per problem."""
    if not problems:
        return
    state.state = "INVALID"
    state.findings.extend(make_finding("STREAM_RECEIPT_MISMATCH", state.output_id, p)
                          for p in problems)
