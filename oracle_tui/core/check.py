"""`check`: prove a pack readable, or say exactly why not (docs/contract.md §4). Fails closed.

Every step runs under :func:`_step`, so an unexpected exception becomes an INTERNAL_ERROR
finding naming the step (a FAIL), never a traceback and never a PASS.
"""

from __future__ import annotations

import contextlib
import re
import threading
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from oracle_tui.core.codes import Retry, Severity, code_info
from oracle_tui.core.errors import OracleError
from oracle_tui.core.evidence import PartEvidence, collect_evidence, collect_instance_proofs
from oracle_tui.core.findings import Finding, finding_from_error, make_finding, sorted_findings
from oracle_tui.core.gates import GateResult, verify_gate
from oracle_tui.core.hashing import DEFAULT_THREADS, hash_objects, sha256_bytes
from oracle_tui.core.interface_pack import (
    InterfacePack,
    literal_prefix,
    render_template,
    template_regex,
)
from oracle_tui.core.jsonio import read_json
from oracle_tui.core.listing import Listing
from oracle_tui.core.pack import OpenedPack, opened
from oracle_tui.core.pack_files import (
    CONTENT_INDEX,
    MANIFEST,
    OLD_EXTENSION_KEY,
    PACK_CONTROL_FILES,
    SEAL,
    SEAL_BINDING,
    SEALED_FLAG,
    STREAM_VIEW_PREFIX,
    TOMBSTONE,
    ContentEntry,
    ContentIndex,
    Manifest,
    Seal,
    SealBinding,
    Tombstone,
    oracle_pack_id,
    read_model,
)
from oracle_tui.core.parquet_footer import Footer, read_footers, schema_text
from oracle_tui.core.paths import glob_reason, unsafe_reason
from oracle_tui.core.profiles import Profile
from oracle_tui.core.progress import Cancelled, Progress, check_cancel, no_progress
from oracle_tui.core.readability import VIEW_CODES, Owners, apply_readability, mark_blocks
from oracle_tui.core.report import (
    EXCEPT_PARTS,
    QUICK_NOTE,
    CheckReport,
    OutputResult,
    StreamViewSection,
    verdict_of,
)
from oracle_tui.core.storage import Store
from oracle_tui.core.storage.base import (
    EMPTY_FOLDER,
    PROBE_BODY,
    PROBE_KEY_RE,
    PROBE_PREFIX,
    TEMP_RE,
    ObjectInfo,
)
from oracle_tui.core.storage.prefetch import Prefetched
from oracle_tui.core.world import RunReceipt, WorldKey, resolve_world_key


@dataclass
class _Ctx:
    store: Store
    report: CheckReport
    interface_pack: InterfacePack  # the catalogue and gate map (not the sealed pack)
    profile: Profile
    opened: OpenedPack  # the root as this command opened it: one listing, one receipt
    findings: list[Finding] = field(default_factory=list)
    scenario_id: str | None = None  # asked for (given or wired); None: discovered
    strict: bool = False
    output_ids: Sequence[str] | None = None
    verify_digests: bool | str = False  # True, False or EXCEPT_PARTS
    threads: int = DEFAULT_THREADS
    progress: Progress = no_progress
    cancel: threading.Event | None = None
    present: list[str] = field(default_factory=list)  # content-index files found, to hash
    content: dict[str, ContentEntry] | None = None  # the content index's entries, when valid
    probes: list[str] = field(default_factory=list)  # conditional-write probes at the root
    # (size, sha256) of every file hashed during this check, so no file is hashed twice.
    hashed: dict[str, tuple[int, str]] = field(default_factory=dict)
    footers: dict[str, Footer | OracleError] = field(default_factory=dict)
    manifest: Manifest | None = None  # parsed and schema-valid, when the pack has one
    binding: SealBinding | None = None  # oracle-tui's seal binding, when valid and bound
    indexed: set[str] = field(default_factory=set)  # the paths the content index names
    sealed: dict[str, str] = field(default_factory=dict)  # their sha256, as sealed
    gate_results: dict[str, GateResult] = field(default_factory=dict)  # every gate, verified

    def footers_of(self, keys: list[str]) -> dict[str, Footer | OracleError]:
        """Parquet footers, read once per check whoever asks first."""
        todo = [k for k in keys if k not in self.footers]
        if todo:
            self.footers.update(read_footers(self.store, todo, threads=self.threads,
                                             cancel=self.cancel))
            check_cancel(self.cancel)
        return {k: self.footers[k] for k in keys}

    def hashes_of(self, keys: list[str], progress: Progress = no_progress
                  ) -> dict[str, tuple[int, str] | OracleError]:
        todo = [k for k in keys if k not in self.hashed]
        out: dict[str, tuple[int, str] | OracleError] = {}
        if todo:
            for key, res in hash_objects(self.store, todo, threads=self.threads,
                                         progress=progress, cancel=self.cancel).items():
                out[key] = res
                if not isinstance(res, OracleError):
                    self.hashed[key] = res
        out.update({k: self.hashed[k] for k in keys if k in self.hashed})
        return out

    def add(self, code: str, subject: str, detail: str, severity: Severity | None = None) -> None:
        self.findings.append(make_finding(code, subject, detail, severity))

    @contextlib.contextmanager
    def step(self, name: str) -> Iterator[None]:
        try:
            yield
        except OracleError as exc:
            self.findings.append(finding_from_error(exc, name))
        except Cancelled:
            raise
        except Exception as exc:
            self.report.steps_failed.append(name)
            self.add("INTERNAL_ERROR", name,
                     f"step '{name}' raised {type(exc).__name__}: {str(exc)[:200]}")


def run_check(
    pack: str | OpenedPack,
    *,
    strict_seal: bool | None = None,
    output_ids: Sequence[str] | None = None,
    verify_digests: bool | str = False,
    threads: int = DEFAULT_THREADS,
    progress: Progress = no_progress,
    cancel: threading.Event | None = None,
) -> CheckReport:
    """Check one explicitly given root (a ROOT opened with the local profile, or an
    :class:`OpenedPack`). Never raises OracleError: it becomes a finding.
    ``verify_digests``: True re-hashes every file the check proves (the default ``check``),
    False compares sizes, presence and footers only (``--quick``), EXCEPT_PARTS re-hashes
    all but the asked-for outputs' parts, which the calling door proves as it copies them
    (core/proven_parts.py)."""
    findings: list[Finding] = []
    opened_pack = opened(pack)
    profile = opened_pack.profile
    strict = profile.strict_seal if strict_seal is None else strict_seal
    report = CheckReport(root=opened_pack.root, profile=profile.name, strict_seal=strict)
    with contextlib.suppress(OracleError):  # named even when the root could not be opened
        report.interface_pack = opened_pack.interface_pack.source
    if opened_pack.error is not None:
        findings.append(finding_from_error(opened_pack.error, "setup"))
        report.judged = False
        return _finish(report, findings)
    ctx = _Ctx(store=opened_pack.store, report=report, interface_pack=opened_pack.interface_pack,
               profile=profile, opened=opened_pack, findings=findings,
               scenario_id=opened_pack.scenario_id, strict=strict, output_ids=output_ids,
               verify_digests=verify_digests, threads=threads, progress=progress, cancel=cancel)
    report.digests_rehashed = bool(verify_digests)
    _run_steps(ctx)
    return _finish(report, ctx.findings)


def _finish(report: CheckReport, findings: list[Finding]) -> CheckReport:
    report.findings = sorted_findings(findings)
    report.verdict = verdict_of(report.findings)
    apply_readability(report)
    mark_blocks(report)
    _block_views_of_blocked_outputs(report)
    report.verified = _verified_words(report)
    return report


def _block_views_of_blocked_outputs(report: CheckReport) -> None:
    """A view of an output that may not be read is BLOCKED, whatever its documents say: the
    state `stream-view verify` and the reader give it (a tombstoned pack's view is no VALID
    view). One whose output is blocked only by the view's own findings keeps its state."""
    outputs = {o.output_id: o for o in report.outputs}
    for view in report.stream_views:
        out = outputs.get(view.output_id)
        if out is not None and any(code not in VIEW_CODES for code in out.blocking):
            view.state = "BLOCKED"


def _verified_words(report: CheckReport) -> str:
    """What this check proved, in one line every face shows beside the verdict."""
    if not report.judged:
        first = next((f.code for f in report.findings), "INTERNAL_ERROR")
        return f"nothing: the root could not be opened or listed ({first})"
    if not report.gates and not report.outputs:
        # Stopped before the catalogue's outputs and gates (no run receipt, no world): the
        # listing and the pack's own documents were judged, nothing of the engine's.
        why = ("no readable run receipt" if report.run_receipt is None
               else "no world key" if report.world_key is None
               else "the catalogue names no output of it")
        head = f"the listing only; no gate or output was reached ({why})"
        if report.digests_rehashed and report.seal.files_hashed:
            return f"{head}; file contents re-hashed ({report.seal.files_hashed:,} sealed files)"
        return head
    recomputed = sum(1 for g in report.gates if g.recomputed_digest)
    gates = ("gates recomputed" if recomputed == len(report.gates)
             else f"{recomputed} of {len(report.gates)} gates recomputed")
    if report.digests_rehashed:
        hashed = report.seal.files_hashed
        if hashed:
            return f"{gates}; file contents re-hashed ({hashed:,} sealed files)"
        # Unsealed: only what the engine's evidence states a digest for can be re-hashed.
        bare = sorted({f.subject for f in report.findings if f.code == "OUTPUT_EVIDENCE_ABSENT"})
        if bare:
            return (f"{gates}; file contents re-hashed against the engine's evidence, except "
                    f"{len(bare)} output{'s' if len(bare) > 1 else ''} it states nothing for "
                    f"(presence only: {', '.join(bare[:5])}{', …' if len(bare) > 5 else ''})")
        return f"{gates}; file contents re-hashed against the engine's evidence"
    return f"{gates}; sizes, presence and footers compared, {QUICK_NOTE}"


def _run_steps(ctx: _Ctx) -> None:
    _judge_pack(ctx)
    # After the outputs are attributed (what to hash for --output-id), and whichever step
    # above stopped early: the content index's files are re-hashed whenever it was read.
    with ctx.step("content_digests"):
        _hash_content(ctx)


def _judge_pack(ctx: _Ctx) -> None:
    store, report = ctx.store, ctx.report
    with ctx.step("root"):
        try:
            exists = ctx.opened.root_exists()
        except OracleError:
            report.seal.lifecycle = "UNKNOWN"  # never read: no claim about its lifecycle
            report.judged = False
            raise
        if not exists:
            report.seal.lifecycle = "ABSENT"
            report.judged = False
            raise OracleError("PACK_NOT_FOUND", f"no pack at {store.root_uri}", store.root_uri)
    if ctx.findings:
        return
    listing: Listing | None = None
    with ctx.step("listing"):
        try:
            listing = ctx.opened.listing()
        except OracleError as exc:
            # Nothing could be listed: not "staging".
            report.seal.lifecycle = "ABSENT" if exc.code == "PACK_NOT_FOUND" else "UNKNOWN"
            report.judged = False
            raise
        report.files_listed = len(listing.objects)
        if not listing.objects:
            report.seal.lifecycle = "EMPTY"
        for obj in listing.objects:
            _judge_listed(ctx, obj)
        # Empty folders hold no bytes: judged above, then out of every later step's way.
        listing = Listing([o for o in listing.objects if o.kind != EMPTY_FOLDER])
        if store.remote:  # the root's documents in one round of requests (storage/prefetch)
            ctx.store = store = Prefetched(store)
            store.fetch([o for o in listing.objects if "/" not in o.key], ctx.threads,
                        ctx.cancel)
    if listing is None:
        return  # nothing below can be judged without the listing
    receipt: RunReceipt | None = None
    with ctx.step("run_receipt"):
        receipt = ctx.opened.run_receipt()
        report.run_receipt = receipt.model_dump()
    with ctx.step("lifecycle"):
        _check_lifecycle(ctx, listing)
    if receipt is None:
        return
    with ctx.step("world_key"):
        report.world_key = resolve_world_key(receipt, ctx.scenario_id, ctx.interface_pack,
                                             listing)
    if report.world_key is None:
        return
    with ctx.step("manifest_world_key"):
        manifest = ctx.manifest
        if manifest is not None and manifest.world_key != report.world_key:
            ctx.add("WORLD_KEY_MISMATCH", MANIFEST,
                    f"the manifest is for {_world_text(manifest.world_key)}, this check for "
                    f"{_world_text(report.world_key)}")
    sources: dict[str, list[str]] = {}
    with ctx.step("outputs_and_gates"):
        sources = _check_outputs_and_gates(ctx, listing, receipt)
    with ctx.step("attribution"):
        if ctx.content is None and report.seal.lifecycle in ("STAGING", "EMPTY"):
            _attribute_unsealed(ctx, listing, receipt)
    with ctx.step("manifest_fields"):
        if ctx.manifest is not None:
            _check_manifest_fields(ctx, ctx.manifest, ctx.binding, receipt)
    with ctx.step("stream_views"):
        _check_stream_views(ctx, listing, sources)


# Names at the root that only oracle-tui's or the platform's control files may have: a folder
# so named (empty or not) is where a file is expected.
ROOT_FILE_NAMES = frozenset((*PACK_CONTROL_FILES, SEALED_FLAG, "run_receipt.json"))
FILE_SUFFIXES = (".parquet", ".json", ".flag")


def _judge_listed(ctx: _Ctx, obj: ObjectInfo) -> None:
    """What the listing alone says of one entry: unreadable, not a regular file, a folder
    where a file is expected (named like a control file at the root, or like a part or a
    document anywhere), an empty folder elsewhere (noted)."""
    top, _, rest = obj.key.partition("/")
    if rest and top in ROOT_FILE_NAMES:
        ctx.add("PATH_UNSAFE", obj.key, f"a folder named {top} at the root, where only that "
                                        "control file may be")
    elif obj.kind == "unreadable":
        ctx.add("ACCESS_DENIED", obj.key, "this user cannot read it; nothing under the root "
                                          "is skipped")
    elif obj.kind == EMPTY_FOLDER:
        name = obj.key.rstrip("/").rsplit("/", 1)[-1]
        if name.endswith(FILE_SUFFIXES):
            ctx.add("PATH_UNSAFE", obj.key, "an empty folder named like a file, where a "
                                            "reader expects one")
        else:
            ctx.add("PATH_UNSAFE", obj.key, "an empty folder: it holds nothing and is no part "
                                            "of the pack", Severity.INFO)
    elif obj.kind != "file":
        ctx.add("PATH_UNSAFE", obj.key, f"{obj.kind} under the root is never followed")
    elif unsafe_reason(obj.key.rstrip("/")):
        # A name no engine writes (control characters, a backslash): a reader handed it
        # could print it raw or take it for another path.
        ctx.add("PATH_UNSAFE", obj.key, f"{unsafe_reason(obj.key)}: never followed")


def _world_text(wk: WorldKey) -> str:
    return (f"manifest_fingerprint={wk.manifest_fingerprint[:12]}… parameter_hash="
            f"{wk.parameter_hash[:12]}… scenario_id={wk.scenario_id} seed={wk.seed}")


def _check_manifest_fields(ctx: _Ctx, manifest: Manifest, binding: SealBinding | None,
                           receipt: RunReceipt) -> None:
    """Every field of the manifest (and of the seal binding) against what it claims to be
    derived from: a tamperer who re-chains the digests above an edited field still meets the
    field's own source."""
    def bad(detail: str) -> None:
        ctx.add("MANIFEST_MISMATCH", MANIFEST, detail)

    derived = oracle_pack_id(manifest.world_key, manifest.engine_release,
                             manifest.catalogue_digest, manifest.gate_map_digest)
    if manifest.oracle_pack_id != derived:
        bad(f"oracle_pack_id {manifest.oracle_pack_id} is not derived from the manifest's "
            f"world key, engine_release and digests ({derived})")
    if binding is not None and binding.run_id != receipt.run_id:
        ctx.add("SEAL_MISMATCH", SEAL_BINDING, f"run_id {binding.run_id} is not the run "
                                               f"receipt's {receipt.run_id}")
    if manifest.catalogue_digest != ctx.interface_pack.catalogue_digest:
        bad(f"sealed under catalogue {manifest.catalogue_digest[:16]}…, checked with "
            f"{ctx.interface_pack.catalogue_digest[:16]}… ({ctx.interface_pack.source}): use "
            "the interface pack it was sealed with")
    if manifest.gate_map_digest != ctx.interface_pack.gate_map_digest:
        bad(f"sealed under gate map {manifest.gate_map_digest[:16]}…, checked with "
            f"{ctx.interface_pack.gate_map_digest[:16]}… ({ctx.interface_pack.source}): use "
            "the interface pack it was sealed with")
    if binding is None:
        return
    sealed = binding.gates
    for gid in sorted(set(sealed) - set(ctx.interface_pack.gates)):
        ctx.add("SEAL_MISMATCH", SEAL_BINDING, f"records gate {gid}, which the gate map does "
                                               "not have")
    for gate in ctx.report.gates:
        if gate.status != "PASS":
            continue
        if gate.gate_id not in sealed:
            ctx.add("SEAL_MISMATCH", SEAL_BINDING, f"does not record gate {gate.gate_id}, "
                                                   "which PASSes")
        elif sealed[gate.gate_id] != gate.recomputed_digest:
            ctx.add("SEAL_MISMATCH", SEAL_BINDING, f"records {sealed[gate.gate_id]} for "
                                                   f"{gate.gate_id}, which recomputes to "
                                                   f"{gate.recomputed_digest}")


def _report_stray_view_files(ctx: _Ctx, listing: Listing) -> None:
    """Under the root's stream_view/, only the folders of catalogued, stream-eligible outputs
    hold views (and only when views live here); anything else is reported, never ignored."""
    from oracle_tui.core.view_location import is_stream_eligible, view_prefix

    here = not ctx.profile.wiring("stream_view_root")
    outputs = ctx.interface_pack.outputs.items()
    folders = tuple(view_prefix(ctx.profile, oid) for oid, spec in outputs
                    if here and is_stream_eligible(spec.path_template))
    for obj in listing.under(STREAM_VIEW_PREFIX):
        if TEMP_RE.match(obj.key.rsplit("/", 1)[-1]):
            ctx.add("UNEXPECTED_FILE", obj.key, "a temporary file of a view build that is "
                                                "running or was interrupted; the next build "
                                                "removes it", Severity.WARN)
        elif not folders or not obj.key.startswith(folders):
            ctx.add("UNEXPECTED_FILE", obj.key, "under stream_view/ but in no view's folder")


def _check_stream_views(ctx: _Ctx, listing: Listing, sources: dict[str, list[str]]) -> None:
    from oracle_tui.core.view_location import is_stream_eligible, view_prefix
    from oracle_tui.core.views.documents import (
        Receipt,
        expect_view,
        footer_problems,
        mark_invalid,
        stream_states_for_check,
    )

    _report_stray_view_files(ctx, listing)
    eligible = {oid: keys for oid, keys in sources.items()
                if is_stream_eligible(ctx.interface_pack.outputs[oid].path_template)}
    if not eligible:
        return
    views = ctx.opened.view_store()
    prefixes = {oid: view_prefix(ctx.profile, oid) for oid in eligible}
    same_store = views is ctx.opened.store
    view_listing = listing if same_store else Listing(list(views.list("ts_utc/")))
    assert ctx.report.world_key is not None and ctx.report.run_receipt is not None
    wk, run_id = ctx.report.world_key.model_dump(), str(ctx.report.run_receipt["run_id"])
    expects = {oid: expect_view(ctx.opened, oid, wk, run_id, keys)
               for oid, keys in eligible.items()}
    for state in stream_states_for_check(views, prefixes, expects, view_listing, same_store,
                                         bool(ctx.verify_digests)):
        if state.state == "VALID" and state.receipt is not None:
            receipt = Receipt.model_validate(state.receipt)
            view_keys = [prefixes[state.output_id] + p.path for p in receipt.parts]
            view_footers = (ctx.footers_of(view_keys) if same_store else
                            read_footers(views, view_keys, threads=ctx.threads,
                                         code="STREAM_RECEIPT_MISMATCH", cancel=ctx.cancel))
            source_footers = ctx.footers_of(eligible[state.output_id])
            unread = _unread(view_footers) + _unread(source_footers)
            if unread:
                # The store did not answer (throttled, timed out, refused): that is what is
                # reported, with its own code and retry class, not a receipt mismatch.
                state.state = "UNVERIFIED"
                state.findings.extend(finding_from_error(exc, key) for key, exc in unread)
            else:
                mark_invalid(state, footer_problems(receipt, view_footers, source_footers))
        if state.state == "MISSING":
            ctx.add("STREAM_VIEW_MISSING", state.output_id, f"no stream view at {state.location}",
                    ctx.profile.policy.stream_view_missing)
        ctx.findings.extend(state.findings)
        ctx.report.stream_views.append(StreamViewSection(
            output_id=state.output_id, state=state.state, location=state.location,
            receipt=state.receipt, upstream=state.upstream, manifest=state.manifest))


def _unread(footers: dict[str, Footer | OracleError]) -> list[tuple[str, OracleError]]:
    """The footers that could not be read for a reason that says nothing of their bytes."""
    return [(key, f) for key, f in sorted(footers.items()) if isinstance(f, OracleError)
            and (code_info(f.code).retry is Retry.RETRYABLE or f.code == "ACCESS_DENIED")]


def _prefetch_gates(ctx: _Ctx, listing: Listing, world_key: WorldKey) -> None:
    """On a remote store, every gate's flag, index and bundle members in one round of
    requests: the gates then verify from memory instead of a round trip per member."""
    if not isinstance(ctx.store, Prefetched):
        return
    values = world_key.tokens()
    roots: list[str] = []
    named: set[str] = set()
    for spec in ctx.interface_pack.gates.values():
        try:
            roots.append(render_template(spec.bundle_root_template, values).rstrip("/") + "/")
            named.add(render_template(spec.passed_flag_path_template, values))
            named.add(render_template(spec.index_path_template, values))
        except OracleError:
            continue  # verify_gate reports it
    ctx.store.fetch([o for o in listing.objects
                     if o.key in named or o.key.startswith(tuple(roots))], ctx.threads,
                    ctx.cancel)


def _check_outputs_and_gates(ctx: _Ctx, listing: Listing, receipt: RunReceipt
                             ) -> dict[str, list[str]]:
    """Verify the gates the selected outputs need; returns each present output's part keys."""
    output_ids, cancel = ctx.output_ids, ctx.cancel
    catalogue, report = ctx.interface_pack, ctx.report
    assert report.world_key is not None
    tokens = report.world_key.tokens(receipt.run_id)
    selected: list[str] = []
    for oid in (output_ids or sorted(catalogue.outputs)):
        if oid not in catalogue.outputs:
            ctx.add("OUTPUT_UNKNOWN", oid, f"{oid} is not in the catalogue ({catalogue.source})")
        elif oid not in selected:
            selected.append(oid)
    needed = set(catalogue.gate_closure(g for oid in selected
                                   for g in catalogue.outputs[oid].read_requires_gates))
    results: dict[str, GateResult] = {}
    sources: dict[str, list[str]] = {}
    # Every gate is verified whichever outputs were asked for: evidence that any PASSing gate
    # states about an asked-for output's parts counts, so the decision for an output does
    # not depend on the others asked with it. Only the closure of the asked-for outputs is
    # reported (a failing gate none of them needs is another output's business).
    _prefetch_gates(ctx, listing, report.world_key)
    for gid in sorted(catalogue.gates):
        spec = catalogue.gates[gid]
        with ctx.step(f"gate {gid}"):
            results[gid] = verify_gate(ctx.store, spec, report.world_key, listing, cancel)
            ctx.gate_results[gid] = results[gid]
            if gid in needed:
                ctx.findings.extend(results[gid].findings)
                report.gates.append(results[gid])
                report.gate_receipts.append(results[gid].receipt(report.world_key))
    outs: dict[str, OutputResult] = {}
    for oid in selected:
        spec_o = catalogue.outputs[oid]
        rendered = render_template(spec_o.path_template, tokens)
        files = listing.match(rendered)
        closure = catalogue.gate_closure(spec_o.read_requires_gates)
        blocked = [g for g in closure if g not in results or results[g].status != "PASS"]
        out = OutputResult(output_id=oid, path=rendered, parts=len(files),
                           bytes=sum(f.size for f in files), required_gates=closure,
                           blocked_by=blocked)
        out._files = [f.key for f in files]
        out._sealed = {k: ctx.sealed[k] for k in out._files if k in ctx.sealed}
        outs[oid] = out
        for f in files:
            if glob_reason(f.key):
                # Only here does a name meet a pattern: the platform reads an output by its
                # template's glob, and a part's name handed on as a pattern would match
                # others (elsewhere under the root a name is data).
                ctx.add("PATH_UNSAFE", f.key, f"{glob_reason(f.key)} in a part's name: a "
                                              "pattern-reading consumer could read other "
                                              "files through it")
        if not files:
            out.status = "MISSING"
            ctx.add("OUTPUT_MISSING", oid, f"no files match {rendered}")
        for g in blocked:
            why = "not in the gate map" if g not in catalogue.gates else "did not PASS"
            ctx.add("REQUIRED_GATE_NOT_PASS", oid, f"requires {g}, which {why}")
        report.outputs.append(out)
        if files:
            sources[oid] = [f.key for f in files]
    with ctx.step("output_evidence"):
        _check_output_evidence(ctx, outs, listing, tokens)
    conflicts: dict[tuple[str, str], str] = {}
    report._owners = _owners(catalogue, listing, tokens, report.world_key.tokens(), outs,
                             frozenset(listing.by_key) | ctx.indexed, conflicts)
    for (first, second), key in sorted(conflicts.items()):
        ctx.add("INTERFACE_PACK_INVALID", key, f"both {first} and {second} name this file: "
                                               f"the catalogue ({catalogue.source}) is ambiguous")
    return sources


def _owners(catalogue: InterfacePack, listing: Listing, tokens: dict[str, str],
            gate_tokens: dict[str, str], outs: dict[str, OutputResult],
            paths: frozenset[str], conflicts: dict[tuple[str, str], str]) -> Owners:
    """Attribution over the whole catalogue and gate map (see readability.Owners). Files
    two outputs both claim are put in ``conflicts``."""
    key_owner: dict[str, str] = {}
    templates: dict[str, str] = {}
    for oid, spec in catalogue.outputs.items():
        templates[oid] = render_template(spec.path_template, tokens)
        out = outs.get(oid)
        keys = out.part_keys() if out is not None else {o.key for o in
                                                         listing.match(templates[oid])}
        folder = templates[oid].endswith("/")
        for key in keys:
            first = key_owner.setdefault(key, oid)
            # A folder output (a bundle) holds the file outputs inside it by design; two
            # outputs of files naming the same file is what is ambiguous.
            if first != oid and not folder and not templates[first].endswith("/"):
                conflicts.setdefault((first, oid), key)
    # A file in an output's folder that is none of its parts still belongs to that output
    # (a stray file there is its problem, not every output's).
    folders = {literal_prefix(t).rpartition("/")[0] + "/": oid for oid, t in templates.items()
               if not t.endswith("/")}
    for obj in listing.objects:
        owner = folders.get(obj.key.rpartition("/")[0] + "/")
        if owner is not None:
            key_owner.setdefault(obj.key, owner)
    gate_files: dict[str, str] = {}
    gate_roots: list[tuple[str, str]] = []
    for gid, g in catalogue.gates.items():
        gate_files[render_template(g.passed_flag_path_template, gate_tokens)] = gid
        gate_files[render_template(g.index_path_template, gate_tokens)] = gid
        gate_roots.append((render_template(g.bundle_root_template, gate_tokens).rstrip("/")
                           + "/", gid))
    return Owners(set(catalogue.outputs), key_owner, gate_files, gate_roots, templates, paths)


# Top-level folders of an engine run root whose files are the run's own records: sealed as
# they are, never read as data.
RECORD_FOLDERS = ("logs/", "reports/")
# Names a writer gives a file it has not finished: never a part, never a member.
_UNFINISHED = re.compile(r"(?i)(^[.~])|(\.(tmp|temp|partial|part|crdownload|swp|bak)$)|(~$)")


def _attribute_unsealed(ctx: _Ctx, listing: Listing, receipt: RunReceipt) -> None:
    """What sealing would bind, attributed first (docs/contract.md, "What may be sealed"):
    a part of an output (by its template), a member of a gate bundle, the run receipt, the
    run's logs and reports, the tool's own files. A file in an output's folder that is not
    one of its parts, a hidden or temporary file among parts or members, and a file that
    belongs to nothing are FAIL, so `seal` refuses naming each one."""
    owners: Owners | None = ctx.report._owners
    if owners is None or ctx.report.world_key is None:
        return
    parts = {k for o in ctx.report.outputs for k in o._files}
    checked = {o.output_id for o in ctx.report.outputs}
    # Parts of the same outputs for another scenario of this run (a run root may hold
    # several; the check judges one): the engine's, attributed, not this world's. The
    # templates with scenario_id left a wildcard, attributed as Owners attributes any path.
    tokens = {k: v for k, v in ctx.report.world_key.tokens(receipt.run_id).items()
              if k != "scenario_id"}
    other_scenarios = Owners(set(), {}, {}, [], templates={
        oid: render_template(spec.path_template, tokens)
        for oid, spec in ctx.interface_pack.outputs.items()})

    for obj in listing.objects:
        key = obj.key
        if obj.kind != "file" or ("/" not in key and (
                key in ROOT_FILE_NAMES or TEMP_RE.match(key) or key == "run_receipt.json")):
            continue
        if key.startswith((STREAM_VIEW_PREFIX, PROBE_PREFIX)):
            continue
        name = key.rsplit("/", 1)[-1]
        owner = owners.of(key)
        unfinished = next((seg for seg in key.split("/")[:-1] if _UNFINISHED.search(seg)), None)
        if unfinished is not None and not key.startswith(RECORD_FOLDERS):
            ctx.add("UNEXPECTED_FILE", key, f"in a hidden or temporary folder ({unfinished}): "
                                            "a write that did not finish, or not the "
                                            "engine's; sealing would bind it")
        elif owner is not None and owner[0] == "output" and key not in parts and \
                owner[1] in checked:
            ctx.add("UNEXPECTED_FILE", key, f"{owner[1]}: in the output's folder but not one "
                                            "of its parts (its template does not name it); "
                                            "sealing would bind it")
        elif owner is not None and _UNFINISHED.search(name):
            what = "parts of " + owner[1] if owner[0] == "output" else "members of " + owner[1]
            ctx.add("UNEXPECTED_FILE", key, f"a hidden or temporary file among the {what}: a "
                                            "write that did not finish, or not the engine's")
        elif owner is None and not key.startswith(RECORD_FOLDERS) and \
                "/receipts/" not in f"/{key}" and other_scenarios.of(key) is None:
            ctx.add("UNEXPECTED_FILE", key, "belongs to no output, gate bundle, log or report "
                                            "of this run: sealing would bind it unexamined")


def _account_for_the_rest(ctx: _Ctx, listing: Listing, listed: dict[str, ContentEntry]
                          ) -> list[str]:
    """Every byte under a sealed root is the content index's, a control file, a view's
    (judged with the views), a conditional-write probe, or reported. Returns the probes."""
    probes = []
    for obj in listing.objects:
        key = obj.key
        if key in listed or key in PACK_CONTROL_FILES or key.startswith(STREAM_VIEW_PREFIX):
            continue
        if "/" not in key and TEMP_RE.match(key):
            # Seal and tombstone write their temporaries at the root, and only there.
            ctx.add("UNEXPECTED_FILE", key, "a temporary file of an oracle-tui write that is "
                                            "running or was interrupted; the next write of "
                                            "that folder removes it", Severity.WARN)
        elif TEMP_RE.match(key.rsplit("/", 1)[-1]):
            ctx.add("UNEXPECTED_FILE", key, "named like an oracle-tui temporary file, in a "
                                            "folder oracle-tui never writes to: a foreign file")
        elif re.match(PROBE_KEY_RE, key) and obj.size == len(PROBE_BODY):
            probes.append(key)
        else:
            ctx.add("UNEXPECTED_FILE", key, "not in the content index")
    return probes


def _check_output_evidence(ctx: _Ctx, outs: dict[str, OutputResult], listing: Listing,
                           tokens: dict[str, str]) -> None:
    """Compare each output's files with what its gate-verified bundles say they are."""
    matchers = [(oid, template_regex(o.path)) for oid, o in outs.items()]

    def owner_of(path: str) -> str | None:
        return next((oid for oid, rx in matchers if rx.fullmatch(path)), None)

    evidence, problems = collect_evidence(list(ctx.gate_results.values()), owner_of)
    ctx.findings.extend(problems)
    _check_part_footers(ctx, outs)
    for oid, out in outs.items():
        stated = evidence.get(oid)
        if not stated and out.blocked_by:
            continue  # its gates did not PASS: nothing of theirs counts, and that is reported
        if not stated:
            ctx.add("OUTPUT_EVIDENCE_ABSENT", oid, "no gate-verified evidence lists this "
                                                   "output's parts: only their presence is proven")
            continue
        out._evidence = dict(stated)
        out.evidence_parts = len(stated)
        _compare_parts(ctx, out, stated, listing)
    _check_instance_proofs(ctx, outs, listing)


def _check_part_footers(ctx: _Ctx, outs: dict[str, OutputResult]) -> None:
    """Every Parquet part of an asked-for output: a footer that holds together, and one
    schema for all of them (what a reader of the output as one table relies on)."""
    # Every output's footers in one round of reads (on S3, one wave of requests in flight).
    ctx.footers_of(sorted(k for out in outs.values() for k in out._files
                          if k.endswith(".parquet")))
    for out in outs.values():
        parquet = sorted(k for k in out._files if k.endswith(".parquet"))
        if not parquet:
            continue
        footers = ctx.footers_of(parquet)
        first: tuple[str, Any] | None = None
        for key in parquet:
            footer = footers[key]
            if isinstance(footer, OracleError):
                ctx.findings.append(finding_from_error(footer, key))
            elif first is None:
                first = (key, footer.schema)
            elif not footer.schema.equals(first[1], check_metadata=False):
                ctx.add("SCHEMA_MISMATCH", key, f"{out.output_id}: schema "
                                                f"{schema_text(footer.schema)}, but "
                                                f"{first[0].rsplit('/', 1)[-1]} has "
                                                f"{schema_text(first[1])}")


def _check_instance_proofs(ctx: _Ctx, outs: dict[str, OutputResult], listing: Listing) -> None:
    """Files pinned by instance-proof receipts: present, and (when hashing) the same bytes."""
    assert ctx.report.world_key is not None and ctx.report.run_receipt is not None
    identity = ctx.report.world_key.tokens(str(ctx.report.run_receipt["run_id"]))
    pinned, problems = collect_instance_proofs(
        ctx.store, listing.keys, {oid: set(o._files) for oid, o in outs.items()}, identity)
    ctx.findings.extend(problems)
    for oid, files in pinned.items():
        outs[oid]._pinned = files
        _compare_statements(ctx, outs[oid], "its instance proof", {k: v.sha256 for k, v in
                                                                   files.items()})
        if not ctx.verify_digests or ctx.verify_digests == EXCEPT_PARTS:
            continue
        for key, res in ctx.hashes_of(sorted(files)).items():
            if isinstance(res, OracleError):
                ctx.findings.append(finding_from_error(res, key))
            elif res[1] != files[key].sha256:
                ctx.add("DIGEST_MISMATCH", key, f"sha256 {res[1]}, its instance-proof receipt "
                                                f"({files[key].source}) says {files[key].sha256}")


def _compare_parts(ctx: _Ctx, out: OutputResult, stated: dict[str, PartEvidence],
                   listing: Listing) -> None:
    present = set(out._files)
    for key in sorted(set(stated) - present) if present else ():  # none: OUTPUT_MISSING
        ctx.add("OBJECT_MISSING", key, f"{out.output_id}: the engine's evidence "
                                       f"({stated[key].source}) lists this part; it is absent")
    for key in sorted(present - set(stated)):
        ctx.add("UNEXPECTED_FILE", key, f"{out.output_id}: not among the parts the engine's "
                                        "evidence lists")
    common = sorted(present & set(stated))
    for key in common:
        ev, size = stated[key], listing.by_key[key].size
        if ev.size is not None and ev.size != size:
            ctx.add("DIGEST_MISMATCH", key, f"size {size}, the engine's evidence says {ev.size}")
    with_rows = [k for k in common if stated[k].rows is not None]
    for key, footer in ctx.footers_of(with_rows).items():
        if isinstance(footer, OracleError):
            ctx.findings.append(finding_from_error(footer, key))
        elif footer.num_rows != stated[key].rows:
            ctx.add("DIGEST_MISMATCH", key, f"{footer.num_rows} rows, the engine's evidence "
                                            f"says {stated[key].rows}")
    _compare_statements(ctx, out, "the engine's evidence", {k: stated[k].sha256
                                                           for k in common})
    if not ctx.verify_digests or ctx.verify_digests == EXCEPT_PARTS:
        return
    for key, res in ctx.hashes_of(common).items():
        if isinstance(res, OracleError):
            ctx.findings.append(finding_from_error(res, key))
        elif res[1] != stated[key].sha256:
            ctx.add("DIGEST_MISMATCH", key, f"sha256 {res[1]}, the engine's evidence "
                                            f"says {stated[key].sha256}")


def _compare_statements(ctx: _Ctx, out: OutputResult, who: str, digests: dict[str, str]
                        ) -> None:
    """Two documents that state a digest for one file must state the same one: the content
    index (as sealed) against ``who``. No byte needs reading to see a disagreement, so a
    quick check reports it too."""
    for key, digest in sorted(digests.items()):
        sealed = ctx.sealed.get(key)
        if sealed is not None and digest and sealed != digest:
            ctx.add("DIGEST_MISMATCH", key, f"{out.output_id}: the content index sealed "
                                            f"sha256 {sealed}, {who} says {digest}")


def _check_lifecycle(ctx: _Ctx, listing: Listing) -> None:
    store, seal_sec, strict = ctx.store, ctx.report.seal, ctx.strict
    if TOMBSTONE in listing.by_key:
        seal_sec.lifecycle = "TOMBSTONED"
        detail = "the pack was tombstoned"
        with ctx.step("tombstone"):
            tomb, _ = read_model(store, TOMBSTONE, Tombstone, "PACK_TOMBSTONED")
            seal_sec.tombstone = tomb.model_dump(by_alias=True)
            detail = f"tombstoned by {tomb.authority}: {tomb.reason}"
        ctx.add("PACK_TOMBSTONED", TOMBSTONE, detail)
    if SEALED_FLAG in listing.by_key:
        ctx.add("UNEXPECTED_FILE", SEALED_FLAG, "the platform's producer takes _SEALED.flag for "
                                                "a seal, and oracle-tui never writes one: it "
                                                "could make an unproven pack look sealed")
    has_seal = SEAL in listing.by_key
    has_manifest = MANIFEST in listing.by_key
    manifest: Manifest | None = None
    manifest_raw = b""
    if has_manifest:
        with ctx.step("manifest"):
            manifest, manifest_raw = _read_v1(ctx, MANIFEST, Manifest, "PACK_MANIFEST_INVALID")
            ctx.manifest = manifest
            seal_sec.manifest = manifest.model_dump(by_alias=True)
            seal_sec.oracle_pack_id = manifest.oracle_pack_id
    if not has_seal:
        sev = Severity.FAIL if strict else Severity.WARN
        ctx.add("PACK_NOT_SEALED", SEAL, "no _SEALED.json: the pack is staging"
                + (" (strict seal)" if strict else ""), sev)
        return
    seal, _ = _read_v1(ctx, SEAL, Seal, "PACK_SEAL_INVALID")
    seal_sec.seal = seal.model_dump(by_alias=True)
    if seal_sec.lifecycle != "TOMBSTONED":
        seal_sec.lifecycle = seal.seal_status
    if seal.seal_status == "SEALED_FAILED":
        ctx.add("PACK_SEALED_FAILED", SEAL, "seal_status is SEALED_FAILED")
    if not has_manifest:
        ctx.add("PACK_MANIFEST_MISSING", MANIFEST, "sealed, but the manifest is absent")
        return
    if manifest is None:
        return  # PACK_MANIFEST_INVALID already reported
    if seal.oracle_pack_id != manifest.oracle_pack_id:
        ctx.add("SEAL_MISMATCH", SEAL, f"seal names pack {seal.oracle_pack_id}, manifest "
                                       f"{manifest.oracle_pack_id}")
    binding = _read_binding(ctx, listing, manifest, manifest_raw)
    if binding is None:
        return
    ctx.binding = binding
    seal_sec.binding = binding.model_dump(by_alias=True)
    with ctx.step("content_index"):
        _check_content(ctx, listing, binding)


def _read_v1(ctx: _Ctx, key: str, model: type[Any], code: str) -> tuple[Any, bytes]:
    """The platform's v1 manifest or seal, judged by its schema. One written by oracle-tui
    before 0.2 (an ``extensions`` key the platform refuses) gets its own code."""
    doc, _ = read_json(ctx.store, key, code)
    if isinstance(doc, dict) and isinstance(doc.get(OLD_EXTENSION_KEY), dict) and \
            "oracle_tui" in doc[OLD_EXTENSION_KEY]:
        raise OracleError("PACK_LAYOUT_OUTDATED", f"{key} carries the 'extensions' key of "
                                                  "oracle-tui before 0.2, which the platform's "
                                                  "schema refuses (its producer fails the pack "
                                                  "with PACK_MANIFEST_INVALID)", key)
    return read_model(ctx.store, key, model, code)


def _read_binding(ctx: _Ctx, listing: Listing, manifest: Manifest, manifest_raw: bytes
                  ) -> SealBinding | None:
    """oracle-tui's seal binding, bound to this manifest's bytes; None (reported) if absent,
    invalid or bound to something else."""
    if SEAL_BINDING not in listing.by_key and CONTENT_INDEX in listing.by_key:
        # oracle-tui writes its binding before the seal: a sealed pack with our content
        # index and no binding has lost it since.
        ctx.add("SEAL_MISMATCH", SEAL_BINDING, "the pack holds oracle-tui's content index but "
                                               "not the seal binding that ties it to the "
                                               "manifest: it was removed after sealing")
        return None
    if SEAL_BINDING not in listing.by_key:
        sev = Severity.FAIL if ctx.strict else Severity.WARN
        ctx.add("SEAL_BINDING_MISSING", SEAL_BINDING,
                "the manifest and seal are valid v1 documents, but no oracle-tui seal binding "
                "records the content at sealing (another tool sealed it, or the binding was "
                "removed): nothing proves the files are those that were sealed"
                + (" (strict seal)" if ctx.strict else ""), sev)
        return None
    binding: SealBinding | None = None
    with ctx.step("seal_binding"):
        binding, _ = read_model(ctx.store, SEAL_BINDING, SealBinding, "SEAL_BINDING_INVALID")
    if binding is None:
        return None
    bound = True
    if binding.oracle_pack_id != manifest.oracle_pack_id:
        ctx.add("SEAL_MISMATCH", SEAL_BINDING, f"the binding names pack "
                                               f"{binding.oracle_pack_id}, the manifest "
                                               f"{manifest.oracle_pack_id}")
        bound = False
    if binding.manifest_sha256 != sha256_bytes(manifest_raw):
        ctx.add("SEAL_MISMATCH", SEAL_BINDING, "the manifest's bytes do not match the "
                                               "binding's digest of them")
        bound = False
    return binding if bound else None


def _check_content(ctx: _Ctx, listing: Listing, binding: SealBinding) -> None:
    store, seal_sec = ctx.store, ctx.report.seal
    ref = binding.content_index
    if CONTENT_INDEX not in listing.by_key:
        ctx.add("CONTENT_DIGEST_MISSING", CONTENT_INDEX, "the content index is absent")
        return
    doc, raw = read_json(store, CONTENT_INDEX, "CONTENT_DIGEST_MISSING")
    if sha256_bytes(raw) != ref.sha256:
        ctx.add("DIGEST_MISMATCH", CONTENT_INDEX,
                "the content index's bytes do not match the seal binding's digest")
        return
    entries = doc.get("files") if isinstance(doc, dict) else None
    unsafe = [e["path"] for e in entries or [] if isinstance(e, dict)
              and isinstance(e.get("path"), str) and unsafe_reason(e["path"])]
    if unsafe:
        for path in unsafe:
            ctx.add("PATH_UNSAFE", CONTENT_INDEX, f"content index names {path!r} "
                                                  f"({unsafe_reason(path)}); never followed")
        return
    index, _ = read_model(store, CONTENT_INDEX, ContentIndex, "CONTENT_DIGEST_MISSING")
    paths = [e.path for e in index.files]
    if len(set(paths)) != len(paths) or paths != sorted(paths):
        ctx.add("CONTENT_INDEX_INVALID", CONTENT_INDEX,
                "content index entries are duplicated or not sorted")
        return
    if (ref.file_count, ref.total_bytes) != (index.file_count, index.total_bytes):
        ctx.add("SEAL_MISMATCH", SEAL_BINDING,
                f"the seal binding counts {ref.file_count} files / {ref.total_bytes} bytes, "
                f"the content index {index.file_count} / {index.total_bytes}")
    seal_sec.content_index_files = len(index.files)
    seal_sec.content_index_bytes = sum(e.size for e in index.files)
    listed = {e.path: e for e in index.files}
    ctx.indexed = set(listed)
    ctx.sealed = {e.path: e.sha256 for e in index.files}
    present: list[str] = []
    for entry in index.files:
        obj = listing.by_key.get(entry.path)
        if obj is None:
            ctx.add("OBJECT_MISSING", entry.path, "listed in the content index, absent")
        elif obj.size != entry.size:
            ctx.add("DIGEST_MISMATCH", entry.path, f"size {obj.size}, sealed as {entry.size}")
        elif obj.kind == "file":
            present.append(entry.path)
    ctx.probes = _account_for_the_rest(ctx, listing, listed)
    ctx.present = present
    ctx.content = listed


def _hash_content(ctx: _Ctx) -> None:
    """Re-hash the sealed files the check must prove: all of them, or with ``output_ids``
    every file whose finding could block one of those outputs (its parts, its gates' files,
    the pack's own files), leaving out only parts of outputs not asked for. A door that
    proves its output's parts itself as it copies them (EXCEPT_PARTS) leaves those out."""
    if not ctx.verify_digests or ctx.content is None:
        return
    store, seal_sec, listed = ctx.store, ctx.report.seal, ctx.content
    for key in ctx.probes:  # a probe's name and size are right; its bytes must be too
        if store.read_bytes(key, len(PROBE_BODY)) != PROBE_BODY:
            ctx.add("UNEXPECTED_FILE", key, "holds other bytes than a conditional-write probe")
    todo = [k for k in ctx.present if _in_hash_scope(ctx, k)]
    hashed = ctx.hashes_of(todo, ctx.progress)  # every key, or raised (hash_objects)
    seal_sec.digests_verified = True
    seal_sec.files_hashed = len(hashed)
    for key, res in hashed.items():
        if isinstance(res, OracleError):
            ctx.findings.append(finding_from_error(res, key))
        elif res[1] != listed[key].sha256 or res[0] != listed[key].size:
            ctx.add("DIGEST_MISMATCH", key, f"sha256 {res[1]}, the content index sealed "
                                            f"{listed[key].sha256}")


def _in_hash_scope(ctx: _Ctx, key: str) -> bool:
    owners = ctx.report._owners
    if owners is None:
        return True
    owner = owners.of(key)
    if owner is None or owner[0] != "output":
        return True
    if ctx.output_ids is not None and owner[1] not in ctx.output_ids:
        return False
    return ctx.verify_digests != EXCEPT_PARTS
