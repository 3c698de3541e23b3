"""The inspector's write and verify flows: what to ask the operator, which job to run, what
to do with its typed result. The app binds keys to these; the core does the work."""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING

from oracle_tui.core.engine import DEFAULT_MEMORY_LIMIT, budget
from oracle_tui.core.errors import OracleError
from oracle_tui.core.progress import Progress
from oracle_tui.core.requests import (
    BuildRequest,
    SealRequest,
    TombstoneRequest,
    VerifyRequest,
    command_line,
)
from oracle_tui.core.view_location import sort_keys_for, view_prefix
from oracle_tui.tui.jobs import Job, SealDone, SealPlanned, Tombstoned, ViewBuilt, ViewVerified
from oracle_tui.tui.screens import (
    ConfirmScreen,
    ErrorScreen,
    InfoScreen,
    InputScreen,
    TombstoneScreen,
)
from oracle_tui.tui.session import Session

# Why a pack's world key can be unknown, most fundamental first.
WORLD_KEY_CODES = ("PACK_NOT_FOUND", "RUN_RECEIPT_MISSING", "RUN_RECEIPT_INVALID",
                   "SCENARIO_ID_MISSING", "SCENARIO_ID_AMBIGUOUS", "WORLD_KEY_MISMATCH")

if TYPE_CHECKING:
    from oracle_tui.core.seal import SealPlan


# -- seal ---------------------------------------------------------------------------------------

def start_seal(app: Session) -> None:
    """Ask for the engine release, plan the seal (nothing written), then confirm. A pack
    that already has a seal is shown its seal instead: there is nothing to write."""
    if app.report is not None and app.report.seal.seal is not None:
        app.push_screen(InfoScreen("This pack is already sealed", recorded_seal(app)))
        return
    scenario = app.scenario()
    if scenario is None:
        # Say why the world key is unknown: the check's own finding, by its code.
        why = min((f for f in (app.report.findings if app.report else [])
                   if f.code in WORLD_KEY_CODES),
                  key=lambda f: WORLD_KEY_CODES.index(f.code), default=None)
        app.push_screen(ErrorScreen(why.code if why else "RUN_RECEIPT_MISSING",
                                    f"the world key is not known, nothing can be sealed: "
                                    f"{why.detail if why else 'no run receipt was read'}"))
        return
    default = str((app.report.run_receipt or {}).get("engine_release", "")) \
        if app.report else ""

    def plan(release: str | None) -> None:
        if not release:
            return
        try:  # the operator's values are checked as the request is made
            request = SealRequest(at=app.address(), scenario_id=scenario,
                                  engine_release=release)
        except OracleError as exc:
            app.push_screen(ErrorScreen(exc.code, exc.message))
            return
        app.run_job(Job("planning seal", lambda progress, cancel: SealPlanned(
            request.plan(app.open_pack(), cancel)[0], request)))

    app.push_screen(InputScreen("Seal the pack", "Engine release to record in the manifest:",
                                default), plan)


def recorded_seal(app: Session) -> str:
    """What the pack's seal records (write-once: nothing can be added to it)."""
    assert app.report is not None
    seal, manifest = app.report.seal.seal or {}, app.report.seal.manifest or {}
    wk = manifest.get("world_key") or {}
    return "\n".join([
        f"status          {seal.get('seal_status', '—')}",
        f"sealed at       {seal.get('sealed_at_utc', '—')}",
        f"oracle_pack_id  {seal.get('oracle_pack_id', '—')}",
        f"engine_release  {manifest.get('engine_release', '—')}",
        f"scenario_id     {wk.get('scenario_id', '—')}",
        "",
        "A sealed pack is write-once: nothing is written. To replace it, seal a new root and",
        "tombstone this one (T).",
    ])


def seal_body(plan: SealPlan) -> str:
    """The confirmation text: what will be bound and written."""
    wk = plan.world_key
    # Long values on a line of their own: whole even in an 80-column terminal (the operator
    # confirms a write-once seal of exactly these).
    return "\n".join([
        "root", f"  {plan.root}",
        "manifest_fingerprint", f"  {wk.manifest_fingerprint}",
        "parameter_hash", f"  {wk.parameter_hash}",
        "oracle_pack_id", f"  {plan.oracle_pack_id}",
        f"scenario_id {wk.scenario_id} · seed {wk.seed} · engine_release {plan.engine_release}",
        "",
        f"hashes {plan.content_files:,} files ({plan.content_bytes:,} bytes), then writes,",
        "each only if absent, in this order:",
        *[f"  + {name}" for name in plan.files_to_write],
        *[f"  = {name} (present: compared, never rewritten)" for name in plan.already_present],
    ])


def confirm_seal(app: Session, msg: SealPlanned) -> None:
    request = msg.request
    cli = command_line(request.argv())
    if msg.plan.refused:
        refusal = msg.plan.refusal()
        app.push_screen(ErrorScreen(refusal.code, refusal.message, cli))
        return

    def seal(yes: bool | None) -> None:
        if not yes:
            app.notify("Seal cancelled: nothing was written.")
            return
        app.run_job(Job("sealing", lambda progress, cancel: SealDone(request.run(
            app.open_pack(), progress, cancel)), cli))

    app.push_screen(ConfirmScreen("Seal this pack?", seal_body(msg.plan), "Yes, seal"),
                    seal)


# -- stream views -------------------------------------------------------------------------------

def start_build(app: Session, output: str) -> None:
    request = BuildRequest(at=app.address(), output_id=output)
    prefix = view_prefix(app.profile, output)
    body = "\n".join([
        f"output     {output}",
        "reads      every part of the output (gates must PASS)",
        f"sorts by   {', '.join(sort_keys_for(app.profile, app.interface_pack, output))}"
        f" (DuckDB, disk-backed, within {DEFAULT_MEMORY_LIMIT} on "
        f"{budget(DEFAULT_MEMORY_LIMIT).threads} threads)",
        f"writes     under {prefix}, each only if absent:",
        "             + part-*.parquet",
        "             + _stream_view_manifest.json",
        "             + _stream_sort_receipt.json (last)",
        "A cancelled build keeps nothing.",
    ])

    def build(yes: bool | None) -> None:
        if not yes:
            app.notify("Build cancelled: nothing was written.")
            return
        app.run_job(Job("building stream view", lambda progress, cancel: ViewBuilt(
            request.run(app.open_pack(), progress, cancel)), command_line(request.argv())))

    app.push_screen(ConfirmScreen("Build the stream view?", body, "Yes, build"), build)


def start_verify(app: Session, output: str) -> None:
    request = VerifyRequest(at=app.address(), output_id=output)

    def verify(progress: Progress, cancel: threading.Event) -> ViewVerified:
        state = request.run(app.open_pack(), progress, cancel)
        bad = [f for f in state.findings if f.severity.value == "FAIL"]
        if bad:
            raise OracleError(bad[0].code, f"{output}: {bad[0].detail}", output)
        return ViewVerified(state)

    app.run_job(Job("verifying stream view", verify, command_line(request.argv())))


# -- tombstone ----------------------------------------------------------------------------------

def start_tombstone(app: Session) -> None:
    if app.overview is not None and not app.overview.exists:
        app.notify(f"nothing to tombstone: no pack at {app.root}", severity="error",
                   markup=False)
        return
    if app.report is not None and app.report.seal.lifecycle == "TOMBSTONED":
        # Nothing to write: say whose it is instead of offering to.
        record = app.report.seal.tombstone or {}
        app.notify(f"already tombstoned by {record.get('authority', '?')}: "
                   f"{record.get('reason', '?')}; the record is never changed",
                   severity="warning", markup=False)
        return
    pack_id = (app.report.seal.oracle_pack_id if app.report else None) or \
        (app.overview.oracle_pack_id if app.overview else None)
    token = pack_id[:12] if pack_id else app.root.rstrip("/").rsplit("/", 1)[-1]

    def tombstone(answer: tuple[str, str] | None) -> None:
        if answer is None:
            app.notify("Tombstone cancelled: nothing was written.")
            return
        reason, authority = answer
        try:  # the operator's values are checked as the request is made
            request = TombstoneRequest(at=app.address(), reason=reason, authority=authority)
        except OracleError as exc:
            app.push_screen(ErrorScreen(exc.code, exc.message))
            return
        app.run_job(Job("tombstoning", lambda progress, cancel: Tombstoned(request.run(
            app.open_pack(), progress, cancel)), command_line(request.argv())))

    app.push_screen(TombstoneScreen(app.root, token), tombstone)
