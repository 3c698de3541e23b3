"""The inspector app (SPEC §9): one explicitly given pack root, six panes, actions that run
the same core functions as the CLI in thread workers with progress and cancel.

Only messages, notify and call_from_thread cross from workers to the UI.
"""

from __future__ import annotations

import json
import os
import shlex
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from textual import on, work
from textual.app import App, ComposeResult, SystemCommand
from textual.binding import Binding
from textual.containers import Horizontal
from textual.css.query import NoMatches
from textual.screen import Screen
from textual.widgets import (
    DataTable,
    Footer,
    Header,
    Input,
    Label,
    ProgressBar,
    TabbedContent,
    TabPane,
)
from textual.worker import get_current_worker

from oracle_tui.core.errors import OracleError
from oracle_tui.core.interface_pack import InterfacePack, load_interface_pack
from oracle_tui.core.jobs import Cancelled
from oracle_tui.core.overview import PackOverview, pack_overview
from oracle_tui.core.profiles import Profile, load_profile
from oracle_tui.core.redact import redact, redact_model
from oracle_tui.core.report import CheckReport
from oracle_tui.core.stream_receipts import sort_keys_for
from oracle_tui.tui import actions
from oracle_tui.tui.messages import (
    CheckReady,
    JobCancelled,
    JobFailed,
    JobFinished,
    JobProgress,
    OverviewReady,
)
from oracle_tui.tui.panes import (
    FindingsPane,
    GatesPane,
    OutputsPane,
    OverviewPane,
    SealPane,
    StreamViewsPane,
)
from oracle_tui.tui.screens import (
    ConfirmScreen,
    ErrorScreen,
    HelpScreen,
    InputScreen,
    TombstoneScreen,
)

PANES = ("overview", "gates", "outputs", "seal", "streams", "findings")
PANE_FOCUS = {"gates": "#gates-table", "outputs": "#outputs-table",
              "streams": "#views-table", "findings": "#findings-table"}
Job = Callable[[Callable[[int, int], None], threading.Event], tuple[str, Any]]


class InspectorApp(App[None]):
    CSS_PATH = "app.tcss"
    TITLE = "oracle-tui"
    ENABLE_COMMAND_PALETTE = True
    BINDINGS = [
        *actions.bindings(),
        *[Binding(str(i + 1), f"pane('{name}')", name.title(), show=False)
          for i, name in enumerate(PANES)],
    ]

    def __init__(self, root: str, *, profile: Profile, interface_pack: InterfacePack,
                 scenario_id: str | None = None, read_only: bool = False,
                 export_dir: str | None = None) -> None:
        super().__init__()
        self.root = root
        self.profile = profile
        self.pack = interface_pack
        self.scenario_id = scenario_id
        self.read_only = read_only
        # Exports go to one documented place (not wherever the app was started from).
        self.export_dir = Path(export_dir or os.environ.get("ORACLE_TUI_EXPORT_DIR")
                               or Path.home() / "oracle-tui-exports").absolute()
        self.report: CheckReport | None = None
        self.overview: PackOverview | None = None
        self.cli_log: list[str] = []
        self.cancel_event = threading.Event()
        self.job_label: str | None = None
        self._then: dict[str, Callable[[Any], None]] = {}
        self.sub_title = root + ("  [read-only]" if read_only else "")

    # -- layout ----------------------------------------------------------------------------------
    def compose(self) -> ComposeResult:
        yield Header(show_clock=False)
        with TabbedContent(id="panes", initial="overview"):
            with TabPane("1 Overview", id="overview"):
                yield OverviewPane()
            with TabPane("2 Gates", id="gates"):
                yield GatesPane()
            with TabPane("3 Outputs & digests", id="outputs"):
                yield OutputsPane()
            with TabPane("4 Seal", id="seal"):
                yield SealPane()
            with TabPane("5 Stream views", id="streams"):
                yield StreamViewsPane()
            with TabPane("6 Findings", id="findings"):
                yield FindingsPane()
        with Horizontal(id="jobbar"):
            yield Label("", id="job-label")
            yield ProgressBar(id="job-progress", show_eta=False)
        # Compact, and the palette hint left to the help screen: every key fits in 100 columns.
        yield Footer(compact=True, show_command_palette=False)

    def on_mount(self) -> None:
        self.query_one("#jobbar").display = False
        self.start_check(verify_digests=False, initial=True)

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        # False hides a write action from the footer and refuses it in read-only mode.
        return not (self.read_only and action in actions.WRITE_ACTIONS)

    def get_system_commands(self, screen: Screen[Any]) -> Any:
        # Textual's own commands, less its help entry: ours (below) shows the pack's keys.
        for command in super().get_system_commands(screen):
            if "help" not in command.title.lower() and "keys" not in command.title.lower():
                yield command
        for action in actions.palette(self.read_only):
            assert action.palette is not None
            yield SystemCommand(action.palette, action.help,
                                getattr(self, f"action_{action.name}"))

    # -- jobs ------------------------------------------------------------------------------------
    def cli(self, *args: str) -> str:
        parts = ["oracle-tui", *args]
        if self.profile.name != "local":
            parts += ["--profile", self.profile.name]
        return " ".join(shlex.quote(p) for p in parts)

    def busy(self) -> bool:
        if self.job_label is not None:
            self.notify(f"busy: {self.job_label} (esc cancels)", severity="warning")
            return True
        return False

    def run_job(self, label: str, fn: Job, cli: str = "",
                then: Callable[[Any], None] | None = None) -> None:
        if self.busy():
            return
        self.job_label = label
        self.cancel_event = threading.Event()
        if then is not None:
            self._then[label] = then
        self.query_one("#jobbar").display = True
        self.query_one("#job-label", Label).update(f"{label}…  (esc cancels)")
        self.query_one("#job-progress", ProgressBar).update(total=None, progress=0)
        self._worker(label, fn, cli, self.cancel_event)

    @work(thread=True, exclusive=True, group="job", exit_on_error=False)
    def _worker(self, label: str, fn: Job, cli: str, cancel: threading.Event) -> None:
        last = [0.0]

        def progress(done: int, total: int) -> None:
            now = time.monotonic()
            if done >= total or now - last[0] > 0.1:  # coalesce: at most ~10 updates/s
                last[0] = now
                self.post_message(JobProgress(label, done, total))

        try:
            summary, payload = fn(progress, cancel)
        except Cancelled:
            self.post_message(JobCancelled(label))
        except OracleError as exc:
            self.post_message(JobFailed(label, exc.code, redact(exc.message), cli))
        except Exception as exc:
            self.post_message(JobFailed(label, "INTERNAL_ERROR",
                                        redact(f"{type(exc).__name__}: {exc}"), cli))
        else:
            self.post_message(JobFinished(label, summary, cli, payload))

    def _job_done(self) -> None:
        self.job_label = None
        self.query_one("#jobbar").display = False

    def on_job_progress(self, msg: JobProgress) -> None:
        bar = self.query_one("#job-progress", ProgressBar)
        bar.update(total=max(msg.total, 1), progress=msg.done)

    def on_job_finished(self, msg: JobFinished) -> None:
        self._job_done()
        if msg.cli:
            self.cli_log.append(redact(msg.cli))
            self.query_one(OverviewPane).show_cli_log(self.cli_log)
        if msg.summary:
            self.notify(redact(msg.summary), title=msg.label, markup=False)
        then = self._then.pop(msg.label, None)
        if then is not None:
            then(msg.payload)

    def on_job_failed(self, msg: JobFailed) -> None:
        self._job_done()
        self._then.pop(msg.label, None)
        self.push_screen(ErrorScreen(msg.code, msg.message, msg.cli))

    def on_job_cancelled(self, msg: JobCancelled) -> None:
        self._job_done()
        self._then.pop(msg.label, None)
        self.notify(f"{msg.label} cancelled; nothing half-done was kept", severity="warning")

    def action_cancel(self) -> None:
        if self.job_label is not None:
            self.cancel_event.set()
        elif self.query_one("#findings-filter", Input).has_focus:
            self.query_one("#findings-filter", Input).value = ""
            self.query_one("#findings-table", DataTable).focus()

    # -- check -----------------------------------------------------------------------------------
    def start_check(self, verify_digests: bool, initial: bool = False) -> None:
        from oracle_tui.core.check import run_check

        def job(progress: Callable[[int, int], None], cancel: threading.Event
                ) -> tuple[str, Any]:
            if initial:
                self.post_message(OverviewReady(pack_overview(self.root, self.profile)))
            report = run_check(self.root, profile=self.profile, scenario_id=self.scenario_id,
                               verify_digests=verify_digests, interface_pack=self.pack,
                               progress=progress, cancel=cancel)
            self.post_message(CheckReady(report))
            if initial:
                return "", report
            return (f"{report.verdict}: {report.counts()['FAIL']} fail, "
                    f"{report.counts()['WARN']} warn"), report

        args = ["check", self.root] + (["--verify-digests"] if verify_digests else [])
        if self.scenario_id:
            args += ["--scenario-id", self.scenario_id]
        label = "verifying digests" if verify_digests else "checking"
        self.run_job(label, job, "" if initial else self.cli(*args))

    def on_overview_ready(self, msg: OverviewReady) -> None:
        self.overview = redact_model(msg.overview)
        self.query_one(OverviewPane).show_overview(self.overview, self.profile.name,
                                                   self.profile.strict_seal)
        if not self.overview.exists:
            code, _, text = (self.overview.error or "PACK_NOT_FOUND: ?").partition(": ")
            self.push_screen(ErrorScreen(code, text))

    def on_check_ready(self, msg: CheckReady) -> None:
        # Everything shown (and exported, copied) comes from a copy with secrets masked.
        self.report = r = redact_model(msg.report)
        self.query_one(OverviewPane).show_report(r, self.cli_log)
        self.query_one(GatesPane).show_report(r)
        self.query_one(OutputsPane).show_report(r)
        self.query_one(SealPane).show_report(r)
        self.query_one(StreamViewsPane).show_report(r)
        self.query_one(FindingsPane).show_report(r)
        # A rebuilt or removed view changes the first rows of the row the cursor is on.
        selected = self.query_one(StreamViewsPane).selected_output()
        if selected is not None:
            self._preview(selected)

    def action_recheck(self) -> None:
        self.start_check(verify_digests=False)

    def action_verify_digests(self) -> None:
        self.action_pane("outputs")
        self.start_check(verify_digests=True)

    # -- seal --------------------------------------------------------------------------------------
    def _scenario(self) -> str | None:
        if self.scenario_id:
            return self.scenario_id
        return self.report.world_key.scenario_id if self.report and self.report.world_key \
            else None

    def action_seal(self) -> None:
        if self.read_only or self.busy():
            return
        scenario = self._scenario()
        if scenario is None:
            self.push_screen(ErrorScreen("SCENARIO_ID_MISSING",
                                         "the world key is not known yet; re-check first"))
            return
        default = str((self.report.run_receipt or {}).get("engine_release", "")) \
            if self.report else ""
        self.push_screen(InputScreen("Seal the pack", "Engine release to record in the "
                                     "manifest:", default),
                         lambda release: self._plan_seal(scenario, release))

    def _plan_seal(self, scenario: str, release: str | None) -> None:
        if not release:
            return
        from oracle_tui.core.seal import plan_seal

        def job(progress: Callable[[int, int], None], cancel: threading.Event
                ) -> tuple[str, Any]:
            plan, _ = plan_seal(self.root, scenario_id=scenario, engine_release=release,
                                profile=self.profile, interface_pack=self.pack, cancel=cancel)
            return "", plan

        self.run_job("planning seal", job, then=lambda plan: self._confirm_seal(
            plan, scenario, release))

    def _confirm_seal(self, plan: Any, scenario: str, release: str) -> None:
        cli = self.cli("seal", self.root, "--scenario-id", scenario, "--engine-release", release,
                       "--yes")
        if plan.refused:
            refusal = plan.refusal()
            self.push_screen(ErrorScreen(refusal.code, refusal.message, cli))
            return
        wk = plan.world_key
        body = "\n".join([
            f"root                  {plan.root}",
            f"manifest_fingerprint  {wk.manifest_fingerprint}",
            f"parameter_hash        {wk.parameter_hash}",
            f"scenario_id           {wk.scenario_id}",
            f"seed                  {wk.seed}",
            f"engine_release        {plan.engine_release}",
            f"oracle_pack_id        {plan.oracle_pack_id}",
            "",
            f"hashes {plan.content_files:,} files ({plan.content_bytes:,} bytes), then writes,",
            "each only if absent, in this order:",
            *[f"  + {name}" for name in plan.files_to_write],
            *[f"  = {name} (present: compared, never rewritten)"
              for name in plan.already_present],
        ])
        self.push_screen(ConfirmScreen("Seal this pack?", redact(body), "Yes, seal"),
                         lambda yes: self._do_seal(scenario, release, cli) if yes else None)

    def _do_seal(self, scenario: str, release: str, cli: str) -> None:
        from oracle_tui.core.seal import seal_pack

        def job(progress: Callable[[int, int], None], cancel: threading.Event
                ) -> tuple[str, Any]:
            result = seal_pack(self.root, scenario_id=scenario, engine_release=release,
                               profile=self.profile, interface_pack=self.pack,
                               progress=progress, cancel=cancel)
            return f"{result.status} {result.oracle_pack_id[:16]}…", result

        self.run_job("sealing", job, cli, then=lambda _: self.start_check(False))

    # -- stream views ----------------------------------------------------------------------------
    def _selected_output(self) -> str | None:
        panes = self.query_one("#panes", TabbedContent)
        if panes.active == "outputs":
            table = self.query_one("#outputs-table", DataTable)
            if table.row_count:
                key = table.coordinate_to_cell_key(table.cursor_coordinate).row_key.value
                return str(key)
        return self.query_one(StreamViewsPane).selected_output()

    def action_build_view(self) -> None:
        if self.read_only or self.busy():
            return
        output = self._selected_output()
        if output is None:
            self.notify("select an output in the Stream views pane first", severity="warning")
            return
        cli = self.cli("stream-view", "build", self.root, "--output-id", output)
        prefix = f"stream_view/ts_utc/output_id={output}/"
        body = "\n".join([
            f"output     {output}",
            "reads      every part of the output (gates must PASS)",
            f"sorts by   {', '.join(sort_keys_for(self.profile, self.pack, output))}"
            ", filename, file_row_number (DuckDB, disk-backed, 2GB memory)",
            "writes, each only if absent:",
            f"  + {prefix}part-*.parquet",
            f"  + {prefix}_stream_sort_receipt.json (last)",
            "A cancelled build keeps nothing.",
        ])
        self.push_screen(ConfirmScreen("Build the stream view?", body, "Yes, build"),
                         lambda yes: self._do_build(output, cli) if yes else None)

    def _do_build(self, output: str, cli: str) -> None:
        from oracle_tui.core.stream_view import build_stream_view

        def job(progress: Callable[[int, int], None], cancel: threading.Event
                ) -> tuple[str, Any]:
            result = build_stream_view(self.root, output, profile=self.profile,
                                       interface_pack=self.pack, scenario_id=self.scenario_id,
                                       progress=progress, cancel=cancel)
            rows = result.receipt["view"]["row_count"]
            return f"{result.status}: {rows:,} rows in {len(result.receipt['parts'])} part(s)", \
                result

        self.run_job("building stream view", job, cli, then=lambda _: self.start_check(False))

    def action_verify_view(self) -> None:
        output = self._selected_output()
        if output is None or self.busy():
            return
        from oracle_tui.core.stream_view import verify_stream_view

        def job(progress: Callable[[int, int], None], cancel: threading.Event
                ) -> tuple[str, Any]:
            state = verify_stream_view(self.root, output, profile=self.profile,
                                       interface_pack=self.pack, scenario_id=self.scenario_id,
                                       progress=progress, cancel=cancel)
            bad = [f for f in state.findings if f.severity.value == "FAIL"]
            if bad:
                raise OracleError(bad[0].code, f"{output}: {bad[0].detail}", output)
            return f"{output}: {state.state}", state

        self.run_job("verifying stream view", job,
                     self.cli("stream-view", "verify", self.root, "--output-id", output))

    @on(DataTable.RowHighlighted, "#views-table")
    def _preview_view(self, event: DataTable.RowHighlighted) -> None:
        if event.row_key.value is not None:
            self._preview(str(event.row_key.value))

    def _preview(self, output: str) -> None:
        if self.report is None:
            return
        state = next((v for v in self.report.stream_views if v.output_id == output), None)
        if state is None or state.state != "VALID":
            self._show_preview([], [])
            return
        self._load_rows(output)

    def _show_preview(self, names: list[str], rows: list[tuple[Any, ...]]) -> None:
        """On the UI thread only (workers reach it through call_from_thread)."""
        try:
            self.query_one(StreamViewsPane).show_rows(names, rows)
        except NoMatches:
            return  # the app is closing

    @work(thread=True, exclusive=True, group="preview", exit_on_error=False)
    def _load_rows(self, output: str) -> None:
        from oracle_tui.core.stream_view import open_stream_view

        try:
            reader = open_stream_view(self.root, output, profile=self.profile,
                                      interface_pack=self.pack, scenario_id=self.scenario_id,
                                      batch_size=20)
            batch = next(iter(reader), None)
        except OracleError:
            batch = None
        if get_current_worker().is_cancelled:
            return  # a newer selection owns the preview now
        if batch is None:
            self.call_from_thread(self._show_preview, [], [])  # never the previous rows
            return
        # The sort keys first: they are what an operator checks in a preview.
        keys = [k for k in sort_keys_for(self.profile, self.pack, output)
                if k in batch.schema.names]
        names = keys + [n for n in batch.schema.names if n not in keys]
        rows = list(zip(*[batch.column(n).to_pylist() for n in names], strict=True))
        self.call_from_thread(self._show_preview, names, rows)

    # -- tombstone -------------------------------------------------------------------------------
    def action_tombstone(self) -> None:
        if self.read_only or self.busy():
            return
        pack_id = (self.report.seal.oracle_pack_id if self.report else None) or \
            (self.overview.oracle_pack_id if self.overview else None)
        token = pack_id[:12] if pack_id else Path(self.root.rstrip("/")).name
        if self.overview is not None and not self.overview.exists:
            self.notify(f"nothing to tombstone: no pack at {self.root}", severity="error",
                        markup=False)
            return
        self.push_screen(TombstoneScreen(self.root, token), self._do_tombstone)

    def _do_tombstone(self, answer: tuple[str, str] | None) -> None:
        if answer is None:
            return
        reason, authority = answer
        from oracle_tui.core.tombstone import tombstone_pack

        def job(progress: Callable[[int, int], None], cancel: threading.Event
                ) -> tuple[str, Any]:
            result = tombstone_pack(self.root, reason=reason, authority=authority,
                                    profile=self.profile)
            return result.status, result

        self.run_job("tombstoning", job,
                     self.cli("tombstone", self.root, "--reason", reason, "--authority",
                              authority, "--yes"),
                     then=lambda _: self.start_check(False))

    # -- navigation, copy, export ------------------------------------------------------------------
    def action_pane(self, name: str) -> None:
        self.query_one("#panes", TabbedContent).active = name
        # Focus the pane's main table, so focus never stays behind in a hidden pane (which
        # would pull the tabs back to it).
        target = PANE_FOCUS.get(name)
        if target:
            self.query_one(target).focus()
        else:
            self.query_one("#panes ContentTabs").focus()

    def action_help(self) -> None:
        self.push_screen(HelpScreen())

    def action_filter(self) -> None:
        self.action_pane("findings")
        box = self.query_one("#findings-filter", Input)
        box.display = True
        box.focus()

    @on(Input.Submitted, "#findings-filter")
    def _filter_done(self) -> None:
        self.query_one("#findings-table", DataTable).focus()

    @on(DataTable.RowSelected, "#findings-table")
    def _jump(self, event: DataTable.RowSelected) -> None:
        finding = self.query_one(FindingsPane).selected()
        if finding is None or self.report is None:
            return
        subject = finding.subject
        if any(g.gate_id == subject for g in self.report.gates):
            self.action_pane("gates")
            table = self.query_one("#gates-table", DataTable)
            table.move_cursor(row=table.get_row_index(subject))
        elif finding.code.startswith("STREAM_") and subject in self.pack.outputs:
            self.action_pane("streams")
            table = self.query_one("#views-table", DataTable)
            table.move_cursor(row=table.get_row_index(subject))
        elif subject in self.pack.outputs:
            self.action_pane("outputs")
            table = self.query_one("#outputs-table", DataTable)
            table.move_cursor(row=table.get_row_index(subject))
        elif subject.startswith("_"):
            self.action_pane("seal")
        else:
            self.action_pane("outputs")

    def copy_text(self) -> str | None:
        active = self.query_one("#panes", TabbedContent).active
        if self.report is None:
            return None
        if active == "findings":
            f = self.query_one(FindingsPane).selected()
            return f"{f.code} {f.subject}: {f.detail}" if f else None
        if active == "gates" and self.report.gates:
            table = self.query_one("#gates-table", DataTable)
            gate = self.report.gates[min(table.cursor_row, len(self.report.gates) - 1)]
            return gate.recomputed_digest
        if active == "seal":
            return self.report.seal.oracle_pack_id
        return f"{self.report.verdict} {self.report.root}"

    def action_copy(self) -> None:
        text = self.copy_text()
        if text:
            # OSC 52 asks the terminal to copy; no terminal confirms it, so say what was sent
            # and show the whole value, which can be selected from the toast if it did not.
            self.copy_to_clipboard(text)
            self.notify(f"sent to the terminal's clipboard (OSC 52; some terminals ignore "
                        f"it):\n{text}", markup=False, timeout=8)

    def action_export(self) -> None:
        if self.report is None:
            return
        stamp = time.strftime("%Y%m%dT%H%M%S")
        try:
            self.export_dir.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            self.notify(f"cannot create {self.export_dir}: {exc.strerror}; set "
                        "ORACLE_TUI_EXPORT_DIR", severity="error", markup=False)
            return
        for n in range(1000):
            path = self.export_dir / f"oracle-tui-report-{stamp}{'-' + str(n) if n else ''}.json"
            try:
                with open(path, "x", encoding="utf-8") as fh:  # never overwrite
                    fh.write(redact(json.dumps(self.report.model_dump(mode="json"), indent=2)))
            except FileExistsError:
                continue
            self.notify(f"report written to {path}", markup=False)
            self.cli_log.append(self.cli("check", self.root, "--json") + f" > {path.name}")
            self.query_one(OverviewPane).show_cli_log(self.cli_log)
            return


def make_app(root: str, *, profile: str | Profile = "local", profiles_dir: str | None = None,
             interface_pack: str | InterfacePack | None = None, scenario_id: str | None = None,
             read_only: bool = False, export_dir: str | None = None) -> InspectorApp:
    """The one way to build the app: CLI, tests and screenshot script share it."""
    prof = profile if isinstance(profile, Profile) else load_profile(profile, profiles_dir)
    if isinstance(interface_pack, InterfacePack):
        pack = interface_pack
    else:
        pack = load_interface_pack(interface_pack) if interface_pack else prof.load_pack()
    return InspectorApp(root, profile=prof, interface_pack=pack, scenario_id=scenario_id,
                        read_only=read_only, export_dir=export_dir)
