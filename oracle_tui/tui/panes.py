"""The six panes. Each renders a CheckReport (or an overview) handed to it by the app."""

from __future__ import annotations

import json
from typing import Any

from rich.console import Group
from rich.text import Text
from textual import events
from textual.app import ComposeResult
from textual.containers import Vertical, VerticalScroll
from textual.css.query import NoMatches
from textual.widgets import DataTable, Input, Label, Static
from textual.widgets.data_table import RowDoesNotExist

from oracle_tui.core.findings import (
    Finding,
    first_difference,
    grouped_for_display,
)
from oracle_tui.core.gates import MemberCheck
from oracle_tui.core.guidance import context_of, guidance
from oracle_tui.core.overview import PackOverview
from oracle_tui.core.redact import printable, redact
from oracle_tui.core.report import CheckReport, StreamViewSection
from oracle_tui.core.timeline import RowsOverTime, picture_lines
from oracle_tui.tui.code_panes import TITLES, codes_of_pane, pane_of
from oracle_tui.tui.plain import PATH_CELL, DataGrid, PlainGrid, elide_middle

VERDICT_STYLE = {"PASS": "bold white on dark_green", "WARN": "bold black on yellow",
                 "FAIL": "bold white on red", "…": "bold white on grey37",
                 "NOT CHECKED": "bold black on yellow"}
LIFECYCLE_STYLE = {"STAGING": "yellow", "SEALED_OK": "green", "SEALED_FAILED": "red",
                   "TOMBSTONED": "red", "ABSENT": "red", "EMPTY": "red", "UNKNOWN": "yellow"}
# The lifecycle in words beside a verdict: "FAIL  SEALED_OK" reads as a contradiction,
# "FAIL · do not read" and "seal: intact (SEALED_OK)" do not.
LIFECYCLE_WORDS = {"STAGING": "not sealed yet (staging)", "SEALED_OK": "sealed (SEALED_OK)",
                   "SEALED_FAILED": "sealing failed (SEALED_FAILED)",
                   "TOMBSTONED": "withdrawn (tombstoned)", "ABSENT": "no pack at this root",
                   "EMPTY": "an empty root", "UNKNOWN": "unknown: the root could not be read"}
VERDICT_WORDS = {"PASS": "readable", "WARN": "readable, with warnings",
                 "FAIL": "do not read", "…": "checking"}
SEV_STYLE = {"FAIL": "red", "WARN": "yellow", "INFO": "cyan"}
STATUS_STYLE = {"PASS": "green", "FAIL": "red", "READABLE": "green", "BLOCKED": "red",
                "OUTDATED": "red", "MISSING": "dim", "VALID": "green", "INVALID": "red",
                "PARTIAL": "red", "UNVERIFIED": "yellow"}
# An output without files is a failure; a view not built yet is only not there yet.
OUTPUT_STATUS_STYLE = {**STATUS_STYLE, "MISSING": "red"}


# Which pane lists which findings: the code registry's grouping (core/codes.py).
OUTPUT_CODES = codes_of_pane("outputs")
SEAL_CODES = codes_of_pane("seal")
GATE_CODES = codes_of_pane("gates")
STREAM_CODES = codes_of_pane("streams")
OVERVIEW_CODES = codes_of_pane("overview")
# Findings of one severity the Overview names before "+N more".
OVERVIEW_PER_SEVERITY = 3
# Rows shown per code before a "… and N more" row (JSON export and the filter keep them all).
ROWS_PER_CODE = 100
# Members of one gate listed before "… and N more" (failing ones first when cut).
MEMBERS_SHOWN = 200


def members_to_show(members: list[MemberCheck], limit: int) -> tuple[list[MemberCheck], int]:
    """The members a table lists and how many it leaves out: all of them, in the index's
    order, when they fit; otherwise the failing ones first, so a cut never hides one."""
    if len(members) <= limit:
        return members, 0
    ordered = [m for m in members if not m.ok] + [m for m in members if m.ok]
    return ordered[:limit], len(members) - limit


def styled(value: str, table: dict[str, str]) -> Text:
    return Text(value, style=table.get(value, ""))


def preview_cell(value: Any) -> str:
    """A cell of the view preview: long identifiers (hex digests) shortened; no value as
    NULL, as SQL tools show it (not Python's None)."""
    if value is None:
        return "NULL"
    text = printable(redact(str(value)))
    if len(text) >= 32 and all(c in "0123456789abcdef" for c in text):
        return text[:12] + "…"
    return text if len(text) <= 40 else text[:39] + "…"


def short(digest: str | None, n: int = 16) -> str:
    return "—" if not digest else digest[:n] + "…"


def digest_pair(label_a: str, a: str | None, label_b: str, b: str | None) -> Text:
    """Two digests in full, one above the other, the first differing character marked."""
    text = Text()
    text.append(f"{label_a:<11}{a or '—'}\n")
    text.append(f"{label_b:<11}{b or '—'}")
    if a and b:
        at = first_difference(a, b)
        if at is None:
            text.append("\n" + " " * 11 + "equal", style="green")
        else:
            text.append("\n" + " " * (11 + at) + f"^ differ from character {at + 1}",
                        style="bold red")
    return text


def gate_detail(gate: Any, report: CheckReport) -> Group:
    """A gate as an operator triages it: method and flag, both digests in full, and, when
    it did not PASS, every finding that says why (which member, which rule)."""
    parts: list[Any] = [Text(f"{gate.gate_id}: {gate.status} under {gate.method}",
                             style="bold " + STATUS_STYLE.get(gate.status, "")),
                        Text(f"flag       {printable(gate.flag_path)}")]
    parts.append(digest_pair("flag says", gate.expected_digest, "recomputed",
                             gate.recomputed_digest))
    why = [f for f in report.findings if f.subject == gate.gate_id
           or f.subject.startswith(gate.bundle_root) or f.subject in (gate.flag_path,
                                                                     gate.index_path)]
    for f in why:
        parts.append(Text(f"{f.severity.value} {f.code}: {printable(f.detail)}",
                          style=SEV_STYLE[f.severity.value]))
    if gate.status != "PASS" and not why:
        parts.append(Text("no finding names this gate: see pane 6", style="dim"))
    return Group(*parts)


class OverviewPane(VerticalScroll):
    def compose(self) -> ComposeResult:
        yield Static(id="badge")
        yield Static(id="overview-body")
        yield Label("Equivalent CLI commands", classes="section-title")
        yield Static("(none yet)", id="cli-log", markup=False)

    def show_overview(self, ov: PackOverview, profile: str, strict: bool) -> None:
        badge = Text()
        badge.append("  …  ", style=VERDICT_STYLE["…"])
        badge.append(f"  {ov.lifecycle}", style="bold " + LIFECYCLE_STYLE.get(ov.lifecycle, ""))
        badge.append(f"   {ov.root}", style="bold")
        badge.append("   recomputing gates…", style="dim")
        self.query_one("#badge", Static).update(badge)
        grid = PlainGrid()
        grid.add_row("profile", f"{profile} (strict seal {'on' if strict else 'off'})")
        grid.add_row("files", Text("listing every file…", style="dim"))
        if ov.oracle_pack_id:
            grid.add_row("pack id", ov.oracle_pack_id)
        for k, v in sorted((ov.run_receipt or {}).items()):
            grid.add_row(f"receipt.{k}", str(v))
        if ov.problem:
            grid.add_row(Text("error", style="red"), f"{ov.problem[0]}: {ov.problem[1]}")
        self.query_one("#overview-body", Static).update(grid)

    def show_report(self, r: CheckReport, cli_log: list[str], rehash: str = "",
                    read_only: bool = False) -> None:
        """``rehash``: "running" while the background re-hash follows this quick report,
        "stopped" once the operator stopped it, "" otherwise."""
        c = r.counts()
        badge = Text()
        quick = not r.digests_rehashed and r.judged
        if not r.judged:
            badge.append("  NOT CHECKED  ", style=VERDICT_STYLE["NOT CHECKED"])
            badge.append(" nothing of the pack was read", style="bold")
        else:
            badge.append(f"  {r.verdict}{' (quick)' if quick else ''}  ",
                         style=VERDICT_STYLE[r.verdict])
            badge.append(f" {VERDICT_WORDS[r.verdict]}" + (" so far" if quick and
                                                            r.verdict != "FAIL" else ""),
                         style="bold")
        badge.append(f"   lifecycle: {LIFECYCLE_WORDS.get(r.seal.lifecycle, r.seal.lifecycle)}",
                     style=LIFECYCLE_STYLE.get(r.seal.lifecycle, ""))
        badge.append(f"   {c['FAIL']} fail", style="red" if c["FAIL"] else "dim")
        badge.append(f" · {c['WARN']} warn", style="yellow" if c["WARN"] else "dim")
        badge.append(f" · {c['INFO']} info", style="dim")
        if quick:
            badge.append("   re-hashing every file… (esc stops)" if rehash == "running" else
                         "   digests not re-hashed (d re-hashes)", style="bold yellow")
        self.query_one("#badge", Static).update(badge)
        grid = PlainGrid()
        # What to do and what is wrong first: on an 80x24 terminal the verdict, the next
        # step and the first FAIL lines show without scrolling; the details follow.
        grid.add_row("next", self._next_step(r, rehash, read_only))
        grid.add_row("readable", self._readable_line(r))
        for severity in ("FAIL", "WARN"):
            shown = [f for f in r.findings if f.severity.value == severity]
            for f in shown[:OVERVIEW_PER_SEVERITY]:
                grid.add_row(Text(severity, style=SEV_STYLE[severity]),
                             f"{f.code}  {elide_middle(f.subject, 80)}")
            if len(shown) > OVERVIEW_PER_SEVERITY:
                grid.add_row(Text(severity, style=SEV_STYLE[severity]),
                             Text(f"+{len(shown) - OVERVIEW_PER_SEVERITY:,} more (pane 6)",
                                  style="bold"))
        grid.add_row("verified", r.verified)
        grid.add_row("root", elide_middle(r.root, 100))
        grid.add_row("profile", f"{r.profile} (strict seal {'on' if r.strict_seal else 'off'})")
        if r.world_key is not None:
            wk = r.world_key
            grid.add_row("world key", f"manifest_fingerprint {wk.manifest_fingerprint}")
            grid.add_row("", f"parameter_hash       {wk.parameter_hash}")
            grid.add_row("", f"scenario_id          {wk.scenario_id}")
            grid.add_row("", f"seed                 {wk.seed}")
        if r.seal.oracle_pack_id:
            grid.add_row("pack id", r.seal.oracle_pack_id)
        grid.add_row("files", f"{r.files_listed:,} listed"
                     + (f", {r.seal.files_hashed:,} re-hashed" if r.seal.digests_verified
                        else ""))
        gates_ok = sum(g.status == "PASS" for g in r.gates)
        grid.add_row("gates", f"{gates_ok}/{len(r.gates)} PASS" if r.gates else
                     Text("none verified (the check stopped before the gates)", style="red"))
        if r.run_receipt:
            grid.add_row("run_id", str(r.run_receipt.get("run_id")))
            grid.add_row("created", str(r.run_receipt.get("created_utc", "—")))
        self.query_one("#overview-body", Static).update(grid)
        self.show_cli_log(cli_log)

    @staticmethod
    def _next_step(r: CheckReport, rehash: str = "", read_only: bool = False) -> Text:
        """One line that tells an operator what this state means for them. A quick check
        never says "readable" or "seal it": its bytes were not re-hashed. A read-only
        session names the command, not a key it does not have."""
        if r.seal.lifecycle == "TOMBSTONED":
            return Text("Withdrawn for good: do not read. See pane 4 for who and why.",
                        style="bold red")
        if r.verdict == "FAIL":
            return Text("Do not read this pack. Start with the FAIL findings (pane 6, enter "
                        "jumps to the subject).", style="bold red")
        if not r.digests_rehashed:
            if rehash == "running":
                return Text("Quick look only: every file is being re-hashed (esc stops); the "
                            "verdict follows when it ends.", style="bold yellow")
            return Text("The digests were not re-hashed: press d before sealing or reading "
                        "(nothing is proven readable yet).", style="bold yellow")
        if r.seal.lifecycle == "STAGING":
            how = ("`oracle-tui seal` outside this read-only session" if read_only
                   else "press s")
            return Text(f"Gates PASS but the pack is not sealed yet: {how} to seal it.",
                        style="bold yellow")
        missing = sum(v.state == "MISSING" for v in r.stream_views)
        if missing:
            how = ("`oracle-tui stream-view build` outside this read-only session" if read_only
                   else "pane 5, then b")
            return Text(f"Sealed and readable. {missing} output(s) have no stream view yet: "
                        f"{how}.", style="bold green")
        return Text("Sealed and readable; stream views are in place.", style="bold green")

    @staticmethod
    def _readable_line(r: CheckReport) -> Text:
        ok = sum(o.readable for o in r.outputs)
        if not r.digests_rehashed:
            return Text(f"{ok}/{len(r.outputs)} outputs pass the quick check (bytes not "
                        "re-hashed yet)", style="yellow" if ok == len(r.outputs) else "red")
        t = Text(f"{ok}/{len(r.outputs)} outputs readable",
                 style="green" if r.outputs and ok == len(r.outputs) else "red")
        return t

    def show_cli_log(self, cli_log: list[str]) -> None:
        text = "\n".join(f"$ {printable(redact(c))}" for c in cli_log[-6:]) or "(none yet)"
        self.query_one("#cli-log", Static).update(text)


class TablePane(Vertical):
    """A pane whose main widget is a table keyed by subject (gate id, output id, ...)."""

    MAIN = ""

    def main_table(self) -> DataTable[Any]:
        return self.query_one(self.MAIN, DataTable)

    def focus_main(self) -> None:
        self.main_table().focus()

    def selected_key(self) -> str | None:
        table = self.main_table()
        if table.row_count == 0:
            return None
        key = table.coordinate_to_cell_key(table.cursor_coordinate).row_key.value
        return str(key) if key else None

    def jump_to(self, subject: str) -> bool:
        """Put the cursor on ``subject``'s row; False when it has none."""
        table = self.main_table()
        try:
            table.move_cursor(row=table.get_row_index(subject))
        except RowDoesNotExist:
            return False
        return True


class GatesPane(TablePane):
    MAIN = "#gates-table"
    _members_of: tuple[int, str] | None = None  # (report, gate) the member table shows

    def compose(self) -> ComposeResult:
        yield DataGrid(id="gates-table", cursor_type="row", zebra_stripes=True)
        yield Static("", id="gate-detail", markup=False)
        yield Label("Index members of the selected gate", classes="section-title")
        yield DataGrid(id="members-table", cursor_type="row")

    def on_mount(self) -> None:
        self.query_one("#gates-table", DataTable).add_columns(
            "gate", "method", "status", "flag says", "recomputed", "flag path")

    def show_report(self, r: CheckReport) -> None:
        self.report = r
        table = self.query_one("#gates-table", DataTable)
        table.clear()
        # The flag path gets what the other columns leave (its whole value is shown below).
        digest = len(short("x" * 64))  # the flag says / recomputed cells
        widths = [max((len(g.gate_id) for g in r.gates), default=4),
                  max((len(g.method) for g in r.gates), default=6), len("status"), digest,
                  digest]
        taken = sum(w + 2 for w in widths)
        path_width = max(24, min(PATH_CELL, self.app.size.width - taken - 6))
        for g in r.gates:
            table.add_row(g.gate_id, g.method, styled(g.status, STATUS_STYLE),
                          short(g.expected_digest), short(g.recomputed_digest),
                          elide_middle(g.flag_path, path_width), key=g.gate_id)
        if r.gates:
            # The cursor starts on the first gate that failed: what an operator came for.
            first = next((i for i, g in enumerate(r.gates) if g.status != "PASS"), 0)
            table.move_cursor(row=first)
            self.show_members(r.gates[first].gate_id)

    def show_members(self, gate_id: str) -> None:
        members = self.query_one("#members-table", DataTable)
        gate = next((g for g in self.report.gates if g.gate_id == gate_id), None)
        if gate is None:
            members.clear()
            self._members_of = None
            return
        if self._members_of == (id(self.report), gate_id):
            return  # the cursor landed on the gate already shown
        self._members_of = (id(self.report), gate_id)
        self.query_one("#gate-detail", Static).update(gate_detail(gate, self.report))
        # The member column as wide as its longest path (never cut beside free space).
        members.clear(columns=True)
        width = min(80, max([len(m.path) for m in gate.members] + [len("member")]))
        members.add_column("member", width=width)
        members.add_columns("expected sha256", "actual sha256", "bytes", "ok")
        shown, hidden = members_to_show(gate.members, MEMBERS_SHOWN)
        for m in shown:
            members.add_row(elide_middle(m.path, width), short(m.expected_sha256, 20),
                            short(m.actual_sha256, 20),
                            "—" if m.size is None else f"{m.size:,}",
                            Text("yes", style="green") if m.ok else Text("NO", style="red"))
        if hidden:
            members.add_row(Text(f"… and {hidden:,} more", style="bold"),
                            "all of them in the JSON export", "", "", "")

    def on_data_table_row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        if event.data_table.id == "gates-table" and event.row_key.value:
            self.show_members(str(event.row_key.value))


class OutputsPane(TablePane):
    MAIN = "#outputs-table"

    def selected_output(self) -> str | None:
        return self.selected_key()

    def compose(self) -> ComposeResult:
        yield DataGrid(id="outputs-table", cursor_type="row", zebra_stripes=True)
        yield Label("digests: not verified in this session (press d; progress shows below)",
                    id="digest-label")
        yield DataGrid(id="files-table", cursor_type="row")
        yield Static("", id="file-detail", markup=False)

    def on_mount(self) -> None:
        self.query_one("#outputs-table", DataTable).add_columns(
            "output", "status", "parts", "bytes", "required gates", "blocked by")
        self.query_one("#files-table", DataTable).add_columns("file", "problem", "detail")

    def show_report(self, r: CheckReport) -> None:
        table = self.query_one("#outputs-table", DataTable)
        table.clear()
        for o in r.outputs:
            table.add_row(o.output_id, styled(o.status, OUTPUT_STATUS_STYLE), str(o.parts),
                          f"{o.bytes:,}", str(len(o.required_gates)),
                          ", ".join(o.blocking) or "—", key=o.output_id)
        files = self.query_one("#files-table", DataTable)
        files.clear()
        self.file_subjects: list[str] = []  # full paths, by row
        damaged = [f for f in r.findings if f.code in OUTPUT_CODES]
        for group in grouped_for_display(damaged, keep=ROWS_PER_CODE, threshold=ROWS_PER_CODE):
            for f in group.shown:
                files.add_row(elide_middle(f.subject), Text(f.code, style="red"), f.detail,
                              key=str(len(self.file_subjects)))
                self.file_subjects.append(f.subject)
            if group.hidden:
                files.add_row(Text(f"… and {group.hidden:,} more", style="bold"),
                              Text(group.code, style="red"), "all of them in pane 6 and the "
                                                             "JSON export",
                              key=str(len(self.file_subjects)))
                self.file_subjects.append("")
        files.display = files.row_count > 0  # shown only when a file needs attention
        detail = self.query_one("#file-detail", Static)
        detail.display = files.display
        detail.update(f"file: {printable(self.file_subjects[0])}" if self.file_subjects
                      else "")
        label = self.query_one("#digest-label", Label)
        bad = len({f.subject for f in r.findings if f.code == "DIGEST_MISMATCH"})
        if r.seal.digests_verified:
            label.update(Text(f"digests: {r.seal.files_hashed:,} files re-hashed, {bad} "
                              "mismatched", style="red" if bad else "green"))
        elif r.seal.lifecycle == "STAGING" and r.digests_rehashed:
            # Unsealed: the parts were re-hashed against the engine's evidence (what check
            # says), there is no content index yet.
            label.update(Text(f"digests: parts re-hashed against the engine's evidence, {bad} "
                              "mismatched (no content index until the pack is sealed)",
                              style="red" if bad else "green"))
        elif r.seal.lifecycle == "STAGING":
            label.update("digests: not re-hashed yet (the full check follows); no content "
                         "index until the pack is sealed")

    def on_data_table_row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        if event.data_table.id != "files-table" or event.row_key.value is None:
            return
        subjects = getattr(self, "file_subjects", [])
        index = int(event.row_key.value)
        if index < len(subjects) and subjects[index]:
            self.query_one("#file-detail", Static).update(f"file: {printable(subjects[index])}")


class SealPane(VerticalScroll):
    def compose(self) -> ComposeResult:
        yield Static(id="seal-summary")
        yield Label("_oracle_pack_manifest.json", classes="section-title")
        yield Static(id="seal-manifest")
        yield Label("_oracle_tui_seal_binding.json", classes="section-title")
        yield Static(id="seal-binding")
        yield Label("_SEALED.json", classes="section-title")
        yield Static(id="seal-seal")
        yield Label("_TOMBSTONE.json", classes="section-title")
        yield Static(id="seal-tombstone")

    @staticmethod
    def _json(doc: dict[str, Any] | None) -> Any:
        if doc is None:
            return Text("absent", style="dim")
        from rich.syntax import Syntax  # with Pygments: loaded once a seal is shown

        return Syntax(json.dumps(doc, indent=2, sort_keys=True), "json", theme="ansi_dark",
                      word_wrap=True)

    def show_report(self, r: CheckReport) -> None:
        s = r.seal
        grid = PlainGrid()
        grid.add_row("lifecycle", styled(s.lifecycle, LIFECYCLE_STYLE))
        grid.add_row("pack id", s.oracle_pack_id or "— (not sealed)")
        if s.content_index_files is not None:
            grid.add_row("content index", f"{s.content_index_files:,} files, "
                                          f"{s.content_index_bytes:,} bytes")
        seal_codes = [f for f in r.findings if f.code in SEAL_CODES]
        for f in seal_codes:
            grid.add_row(Text(f.severity.value, style=SEV_STYLE[f.severity.value]),
                         f"{f.code}: {f.detail}")
        self.query_one("#seal-summary", Static).update(grid)
        self.query_one("#seal-manifest", Static).update(self._json(s.manifest))
        self.query_one("#seal-binding", Static).update(self._json(s.binding))
        self.query_one("#seal-seal", Static).update(self._json(s.seal))
        self.query_one("#seal-tombstone", Static).update(self._json(s.tombstone))


def timeline_lines(state: StreamViewSection | None, width: int) -> list[str]:
    """What the Stream views pane draws under its table for the selected view."""
    if state is None:
        return ["select a view"]
    if state.state != "VALID" or state.receipt is None:
        return [f"view {state.state}: no rows to draw"]
    recorded = state.receipt.get("rows_over_time")
    if recorded is None:
        # Why it is absent is not in the receipt: a view built before oracle-tui recorded
        # it, a first key that is no instant, a range wider than 10,000 days.
        return ["not recorded in this view's receipt: nothing to draw"]
    try:
        rot = RowsOverTime.model_validate(recorded)
    except ValueError:  # check refuses such a receipt; never draw from it
        return ["not drawn: the receipt's rows_over_time is not readable"]
    return picture_lines(rot, width)


class StreamViewsPane(TablePane):
    MAIN = "#views-table"

    def compose(self) -> ComposeResult:
        yield DataGrid(id="views-table", cursor_type="row", zebra_stripes=True)
        yield Label("Rows over time of the selected view", classes="section-title")
        yield Static("", id="view-timeline", markup=False)
        yield Label("First rows of the selected view", classes="section-title")
        yield DataGrid(id="view-rows", cursor_type="row")

    def on_mount(self) -> None:
        self.query_one("#views-table", DataTable).add_columns(
            "output", "state", "findings", "rows", "min ts", "max ts", "parts",
            "stream_view_id", "location")

    def show_report(self, r: CheckReport) -> None:
        table = self.query_one("#views-table", DataTable)
        keep = self.selected_output()  # the operator's row survives a re-check
        table.clear()
        # This pane's findings, by the view they are about (Enter on one lands here).
        mine = set(codes_of_pane("streams"))
        codes: dict[str, list[str]] = {}
        for f in r.findings:
            if f.code in mine:
                owner = next((v.output_id for v in r.stream_views
                              if f.subject in (v.output_id, v.location)
                              or (v.location and f.subject.startswith(v.location))), None)
                if owner is not None and f.code not in codes.setdefault(owner, []):
                    codes[owner].append(f.code)
        for v in r.stream_views:
            rc = v.receipt or {}
            view = rc.get("view", {})
            table.add_row(v.output_id, styled(v.state, STATUS_STYLE),
                          ", ".join(codes.get(v.output_id, [])) or "—",
                          f"{view.get('row_count', 0):,}" if rc else "—",
                          view.get("min_ts") or "—", view.get("max_ts") or "—",
                          str(len(rc.get("parts", []))) if rc else "—",
                          short((v.manifest or {}).get("stream_view_id"), 12), v.location,
                          key=v.output_id)
        ids = [v.output_id for v in r.stream_views]
        if keep in ids:
            table.move_cursor(row=ids.index(keep))

    def show_timeline(self, state: StreamViewSection | None) -> None:
        """The selected view's rows over time, from its receipt (check held the counts to
        the receipt's rows and key range; verify counts them again from the parts)."""
        self.timeline_of = state
        self._draw_timeline()

    def on_resize(self) -> None:
        self._draw_timeline()

    def _draw_timeline(self) -> None:
        state = getattr(self, "timeline_of", None)
        try:
            box = self.query_one("#view-timeline", Static)
        except NoMatches:
            return
        width = max(10, self.size.width - 4)
        box.update(Text("\n".join(printable(line) for line in
                                  timeline_lines(state, width))))

    def show_rows(self, columns: list[str], rows: list[tuple[Any, ...]]) -> None:
        table = self.query_one("#view-rows", DataTable)
        table.clear(columns=True)
        if not columns:
            return
        cells = [[preview_cell(v) for v in row] for row in rows]
        # Each column as wide as its widest cell, given when the column is made: an
        # auto-sized column that first appears while its pane is hidden keeps the width it
        # measured then (ts_utc shown as "2026-0" until a re-layout).
        for i, name in enumerate(columns):
            table.add_column(name, width=max([len(name), *(len(row[i]) for row in cells)]))
        for row in cells:
            table.add_row(*row)

    def selected_output(self) -> str | None:
        return self.selected_key()


class FindingsPane(TablePane):
    MAIN = "#findings-table"
    COLUMNS = ("severity", "code", "subject", "retry", "detail")

    def compose(self) -> ComposeResult:
        yield Input(placeholder="filter: code, subject or text (esc clears)", id="findings-filter")
        yield DataGrid(id="findings-table", cursor_type="row", zebra_stripes=True)
        yield Static(id="guidance")

    def on_mount(self) -> None:
        self.findings: list[Finding] = []
        self.blocks: dict[int, list[str]] = {}
        self.context: tuple[bool, dict[str, str]] = (False, {})
        self.sort_column = 0
        self.query_one("#findings-table", DataTable).add_columns(*self.COLUMNS)
        self.query_one("#findings-filter", Input).display = False

    def show_report(self, r: CheckReport, blocks: list[list[str]] | None = None) -> None:
        self.findings = list(r.findings)
        # The outputs each finding blocks, as check marked them (core.readability).
        self.blocks = {id(f): b for f, b in zip(self.findings, blocks or [], strict=False)}
        self.context = context_of(r)  # sealed or not, values for the "do" commands
        self.refresh_rows()

    def visible_findings(self) -> list[Finding]:
        text = self.query_one("#findings-filter", Input).value.strip().lower()
        rows = [f for f in self.findings if not text or text in
                f"{f.severity.value} {f.code} {f.subject} {f.detail}".lower()]
        if self.sort_column:
            col = self.COLUMNS[self.sort_column]
            rows.sort(key=lambda f: str(getattr(f, col) if col != "severity"
                                        else f.severity.value))
        return rows

    def subject_width(self, findings: list[Finding]) -> int:
        """How wide a subject may be and still be seen whole or by its ends: what the screen
        leaves beside severity and code. A long path keeps its tail (the file name) and its
        root, cut in the middle; the selected finding's subject shows whole below."""
        screen = self.app.size.width
        code = max((len(f.code) for f in findings), default=4)
        # severity (8) and every cell's padding (2 each), the scrollbar (2), the pane's edge (2)
        return max(24, screen - code - 18)

    def on_resize(self, event: events.Resize) -> None:
        if getattr(self, "rows", None) and event.size.width != getattr(self, "_laid_out", 0):
            self.refresh_rows()

    def refresh_rows(self) -> None:
        """Rows of the visible findings; a code with very many (200,000 unexpected files)
        shows its first rows and a count, the filter narrows to any of them."""
        table = self.query_one("#findings-table", DataTable)
        cursor = table.cursor_row
        table.clear()
        self._laid_out = self.size.width
        self.rows: list[Finding | None] = []  # None: a "… and N more" row
        visible = self.visible_findings()
        width = self.subject_width(visible)
        for group in grouped_for_display(visible, keep=ROWS_PER_CODE,
                                         threshold=ROWS_PER_CODE):
            for f in group.shown:
                table.add_row(Text(f.severity.value, style=SEV_STYLE[f.severity.value]),
                              f.code, elide_middle(printable(f.subject), width),
                              f.retry.value, f.detail, key=str(len(self.rows)))
                self.rows.append(f)
            if group.hidden:
                table.add_row(Text(group.severity.value, style=SEV_STYLE[group.severity.value]),
                              group.code, Text(f"… and {group.hidden:,} more: type / to "
                                               "filter", style="bold"), "", "",
                              key=str(len(self.rows)))
                self.rows.append(None)
        if 0 < cursor < table.row_count:
            table.move_cursor(row=cursor)
        self.show_guidance()

    def selected(self) -> Finding | None:
        table = self.query_one("#findings-table", DataTable)
        rows: list[Finding | None] = getattr(self, "rows", [])
        if not rows or table.row_count == 0:
            return None
        return rows[min(table.cursor_row, len(rows) - 1)]

    def show_guidance(self) -> None:
        """The selected finding whole, where the operator looks at it: its own subject and
        detail (digests in full, the first differing one marked), then what the code means
        and what to do, then the outputs it blocks."""
        f = self.selected()
        box = self.query_one("#guidance", Static)
        if f is None:
            box.update(Text("no findings" if not self.findings else
                            "no match" if not getattr(self, "rows", None) else
                            "more findings of this code: type / and part of a subject",
                            style="dim"))
            return
        parts: list[Any] = [
            Text(f"{f.severity.value} {f.code} · {f.retry.value} · Enter shows it "
                 f"in {TITLES[pane_of(f.code)]}", style="bold " + SEV_STYLE[f.severity.value]),
            Text(f"subject: {printable(f.subject)}"), Text(f"detail:  {printable(f.detail)}")]
        sealed, values = self.context
        advice = guidance(f, sealed=sealed, values=values)
        if advice.pair is not None:
            (first, one), (second, other) = advice.pair
            parts.append(digest_pair(first, one, second, other))
        parts += [Text(f"means:   {advice.means}", style="dim"),
                  Text(f"do:      {advice.do}", style="dim")]
        blocked = self.blocks.get(id(f), [])
        if blocked:
            parts.append(Text(f"blocks:  {', '.join(blocked[:8])}"
                              + (f" (+{len(blocked) - 8} more)" if len(blocked) > 8 else ""),
                              style="red"))
        box.update(Group(*parts))

    def on_data_table_row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        self.show_guidance()

    def on_data_table_header_selected(self, event: DataTable.HeaderSelected) -> None:
        self.sort_column = event.column_index
        self.refresh_rows()

    def on_input_changed(self, event: Input.Changed) -> None:
        self.refresh_rows()
