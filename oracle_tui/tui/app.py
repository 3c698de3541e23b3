"""The inspector app (docs/contract.md): one explicitly given pack root, six panes, actions that run
the same core functions as the CLI as jobs (tui/jobs.py) with progress and cancel. This
module is wiring: layout, keys, job bookkeeping, routing typed results to panes and flows
(tui/flows.py).

Only messages, notify and call_from_thread cross from workers to the UI.
"""

from __future__ import annotations

import contextlib
import json
import os
import threading
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from textual import events, on, work
from textual.app import App, ComposeResult, SystemCommand
from textual.binding import Binding
from textual.css.query import NoMatches
from textual.screen import Screen
from textual.widgets import (
    DataTable,
    Header,
    Input,
    TabbedContent,
    TabPane,
)
from textual.worker import Worker, get_current_worker

from oracle_tui import startup
from oracle_tui.core.diff_ask import DiffAsk
from oracle_tui.core.errors import OracleError
from oracle_tui.core.interface_pack import InterfacePack, load_interface_pack
from oracle_tui.core.overview import PackOverview, pack_overview
from oracle_tui.core.pack import OpenedPack, open_pack, open_store
from oracle_tui.core.profiles import Profile, load_profile
from oracle_tui.core.progress import Cancelled, Progress
from oracle_tui.core.readability import blocked_by_each
from oracle_tui.core.redact import printable, redact, redact_model
from oracle_tui.core.report import CheckReport
from oracle_tui.core.requests import Address, CheckRequest, DiffRequest, command_line
from oracle_tui.core.view_location import sort_keys_for
from oracle_tui.tui import actions, flows, jobs
from oracle_tui.tui.code_panes import TITLES, pane_of
from oracle_tui.tui.diff_pane import DiffPane
from oracle_tui.tui.emphasis import emphasise_failures_without_colour
from oracle_tui.tui.jobs import (
    CheckDone,
    DiffDone,
    Job,
    JobBar,
    JobCancelled,
    JobFailed,
    JobFinished,
    JobProgress,
    OverviewReady,
    SealDone,
    SealPlanned,
    Tombstoned,
    ViewBuilt,
)
from oracle_tui.tui.panes import (
    FindingsPane,
    GatesPane,
    OutputsPane,
    OverviewPane,
    SealPane,
    StreamViewsPane,
    TablePane,
)
from oracle_tui.tui.screens import ErrorScreen, HelpScreen, WriteDialog, shown

if TYPE_CHECKING:
    from oracle_tui.core.views.reader import PreviewCache

# The background job that re-hashes every file after the first, quick look.
REHASH_LABEL = "re-hashing digests"
# Jobs that write (or plan a write): when one is refused, the verdict is taken again.
WRITE_LABELS = frozenset({"planning seal", "sealing", "building stream view", "tombstoning"})

PANES = ("overview", "gates", "outputs", "seal", "streams", "findings", "diff")


class InspectorApp(App[None]):
    CSS_PATH = "app.tcss"
    TITLE = "oracle-tui"
    # Below 100 columns the app carries -narrow: app.tcss trims the footer there.
    HORIZONTAL_BREAKPOINTS = [(0, "-narrow"), (100, "-wide")]
    ENABLE_COMMAND_PALETTE = True
    BINDINGS = [
        *actions.bindings(),
        *[Binding(str(i + 1), f"pane('{name}')", name.title(), show=False)
          for i, name in enumerate(PANES)],
    ]

    def __init__(self, root: str, *, profile: Profile, interface_pack: InterfacePack | None,
                 scenario_id: str | None = None, read_only: bool = False,
                 export_dir: str | None = None, profiles_dir: str | None = None,
                 interface_pack_dir: str | None = None, against: str | None = None,
                 diff_outputs: tuple[str, ...] = ()) -> None:
        super().__init__()
        emphasise_failures_without_colour(self)
        self.root = root
        self.against = against  # another world to compare with (the Diff pane)
        self.diff_outputs = diff_outputs  # compare only these, down to their rows
        self._diffed = False
        # Jobs to start once the running one's worker has ended (starting a job while the
        # previous one ends would cancel it): the full re-hash after a quick check, the
        # diff, the check after a refused write.
        self._queued: list[Any] = []
        # The operator stopped the background re-hash (esc): the screen says the digests
        # were not re-hashed until a full check runs.
        self.rehash_stopped = False
        self._looked: OpenedPack | None = None  # the pack the last quick look opened
        self.profile = profile
        # The catalogue and gate map: None until first used (`interface_pack`).
        self._interface_pack = interface_pack
        self._interface_pack_lock = threading.Lock()
        # Why the catalogue could not be read, when it could not: the inspector then ends
        # with that error, as every command does on a bad --interface-pack.
        self.interface_pack_error: OracleError | None = None
        # Set once the first screen is on the terminal: the first check parses the
        # catalogue only then (the upstream one takes ~50 ms, a tenth of the time to it).
        self._first_screen_drawn = threading.Event()
        self.scenario_id = scenario_id
        self.read_only = read_only
        # Where the profile and the interface pack came from, as the app was started: the
        # equivalent CLI commands name them too.
        self.profiles_dir = profiles_dir
        self.interface_pack_dir = interface_pack_dir
        # Exports go to one documented place (not wherever the app was started from).
        self.export_dir = Path(export_dir or os.environ.get("ORACLE_TUI_EXPORT_DIR")
                               or Path.home() / "oracle-tui-exports").absolute()
        self.report: CheckReport | None = None
        self.overview: PackOverview | None = None
        self.cli_log: list[str] = []
        self.job: Job | None = None
        # The view preview: one read at a time, the newest selection's; parts hashed once.
        self._preview_lock = threading.Lock()
        self._preview_cancel: threading.Event | None = None
        # Rows of proven view parts, by their listing entry (core.view_reader.preview_rows).
        self._preview_cache: PreviewCache = {}
        self.preview_reads = 0  # how many previews read a part (tests count them)
        # The title bar is printed like any text: masked and escaped.
        self.sub_title = printable(redact(root)) + ("  [read-only]" if read_only else "")

    @property
    def interface_pack(self) -> InterfacePack:
        """The catalogue and gate map, read on first use (by any thread; raises OracleError
        for one that cannot be read)."""
        with self._interface_pack_lock:
            if self._interface_pack is None:
                try:
                    self._interface_pack = (load_interface_pack(self.interface_pack_dir)
                                            if self.interface_pack_dir
                                            else self.profile.load_interface_pack())
                except OracleError as exc:
                    self.interface_pack_error = exc
                    raise
            return self._interface_pack

    def settle_interface_pack(self) -> None:
        """Once the session has ended: raise the OracleError of a catalogue that cannot be
        read, whether or not the session got as far as reading it (it is parsed after the
        first screen, and a first look that failed or was left never did), so that inspect
        ends on it as every command does."""
        if self.report is None:
            self.interface_pack  # noqa: B018 (read for what it raises)

    # -- layout ----------------------------------------------------------------------------------
    def compose(self) -> ComposeResult:
        yield Header(show_clock=False, icon="●")
        with TabbedContent(id="panes", initial="overview"):
            with TabPane(TITLES["overview"], id="overview"):
                yield OverviewPane()
            with TabPane(TITLES["gates"], id="gates"):
                yield GatesPane()
            with TabPane(TITLES["outputs"], id="outputs"):
                yield OutputsPane()
            with TabPane(TITLES["seal"], id="seal"):
                yield SealPane()
            with TabPane(TITLES["streams"], id="streams"):
                yield StreamViewsPane()
            with TabPane("6 Findings", id="findings"):
                yield FindingsPane()
            if self.against:
                with TabPane("7 Diff", id="diff"):
                    yield DiffPane(self.against)
        yield JobBar(id="jobbar")
        # Compact, and the palette hint left to the help screen: every key fits in 100
        # columns; below that the optional keys give way (? lists them all).
        yield actions.KeyFooter(compact=True, show_command_palette=False)

    def on_mount(self) -> None:
        # Start-up ends once the Overview's facts are drawn (_first_screen_done), or a second
        # from now, whichever comes first: the collector is not held off while the first
        # look waits on a slow store.
        self.set_timer(1.0, startup.resume)
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

    def notify(self, message: str, *, title: str = "", **kwargs: Any) -> None:
        """Every toast passes here, masked: the TUI's one choke point for free text (data
        comes masked from redact_model, dialogs mask their own text)."""
        kwargs["markup"] = False  # a toast's text is data (a path, a pack id), never markup
        super().notify(shown(message), title=shown(title), **kwargs)

    # -- jobs ------------------------------------------------------------------------------------
    def address(self) -> Address:
        """Where this session runs, as the operator started it: every logged command names
        the same root, profile, interface pack and scenario."""
        return Address(root=self.root, profile=self.profile.name,
                       profiles_dir=self.profiles_dir, interface_pack=self.interface_pack_dir,
                       scenario_id=self.scenario_id)

    @property
    def queued_jobs(self) -> int:
        """Jobs waiting for the running one's worker to end."""
        return len(self._queued)

    @property
    def job_label(self) -> str | None:
        return self.job.label if self.job is not None else None

    def busy(self) -> bool:
        if self.job is not None:
            self.notify(f"busy: {self.job.label} (esc cancels)", severity="warning")
            return True
        return False

    def run_job(self, job: Job) -> None:
        if self.busy():
            return
        self.job = job
        self.query_one(JobBar).start(job.label)
        jobs.run(self, job)

    def _job_done(self) -> None:
        self.job = None
        self.query_one(JobBar).stop()

    def on_job_progress(self, msg: JobProgress) -> None:
        self.query_one(JobBar).show_progress(msg.done, msg.total)

    def on_job_finished(self, msg: JobFinished) -> None:
        self._job_done()
        if msg.cli:
            self.cli_log.append(redact(msg.cli))  # kept masked: it is shown and exported
            self.query_one(OverviewPane).show_cli_log(self.cli_log)
        if msg.summary:
            self.notify(msg.summary, title=msg.label, markup=False)

    def on_job_failed(self, msg: JobFailed) -> None:
        self._job_done()
        if self.interface_pack_error is not None and self.report is None:
            self.exit(return_code=2)  # the command's one-line error (cli._run_tui)
            return
        self.push_screen(ErrorScreen(msg.code, msg.message, msg.cli))
        if msg.label in WRITE_LABELS:
            # A refused write says something about the pack: the verdict is taken again.
            self._queued.append(lambda: self.start_check(verify_digests=False))

    def on_job_cancelled(self, msg: JobCancelled) -> None:
        self._job_done()
        if msg.label == REHASH_LABEL and self.report is not None:
            self.rehash_stopped = True
            self.query_one(OverviewPane).show_report(self.report, self.cli_log,
                                                     rehash="stopped",
                                                     read_only=self.read_only)
            self.notify("re-hash stopped: the digests were not re-hashed (d re-hashes)",
                        severity="warning")
            return
        self.notify(f"{msg.label} cancelled; nothing half-done was kept", severity="warning")

    def _stop_work(self) -> None:
        """One cancel path: the running job's and the preview's cancel events (the core
        stops at its next chunk or DuckDB statement), whether the operator cancelled, quit,
        or the app is going away."""
        if self.job is not None:
            self.job.cancel.set()
        if self._preview_cancel is not None:
            self._preview_cancel.set()

    async def on_event(self, event: events.Event) -> None:
        # A key typed or a click made before a write confirmation was on screen (Tab, Enter
        # in quick succession after the release) is not an answer to it: dropped, and the
        # dialog says so.
        if isinstance(event, (events.Key, events.MouseDown, events.MouseUp, events.Click)) \
                and isinstance(self.screen, WriteDialog) and self.screen.typed_ahead(event):
            return
        await super().on_event(event)

    def action_help_quit(self) -> None:
        """Ctrl-C does not quit a TUI (it copies in an input); say which key does, in plain
        words (toasts here never take markup)."""
        for key, active in self.active_bindings.items():
            if active.binding.action in ("quit", "app.quit"):
                self.notify(f"Press {key} to quit the app", title="Do you want to quit?")
                return

    async def action_quit(self) -> None:
        self._stop_work()
        self.exit()

    def on_unmount(self) -> None:
        self._stop_work()

    def action_cancel(self) -> None:
        if self.job is not None:
            self.job.cancel.set()
        elif self.query_one("#findings-filter", Input).has_focus:
            self.query_one("#findings-filter", Input).value = ""
            self.query_one(FindingsPane).focus_main()

    def open_pack(self) -> OpenedPack:
        """The inspected root, opened afresh for one job (a job's steps share its listing)."""
        return open_pack(self.root, profile=self.profile, interface_pack=self.interface_pack,
                         scenario_id=self.scenario_id)

    # -- check -----------------------------------------------------------------------------------
    def start_check(self, verify_digests: bool, initial: bool = False,
                    follow_up: OpenedPack | None = None) -> None:
        """``follow_up``: the pack the quick look just opened; the background re-hash that
        follows it continues that look on its listing instead of listing again."""
        request = CheckRequest(at=self.address(), quick=not verify_digests)

        def body(progress: Progress, cancel: threading.Event) -> CheckDone:
            # Each check lists afresh (its steps share the listing), but for the re-hash
            # that continues a quick look.
            pack = follow_up or (self._first_look(cancel) if initial else self.open_pack())
            if not verify_digests:
                self._looked = pack
            report = request.run(pack, progress, cancel)
            counts = report.counts()
            return CheckDone(report, "" if initial else
                             f"{report.verdict}: {counts['FAIL']} fail, {counts['WARN']} warn")

        label = REHASH_LABEL if verify_digests else "checking (quick)"
        if verify_digests:
            self.rehash_stopped = False
        # Logged as the command that proves what this check proves (the request's own argv).
        self.run_job(Job(label, body, "" if initial else command_line(request.argv())))

    def _first_look(self, cancel: threading.Event) -> OpenedPack:
        """The first check's pack (in its worker): the Overview's facts are read from the
        store alone and drawn; only then is the catalogue parsed and the check begun."""
        pack = open_store(self.root, profile=self.profile, scenario_id=self.scenario_id)
        self.post_message(OverviewReady(pack_overview(pack)))
        while not self._first_screen_drawn.wait(0.05):
            if cancel.is_set():
                raise Cancelled()
        return pack.with_interface_pack(self.interface_pack)

    def on_overview_ready(self, msg: OverviewReady) -> None:
        self.overview = redact_model(msg.overview)
        self.query_one(OverviewPane).show_overview(self.overview, self.profile.name,
                                                   self.profile.strict_seal)
        if not self.overview.exists and self.overview.problem is not None:
            self.push_screen(ErrorScreen(*self.overview.problem))
        self.call_after_refresh(self._first_screen_done)

    def _first_screen_done(self) -> None:
        startup.resume()
        self._first_screen_drawn.set()

    def start_diff(self, rows_of: str | None = None) -> None:
        """Compare with the other world (the outputs asked for at start, or all); ``rows_of``:
        that one output, down to its rows (Enter on its row), merged into the pane."""
        assert self.against is not None
        against = self.against
        outputs = [rows_of] if rows_of else list(self.diff_outputs) or None
        request = DiffRequest(at=self.address(), against=against,
                              ask=DiffAsk(output_ids=outputs))

        def body(progress: Progress, cancel: threading.Event) -> DiffDone:
            other = open_pack(against, profile=self.profile, interface_pack=self.interface_pack,
                              scenario_id=self.scenario_id)
            return DiffDone(request.run(self.open_pack(), other, progress, cancel), rows_of)

        label = f"comparing the rows of {rows_of}" if rows_of else f"comparing with {against}"
        self.run_job(Job(label, body, command_line(request.argv())))

    @on(DataTable.RowSelected, "#diff-table")
    def _diff_rows(self, event: DataTable.RowSelected) -> None:
        """Enter on an output of the Diff pane: its rows compared (for worlds of different
        identity too: naming the output asks for them, as `diff --output-id` does)."""
        output_id = event.row_key.value
        pane = self.query_one(DiffPane)
        if output_id and pane.needs_rows(str(output_id)) and self.job is None:
            self.start_diff(rows_of=str(output_id))

    def on_diff_done(self, msg: DiffDone) -> None:
        pane = self.query_one(DiffPane)
        if msg.rows_of is not None:
            pane.merge_rows(redact_model(msg.report), msg.rows_of)
        else:
            pane.show_diff(redact_model(msg.report))

    def on_check_done(self, msg: CheckDone) -> None:
        # Everything shown (and exported, copied) comes from a copy with secrets masked.
        blocks = blocked_by_each(msg.report)  # attribution needs the whole report
        self.report = r = redact_model(msg.report)
        # A quick look is followed by the full re-hash, in the background, by itself.
        follows = not r.digests_rehashed and r.judged
        self.query_one(OverviewPane).show_report(r, self.cli_log,
                                                 rehash="running" if follows else "",
                                                 read_only=self.read_only)
        self.query_one(GatesPane).show_report(r)
        self.query_one(OutputsPane).show_report(r)
        self.query_one(SealPane).show_report(r)
        self.query_one(StreamViewsPane).show_report(r)
        self.query_one(FindingsPane).show_report(r, blocks)
        # A rebuilt or removed view changes the first rows of the row the cursor is on.
        selected = self.query_one(StreamViewsPane).selected_output()
        if selected is not None:
            self._preview(selected)
        if follows:
            looked = self._looked
            self._queued.append(lambda: self.start_check(verify_digests=True,
                                                         follow_up=looked))
        elif self.against and not self._diffed:
            # Once a session (`oracle-tui diff` compares again), on the full check.
            self._diffed = True
            self._queued.append(self.start_diff)

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        if event.worker.group == "job" and event.worker.is_finished and self.job is None \
                and self._queued:
            self._queued.pop(0)()

    def action_recheck(self) -> None:
        self.start_check(verify_digests=False)

    def action_verify_digests(self) -> None:
        self.action_pane("outputs")
        self.start_check(verify_digests=True)

    # -- write and verify flows (tui/flows.py) -------------------------------------------------
    def scenario(self) -> str | None:
        if self.scenario_id:
            return self.scenario_id
        return self.report.world_key.scenario_id if self.report and self.report.world_key \
            else None

    def action_seal(self) -> None:
        if not (self.read_only or self.busy()):
            flows.start_seal(self)

    def on_seal_planned(self, msg: SealPlanned) -> None:
        flows.confirm_seal(self, msg)

    def on_seal_done(self, msg: SealDone) -> None:
        self._queued.append(lambda: self.start_check(False))

    def selected_output(self) -> str | None:
        """The output under the cursor: in the Outputs pane when it is shown, else in the
        Stream views pane."""
        if self.query_one("#panes", TabbedContent).active == "outputs":
            return self.query_one(OutputsPane).selected_output()
        return self.query_one(StreamViewsPane).selected_output()

    def action_build_view(self) -> None:
        if self.read_only or self.busy():
            return
        output = self.selected_output()
        if output is None:
            self.notify("select an output in the Stream views pane first", severity="warning")
            return
        flows.start_build(self, output)

    def on_view_built(self, msg: ViewBuilt) -> None:
        self._queued.append(lambda: self.start_check(False))

    def action_verify_view(self) -> None:
        output = self.selected_output()
        if output is not None and not self.busy():
            flows.start_verify(self, output)

    def action_tombstone(self) -> None:
        if not (self.read_only or self.busy()):
            flows.start_tombstone(self)

    def on_tombstoned(self, msg: Tombstoned) -> None:
        self._queued.append(lambda: self.start_check(False))

    # -- the first rows of a view ----------------------------------------------------------------
    @on(DataTable.RowHighlighted, "#views-table")
    def _preview_view(self, event: DataTable.RowHighlighted) -> None:
        if event.row_key.value is not None:
            self._preview(str(event.row_key.value))

    def _preview(self, output: str) -> None:
        if self.report is None:
            return
        state = next((v for v in self.report.stream_views if v.output_id == output), None)
        with contextlib.suppress(NoMatches):  # the app is closing
            self.query_one(StreamViewsPane).show_timeline(state)
        if state is None or state.state != "VALID":
            # Where rows would be, what to do instead.
            hint = "press b to build it" if state is not None and state.state == "MISSING" \
                else "its findings: pane 6"
            self._show_preview(["no rows shown"], [
                (f"view {state.state if state else 'unknown'}: {hint}",)])
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
        """The first rows of the selected view, on the session's check and its one decision
        (the core refuses a quick check, a blocked output, a view not VALID), its first part
        copied while hashed. One read at a time: a newer selection cancels this one, which
        stops at its next chunk."""
        from oracle_tui.core.views.reader import preview_rows

        if self._preview_cancel is not None:
            self._preview_cancel.set()
        cancel = self._preview_cancel = threading.Event()
        report = self.report
        why = ""
        with self._preview_lock:
            if cancel.is_set() or report is None:
                return
            self.preview_reads += 1
            try:
                batch = preview_rows(self.open_pack(), report, output,
                                     cache=self._preview_cache, cancel=cancel)
            except OracleError as exc:
                batch, why = None, f"{exc.code}: {exc.message}"
            except Cancelled:
                batch = None
        if cancel.is_set() or get_current_worker().is_cancelled:
            return  # a newer selection owns the preview now
        if batch is None or not batch.num_rows:
            # Never the previous rows; the reason in their place.
            self.call_from_thread(self._show_preview, ["no rows shown"] if why else [],
                                  [(why,)] if why else [])
            return
        # The sort keys first: they are what an operator checks in a preview.
        keys = [k for k in sort_keys_for(self.profile, self.interface_pack, output)
                if k in batch.schema.names]
        names = keys + [n for n in batch.schema.names if n not in keys]
        rows = list(zip(*[batch.column(n).to_pylist() for n in names], strict=True))
        self.call_from_thread(self._show_preview, names, rows)

    # -- navigation, copy, export ------------------------------------------------------------------
    def action_pane(self, name: str) -> None:
        if name == "diff" and not self.against:
            self.notify("no other world to compare: start with inspect A --against B",
                        severity="warning")
            return
        self.query_one("#panes", TabbedContent).active = name
        # Focus the pane's main table, so focus never stays behind in a hidden pane (which
        # would pull the tabs back to it).
        pane = self.query_one(f"#{name} > *")
        if isinstance(pane, TablePane):
            pane.focus_main()
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
        self.query_one(FindingsPane).focus_main()

    @on(DataTable.RowSelected, "#findings-table")
    def _jump(self, event: DataTable.RowSelected) -> None:
        """From a finding to the row of its subject: a gate, a view, an output, a control
        file of the pack."""
        finding = self.query_one(FindingsPane).selected()
        if finding is None or self.report is None:
            return
        subject = finding.subject
        name = pane_of(finding.code)  # the pane that lists this code's findings
        self.action_pane(name)
        pane = self.query_one(f"#{name} > *")
        if isinstance(pane, TablePane):
            pane.jump_to(subject)

    def copy_text(self) -> str | None:
        active = self.query_one("#panes", TabbedContent).active
        if self.report is None:
            return None
        if active == "findings":
            f = self.query_one(FindingsPane).selected()
            return f"{f.code} {f.subject}: {f.detail}" if f else None
        if active == "gates":
            gate_id = self.query_one(GatesPane).selected_key()
            gate = next((g for g in self.report.gates if g.gate_id == gate_id), None)
            return gate.recomputed_digest if gate else None
        if active == "seal":
            return self.report.seal.oracle_pack_id
        if active == "outputs":
            output_id = self.query_one(OutputsPane).selected_key()
            output = next((o for o in self.report.outputs if o.output_id == output_id), None)
            return output.path if output else None
        return self.report.root  # what a command takes: pasted as is, no verdict in front

    def action_copy(self) -> None:
        text = self.copy_text()
        if text:
            # OSC 52 asks the terminal to copy; no terminal confirms it, so say what was sent
            # and show the whole value, which can be selected from the toast if it did not.
            self.copy_to_clipboard(text)
            self.notify(f"sent to the terminal's clipboard (OSC 52; some terminals ignore "
                        f"it):\n{printable(text)}", markup=False, timeout=8)

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
            # The command that writes the same report: quick when this one was.
            same = CheckRequest(at=self.address(), quick=not self.report.digests_rehashed)
            self.cli_log.append(command_line([*same.argv(), "--json"]) + f" > {path.name}")
            self.query_one(OverviewPane).show_cli_log(self.cli_log)
            return


def make_app(root: str, *, profile: str | Profile = "local", profiles_dir: str | None = None,
             interface_pack: str | InterfacePack | None = None, scenario_id: str | None = None,
             read_only: bool = False, export_dir: str | None = None,
             against: str | None = None, diff_outputs: tuple[str, ...] = ()) -> InspectorApp:
    """The one way to build the app: CLI, tests and screenshot script share it."""
    prof = profile if isinstance(profile, Profile) else load_profile(profile, profiles_dir)
    # A catalogue named by its folder is parsed once the first screen is drawn.
    catalogue = interface_pack if isinstance(interface_pack, InterfacePack) else None
    return InspectorApp(root, profile=prof, interface_pack=catalogue, scenario_id=scenario_id,
                        read_only=read_only, export_dir=export_dir, profiles_dir=profiles_dir,
                        interface_pack_dir=interface_pack if isinstance(interface_pack, str)
                        else None, against=against, diff_outputs=diff_outputs)
