"""One output of an opened pack as a stream view's command sees it: its source parts, where
its view lives, and the one readability decision every door of a view asks first."""

from __future__ import annotations

import threading
from dataclasses import dataclass, replace
from pathlib import Path

from oracle_tui.core.codes import codes_of_class
from oracle_tui.core.errors import OracleError
from oracle_tui.core.hashing import DEFAULT_THREADS, hash_objects
from oracle_tui.core.interface_pack import InterfacePack, render_template
from oracle_tui.core.pack import OpenedPack, opened
from oracle_tui.core.profiles import Profile
from oracle_tui.core.progress import Progress, no_progress
from oracle_tui.core.proven_parts import require_stated, stage_proven_parts
from oracle_tui.core.report import CheckReport, OutputResult
from oracle_tui.core.storage.base import Store
from oracle_tui.core.view_location import sort_keys_for, view_prefix
from oracle_tui.core.views.documents import (
    ViewExpect,
    ViewState,
    expect_view,
)
from oracle_tui.core.world import WorldKey

# The findings about an output's stream view (by the codes' class, never by a face's pane).
VIEW_CODES = codes_of_class("stream view")

# -- resolving an output ------------------------------------------------------------------------

@dataclass(frozen=True)
class ViewTarget:
    """One output's sources and where its view lives, resolved once per command."""

    opened: OpenedPack  # the pack as this command opened it: its one listing and receipt
    profile: Profile
    catalogue: InterfacePack  # the interface pack: catalogue and gate map
    store: Store
    view_store: Store
    prefix: str
    source_keys: list[str]
    sort_keys: list[str]
    world_key: WorldKey
    run_id: str
    # The output as this command's readability check judged it (its parts' stated digests),
    # set by :func:`checked`; a door that reads source parts needs it to prove them.
    checked: OutputResult | None = None


def resolve_target(source: str | OpenedPack, output_id: str) -> ViewTarget:
    """The output's parts and where its view lives, from the command's one listing."""
    pack = opened(source)
    store, catalogue, profile = pack.store, pack.interface_pack, pack.profile
    if not pack.root_exists():
        raise OracleError("PACK_NOT_FOUND", f"no pack at {store.root_uri}", store.root_uri)
    if output_id not in catalogue.outputs:
        raise OracleError("OUTPUT_UNKNOWN", f"{output_id} is not in the catalogue", output_id)
    receipt, wk = pack.run_receipt(), pack.world_key()
    rendered = render_template(catalogue.outputs[output_id].path_template,
                               wk.tokens(receipt.run_id))
    sources = [o.key for o in pack.listing().match(rendered)]
    return ViewTarget(opened=pack, profile=profile, catalogue=catalogue, store=store,
                   view_store=pack.view_store(), prefix=view_prefix(profile, output_id),
                   source_keys=sources, sort_keys=sort_keys_for(profile, catalogue, output_id),
                   world_key=wk, run_id=receipt.run_id)



def expect_of(target: ViewTarget, output_id: str) -> ViewExpect:
    return expect_view(target.opened, output_id, target.world_key.model_dump(), target.run_id,
                       target.source_keys)


def readability_check(target: ViewTarget, output_id: str,
                       cancel: threading.Event | None = None, *,
                       rehash: bool | str = True) -> CheckReport:
    """The check every door of a view asks before it reads, on the command's own listing:
    the default ``check``'s proof for this one output (control files, gates, evidence,
    footers, and every file that could block it re-hashed). ``rehash=EXCEPT_PARTS`` for a
    door that proves the output's parts itself as it copies them (build, verify)."""
    from oracle_tui.core.check import run_check

    return run_check(target.opened, output_ids=[output_id], verify_digests=rehash,
                     cancel=cancel)


def checked(target: ViewTarget, report: CheckReport, output_id: str) -> ViewTarget:
    """``target`` with the output as ``report`` judged it."""
    out = next((o for o in report.outputs if o.output_id == output_id), None)
    return replace(target, checked=out)


def proven_sources(target: ViewTarget, folder: Path, door: str, *,
                   threads: int = DEFAULT_THREADS, progress: Progress = no_progress,
                   cancel: threading.Event | None = None) -> list[str]:
    """The output's source parts as local copies under ``folder``, each held to the digests
    the pack states for it while copied: what DuckDB reads instead of the originals."""
    if target.checked is None:
        raise OracleError("INTERNAL_ERROR", f"{door}: the output was not checked before its "
                                            "parts were read")
    if list(target.checked._files) != target.source_keys:
        raise OracleError("INTERNAL_ERROR", f"{door}: the checked parts are not the parts "
                                            "to read")
    paths = stage_proven_parts(target.store, target.checked, folder, door=door,
                               threads=threads, progress=progress, cancel=cancel)
    return [str(p) for p in paths]


def prove_sources_in_place(target: ViewTarget, door: str, threads: int,
                           cancel: threading.Event | None = None) -> None:
    """Hash the output's source parts where they lie against the digests the pack states,
    for a door that reads none of their rows (a build whose view already stands)."""
    if target.checked is None:
        raise OracleError("INTERNAL_ERROR", f"{door}: the output was not checked")
    results = hash_objects(target.store, target.source_keys, threads=max(2, threads),
                           cancel=cancel)
    for key in target.source_keys:
        res = results[key]
        if isinstance(res, OracleError):
            raise res
        require_stated(target.checked, key, res[1], door)


def view_state_of(report: CheckReport, output_id: str, location: str) -> ViewState:
    """The view's state as the check judged it (receipt, sizes, footers, schemas)."""
    section = next((v for v in report.stream_views if v.output_id == output_id), None)
    if section is None:
        return ViewState(output_id=output_id, state="MISSING", location=location)
    findings = [f for f in report.findings if f.subject == output_id
                and f.code in VIEW_CODES and f.code != "STREAM_VIEW_MISSING"]
    return ViewState(output_id=output_id, state=section.state, location=location,
                     receipt=section.receipt, upstream=section.upstream,
                     manifest=section.manifest, findings=findings)


