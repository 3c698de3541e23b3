"""One output of an opened pack as a stream view's command sees it: its source parts, where
its view lives, and the one readability decision every door of a view asks first."""

from __future__ import annotations

import threading
from dataclasses import dataclass

from oracle_tui.core.codes import code_info
from oracle_tui.core.errors import OracleError
from oracle_tui.core.interface_pack import InterfacePack, render_template
from oracle_tui.core.pack import OpenedPack, opened
from oracle_tui.core.profiles import Profile
from oracle_tui.core.report import CheckReport
from oracle_tui.core.storage.base import Store
from oracle_tui.core.stream_receipts import (
    ViewExpect,
    ViewState,
    expect_view,
    sort_keys_for,
    view_prefix,
)
from oracle_tui.core.world import WorldKey

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
                       cancel: threading.Event | None = None) -> CheckReport:
    """The check every door of a view asks before it reads: control files, gates, part
    evidence and Parquet footers for this one output (never a re-hash of the sources), on
    the command's own listing."""
    from oracle_tui.core.check import run_check

    return run_check(target.opened, output_ids=[output_id], cancel=cancel)


def view_state_of(report: CheckReport, output_id: str, location: str) -> ViewState:
    """The view's state as the check judged it (receipt, sizes, footers, schemas)."""
    section = next((v for v in report.stream_views if v.output_id == output_id), None)
    if section is None:
        return ViewState(output_id=output_id, state="MISSING", location=location)
    findings = [f for f in report.findings if f.subject == output_id
                and code_info(f.code).pane == "streams" and f.code != "STREAM_VIEW_MISSING"]
    return ViewState(output_id=output_id, state=section.state, location=location,
                     receipt=section.receipt, upstream=section.upstream,
                     manifest=section.manifest, findings=findings)


