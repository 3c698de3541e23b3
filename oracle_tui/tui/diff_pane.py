"""The Diff pane (`inspect A --against B`): the same levels as `oracle-tui diff`, and from an
output down to its differing rows."""

from __future__ import annotations

from typing import TYPE_CHECKING

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import VerticalScroll
from textual.widgets import DataTable, Label, Static

from oracle_tui.core.redact import printable
from oracle_tui.tui.panes import TablePane
from oracle_tui.tui.plain import DataGrid

if TYPE_CHECKING:  # core.diff loads DuckDB and Arrow: only when a diff is shown
    from oracle_tui.core.diff import DiffReport, OutputDifference

STATE_STYLE = {"identical": "green", "different": "red", "only_in_a": "yellow",
               "only_in_b": "yellow"}
RESULT_STYLE = {"IDENTICAL": "bold white on dark_green", "DIFFERENT": "bold white on red",
                "UNREADABLE": "bold white on red"}


class DiffPane(TablePane):
    MAIN = "#diff-table"

    def __init__(self, against: str) -> None:
        super().__init__()
        self.against = against
        self.report: DiffReport | None = None

    def compose(self) -> ComposeResult:
        # Its own scroll (Tab reaches it): on a small screen the whole head stays readable.
        with VerticalScroll(id="diff-summary-box"):
            yield Static(f"comparing with {self.against} …", id="diff-summary", markup=False)
        yield DataGrid(id="diff-table", cursor_type="row", zebra_stripes=True)
        yield Label("The selected output: parts and rows that differ", classes="section-title")
        # Scrolls on its own (Tab to it): the differing rows stay reachable on a small screen.
        with VerticalScroll(id="diff-detail-box"):
            yield Static("", id="diff-detail", markup=False)

    def on_mount(self) -> None:
        self.query_one("#diff-table", DataTable).add_columns(
            "output", "state", "parts A | B", "rows A | B", "parts differing", "rows differing")

    def show_diff(self, report: DiffReport) -> None:
        self.report = report
        head = Text()
        head.append(f" {report.result} ", style=RESULT_STYLE[report.result])
        head.append(f"  {printable(report.summary)}\n")
        head.append(f"A  {printable(report.a.root)}  ({report.a.lifecycle}, {report.a.verdict})\n")
        head.append(f"B  {printable(report.b.root)}  ({report.b.lifecycle}, {report.b.verdict})\n")
        for name, side in (("A", report.a), ("B", report.b)):
            for f in side.blocking:
                head.append(f"{name} not readable: {f.code} {printable(f.subject)}: "
                            f"{printable(f.detail)}\n",
                            style="red")
        for d in report.identity:
            head.append(f"identity  {d.field}: {d.a} | {d.b}\n")
        for g in report.gates:
            head.append(f"gate  {g.gate_id}: {g.a_status} {g.a_digest} | {g.b_status} "
                        f"{g.b_digest}\n")
        from oracle_tui.core.diff import segment_lines  # loaded already: a diff is shown

        for line in segment_lines(report):
            head.append(printable(line) + "\n")
        head.append(f"verified: {report.verified}", style="dim")
        self.query_one("#diff-summary", Static).update(head)
        self.fill_table()
        if report.outputs:  # the cursor on the first output that differs
            first = next((i for i, o in enumerate(report.outputs) if o.state != "identical"), 0)
            self.query_one("#diff-table", DataTable).move_cursor(row=first)
            self.show_output(report.outputs[first].output_id)

    def fill_table(self) -> None:
        if self.report is None:
            return
        table = self.query_one("#diff-table", DataTable)
        keep = table.cursor_row
        table.clear()
        from oracle_tui.core.diff import state_words  # loaded already: a diff is shown

        for out in self.report.outputs:
            rows = out.rows_diff
            table.add_row(out.output_id, Text(state_words(out.state),
                                              style=STATE_STYLE[out.state]),
                          f"{out.parts[0]} | {out.parts[1]}",
                          f"{out.rows[0]:,} | {out.rows[1]:,}",
                          str(len(out.parts_differing)) if out.parts_differing else "—",
                          (f"{rows.changed} changed, {rows.only_in_a} A only, "
                           f"{rows.only_in_b} B only") if rows else "—",
                          key=out.output_id)
        if 0 < keep < table.row_count:
            table.move_cursor(row=keep)

    def needs_rows(self, output_id: str) -> bool:
        """True when that output differs and its rows were not compared yet."""
        out = next((o for o in (self.report.outputs if self.report else [])
                    if o.output_id == output_id), None)
        return out is not None and out.state == "different" and out.rows_diff is None

    def merge_rows(self, report: DiffReport, output_id: str) -> None:
        """One output compared down to its rows: its row replaces the one shown."""
        found = next((o for o in report.outputs if o.output_id == output_id), None)
        if self.report is None or found is None:
            return
        self.report.outputs = [found if o.output_id == output_id else o
                               for o in self.report.outputs]
        self.fill_table()
        self.show_output(output_id)

    def show_output(self, output_id: str) -> None:
        out = next((o for o in (self.report.outputs if self.report else [])
                    if o.output_id == output_id), None)
        self.query_one("#diff-detail", Static).update(
            Text("\n".join(printable(line) for line in output_lines(out))) if out else "")

    def on_data_table_row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        if event.data_table.id == "diff-table" and event.row_key.value:
            self.show_output(str(event.row_key.value))


def output_lines(out: OutputDifference) -> list[str]:
    """One output's difference, whole: parts, digests' source, schemas, the differing rows."""
    from oracle_tui.core.diff import state_words

    lines = [f"{out.output_id}: {state_words(out.state)}",
             f"bytes {out.bytes[0]:,} | {out.bytes[1]:,}; digests from "
             f"{out.digests_from[0]} | {out.digests_from[1]}"]
    if out.schemas:
        lines.append(f"schema A {out.schemas[0]}")
        lines.append(f"schema B {out.schemas[1]}")
    if out.parts_differing:
        lines.append("parts differing: " + ", ".join(out.parts_differing))
    if out.note:
        # Here the output is named by Enter on its row, not by --output-id.
        lines.append(out.note.replace("name the output with --output-id to compare its rows",
                                      "press Enter on its row to compare them"))
    if out.rows_diff is not None:
        from oracle_tui.core.diff import rows_lines

        lines += rows_lines(out.rows_diff)
    return lines
