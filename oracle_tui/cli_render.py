"""Rich rendering of core results for the CLI (the TUI has its own widgets)."""

from __future__ import annotations

import re

from rich.cells import cell_len
from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text

from oracle_tui.core.codes import CodeInfo
from oracle_tui.core.diff import DiffReport, rows_lines, segment_lines, state_words
from oracle_tui.core.elide import elide_middle
from oracle_tui.core.findings import Finding, first_difference, grouped_for_display
from oracle_tui.core.guidance import context_of, digest_pair, guidance
from oracle_tui.core.readability import blocked_by_each
from oracle_tui.core.report import QUICK_NOTE, CheckReport
from oracle_tui.core.seal import SealPlan

VERDICT_STYLE = {"PASS": "bold green", "WARN": "bold yellow", "FAIL": "bold red"}
SEV_STYLE = {"FAIL": "red", "WARN": "yellow", "INFO": "cyan"}
# Findings named one by one under a code in "Why it fails" before "… and N more".
WHY_ROWS_PER_CODE = 5


def output_folders(report: CheckReport) -> list[tuple[str, str]]:
    """(folder, output id) of every output, deepest first: the folder is the output's path
    up to its first wildcard (``…/scenario_id=x/part-*.parquet`` → ``…/scenario_id=x/``)."""
    folders = []
    for o in report.outputs:
        wild = min((i for i in (o.path.find(c) for c in "*?[") if i >= 0), default=len(o.path))
        folder = o.path[:o.path.rfind("/", 0, wild) + 1]
        if folder:
            folders.append((folder, o.output_id))
    return sorted(folders, key=lambda pair: -len(pair[0]))


def relative_subject(subject: str, folders: list[tuple[str, str]]) -> str:
    """A file inside an output's folder as ``output_id: rest``; anything else unchanged."""
    for folder, output_id in folders:
        if subject.startswith(folder) and len(subject) > len(folder):
            return f"{output_id}: {subject[len(folder):]}"
    return subject


def fails_by_code(report: CheckReport) -> dict[str, list[int]]:
    """The FAIL findings' positions in the report, by code, in report order."""
    by_code: dict[str, list[int]] = {}
    for i, f in enumerate(report.findings):
        if f.severity.value == "FAIL":
            by_code.setdefault(f.code, []).append(i)
    return by_code


def where_they_part(finding: Finding) -> str | None:
    """For a finding that states two digests: which two, and where they part."""
    pair = digest_pair(finding)
    at = first_difference(pair[0][1], pair[1][1]) if pair else None
    if pair is None or at is None:
        return None
    return f"{pair[0][0]} and {pair[1][0]} differ from character {at + 1}"


def _head(report: CheckReport) -> list[tuple[str, str]]:
    """The verdict line's parts (text, style): verdict, counts, the quick note."""
    c = report.counts()
    if not report.judged:
        # Nothing of the pack was read: no verdict on it (its findings say why, and the exit
        # code follows the one rule of core/outcome.py).
        return [(" NOT CHECKED ", "reverse bold yellow")]
    parts = [(f" {report.verdict} ", "reverse " + VERDICT_STYLE[report.verdict]),
             (f"  {c['FAIL']} fail · {c['WARN']} warn · {c['INFO']} info", "bold")]
    if not report.digests_rehashed:
        parts.append((f"   ({QUICK_NOTE})", "bold yellow"))
    return parts


def _readable_line(report: CheckReport) -> str | None:
    if not report.outputs:
        return None
    blocked = [o.output_id for o in report.outputs if o.status != "READABLE"]
    line = f"{len(report.outputs) - len(blocked)} of {len(report.outputs)} readable"
    return line + (f"; blocked: {', '.join(blocked)}" if blocked else "")


def _world_key(report: CheckReport, whole: bool) -> str | None:
    wk = report.world_key
    if wk is None:
        return None

    def cut(value: str) -> str:
        return value if whole else value[:16] + "…"

    return (f"mf={cut(wk.manifest_fingerprint)} ph={cut(wk.parameter_hash)} "
            f"scenario={wk.scenario_id} seed={wk.seed}")


def _pack_rows(report: CheckReport, whole: bool) -> list[tuple[str, str]]:
    strict = "on" if report.strict_seal else "off"
    rows = [("profile", f"{report.profile} (strict seal: {strict})"),
            ("lifecycle", report.seal.lifecycle)]
    world_key = _world_key(report, whole)
    if world_key is not None:
        rows.append(("world key", world_key))
    if report.seal.oracle_pack_id:
        rows.append(("pack id", report.seal.oracle_pack_id))
    return rows


def check_report(report: CheckReport, *, plain: bool = False, width: int = 100
                 ) -> RenderableType:
    """The human report, most important first: the verdict, what was proven, which outputs
    can be read, why it fails (each failing finding, what it blocks, what to do), the other
    findings, then the pack, its gates and its outputs.

    ``plain`` (stdout is not a terminal): lines for a file, a pager or grep: no box drawing,
    no padding, one finding per line, every value whole. Otherwise fitted to ``width``:
    files inside an output's folder named relative to it, long paths cut in the middle."""
    if plain:
        return Text("\n".join(plain_report_lines(report)))
    parts: list[RenderableType] = [Text.assemble(*_head(report))]
    top = Table.grid(padding=(0, 2))
    top.add_column(no_wrap=True)
    top.add_column(overflow="fold")
    top.add_row("root", report.root)
    top.add_row("verified", report.verified)
    readable = _readable_line(report)
    if readable is not None:
        top.add_row("outputs", readable)
    parts.append(top)
    folders = output_folders(report)
    why = why_it_fails(report, folders=folders, width=width)
    if why is not None:
        parts += [Text(""), why]
    others = [f for f in report.findings if f.severity.value != "FAIL"]
    if others:
        parts.append(Text("Other findings", style="bold"))
        for group in grouped_for_display(others):
            count = len(group.shown) + group.hidden
            parts.append(Text.assemble((f"{group.severity.value} ",
                                        SEV_STYLE[group.severity.value]),
                                       (group.code, "bold"),
                                       (f"  {count:,} finding{'s' if count > 1 else ''}",
                                        "dim")))
            parts.append(_subject_lines(group.shown, group.hidden, folders, width))
    pack = Table.grid(padding=(0, 2))
    pack.add_column(no_wrap=True)
    for name, value in _pack_rows(report, whole=False):
        pack.add_row(name, value)
    parts += [Text("Pack", style="bold"), pack]
    if report.gates:
        t = _table("Gates")
        # The gate and its status whole; the method gives way first (whole when piped).
        gate_width = max(len(g.gate_id) for g in report.gates)
        t.add_column("gate", no_wrap=True)
        t.add_column("method", no_wrap=True, overflow="ellipsis",
                     max_width=max(12, width - gate_width - 6 - 17 - 3 * 2))
        t.add_column("status", no_wrap=True)
        t.add_column("recomputed digest", no_wrap=True)
        for g in report.gates:
            t.add_row(g.gate_id, g.method, Text(g.status, style="green" if g.status == "PASS"
                                                 else "red"),
                      g.recomputed_digest[:16] + "…" if g.recomputed_digest else "—")
        parts.append(t)
    if report.outputs:
        parts.append(_outputs_table(report, width))
    return Group(*parts)


def _table(title: str) -> Table:
    """A table with a bold title and a dim header, no box: columns two spaces apart."""
    return Table(title=title, title_justify="left", title_style="bold", box=None,
                 header_style="dim", pad_edge=False, padding=(0, 2, 0, 0))


_KEYED_HEX = re.compile(r"(=[0-9a-f]{12})[0-9a-f]{20,}")


def short_keys(text: str) -> str:
    """Long hex values of ``key=value`` path segments (manifest_fingerprint=…, parameter_hash=
    …) cut to 12 characters for the terminal: they name the world, the report's head names it
    once in full. Digests are never in that form and stay whole."""
    return _KEYED_HEX.sub(r"\1…", text)


def _subject_lines(findings: list[Finding], hidden: int, folders: list[tuple[str, str]],
                   width: int) -> Group:
    """Each finding under its code: the subject (relative to its output's folder, long keys
    cut) and its detail on the same line when both fit ``width``, else the detail on the
    next line, indented and folded."""
    lines: list[RenderableType] = []
    rows = [(short_keys(relative_subject(f.subject, folders)), short_keys(f.detail))
            for f in findings]
    # Widths in terminal cells (a CJK character takes two), not characters.
    column = max((cell_len(subject) for subject, _ in rows), default=0)
    for subject, detail in rows:
        if 3 + column + 2 + cell_len(detail) <= width:
            pad = " " * (column - cell_len(subject))
            lines.append(Text(f"   {subject}{pad}  {detail}"))
            continue
        lines.append(Text(f"   {elide_middle(subject, width - 3)}"))
        body = Table.grid()
        body.add_column(width=6)
        body.add_column(overflow="fold")
        body.add_row("", detail)
        lines.append(body)
    if hidden:
        lines.append(Text.assemble(("   … and ", "bold"), (f"{hidden:,} more", "bold"),
                                   ("  listed in full by --json", "dim")))
    return Group(*lines)


def _outputs_table(report: CheckReport, width: int) -> Table:
    """Outputs, one line each; the folder cut in the middle to what the line leaves."""
    rows = [(o.output_id, o.status, str(o.parts), f"{o.bytes:,}",
             ", ".join([*o.blocking, *o.blocked_by]) or "—", o.path) for o in report.outputs]
    fixed = [max(len(h), *(len(r[i]) for r in rows))
             for i, h in enumerate(("output", "status", "parts", "bytes", "blocked by"))]
    room = width - sum(fixed) - 2 * len(fixed)
    t = _table("Outputs")
    for name in ("output", "status", "parts", "bytes", "blocked by"):
        t.add_column(name, no_wrap=name != "blocked by",
                     justify="right" if name in ("parts", "bytes") else "left")
    if room >= 24:
        t.add_column("path", no_wrap=True)
    for row in rows:
        cells: list[RenderableType] = [row[0], Text(row[1], style="green" if row[1] ==
                                                    "READABLE" else "red"), *row[2:5]]
        if room >= 24:
            cells.append(elide_middle(short_keys(row[5]), room))
        t.add_row(*cells)
    if room < 24:
        t.caption = "(no room for paths: the report piped, e.g. `| less`, or --json has them)"
        t.caption_justify = "left"
    return t


def plain_report_lines(report: CheckReport) -> list[str]:
    """The report for a file, a pager or grep: plain lines, each value whole."""
    c = report.counts()
    if report.judged:
        head = f"{report.verdict} {report.root}: {c['FAIL']} fail, {c['WARN']} warn, " \
               f"{c['INFO']} info"
        if not report.digests_rehashed:
            head += f" ({QUICK_NOTE})"
    else:
        head = f"NOT CHECKED {report.root}"
    lines = [head, f"verified: {report.verified}"]
    readable = _readable_line(report)
    if readable is not None:
        lines.append(f"outputs: {readable}")
    blocks = blocked_by_each(report)
    fails = [i for i, f in enumerate(report.findings) if f.severity.value == "FAIL"]
    others = [i for i, f in enumerate(report.findings) if f.severity.value != "FAIL"]
    position = {id(f): i for i, f in enumerate(report.findings)}
    for chosen in (fails, others):
        for group in grouped_for_display([report.findings[i] for i in chosen]):
            for f in group.shown:
                blocked = blocks[position[id(f)]]
                lines.append(f"{f.severity.value} {f.code} {f.subject}: {f.detail}"
                             + (f" [blocks {', '.join(blocked)}]" if blocked else ""))
            if group.hidden:
                lines.append(f"{group.severity.value} {group.code} … and {group.hidden:,} "
                             "more (listed in full by --json)")
    sealed, values = context_of(report)
    for code, indexes in fails_by_code(report).items():
        advice = guidance(report.findings[indexes[0]], sealed=sealed, values=values)
        lines += [f"{code} means: {advice.means}", f"{code} do: {advice.do}"]
        parted = [(f.subject, where) for f in (report.findings[i] for i in indexes)
                  for where in [where_they_part(f)] if where is not None]
        lines += [f"{code} {subject}: {where}" for subject, where in parted[:WHY_ROWS_PER_CODE]]
        if len(parted) > WHY_ROWS_PER_CODE:
            lines.append(f"{code} … and {len(parted) - WHY_ROWS_PER_CODE:,} more (listed in "
                         "full by --json)")
    lines += [f"{name}: {value}" for name, value in _pack_rows(report, whole=True)]
    lines += [f"gate {g.gate_id} {g.method} {g.status} {g.recomputed_digest or '-'}"
              for g in report.gates]
    lines += [f"output {o.output_id} {o.status} parts={o.parts} bytes={o.bytes} "
              f"blocked_by={','.join([*o.blocking, *o.blocked_by]) or '-'} path={o.path}"
              for o in report.outputs]
    return lines


def why_it_fails(report: CheckReport, *, folders: list[tuple[str, str]] | None = None,
                 width: int = 100) -> RenderableType | None:
    """For each FAIL code: its failing findings (the first few), what they block, what the
    code means and what to do, and for a digest mismatch where the two digests part."""
    blocks = blocked_by_each(report)  # as check marked each finding
    by_code = fails_by_code(report)
    if not by_code:
        return None
    folders = folders or []
    parts: list[RenderableType] = [Text("Why it fails", style="bold")]
    sealed, values = context_of(report)
    for code, indexes in by_code.items():
        advice = guidance(report.findings[indexes[0]], sealed=sealed, values=values)
        blocked = sorted({o for i in indexes for o in blocks[i]})
        parts.append(Text.assemble(
            (code, "bold red"), (f"  {len(indexes):,} finding{'s' if len(indexes) > 1 else ''}",
                                 "dim"),
            (f"  blocks {', '.join(blocked)}" if blocked else "", "bold")))
        shown = [report.findings[i] for i in indexes[:WHY_ROWS_PER_CODE]]
        parts.append(_subject_lines(shown, len(indexes) - len(shown), folders, width))
        parted = [f"{short_keys(relative_subject(f.subject, folders))}: {where}"
                  for f in shown for where in [where_they_part(f)] if where is not None]
        advice_rows = Table.grid(padding=(0, 2, 0, 0))
        advice_rows.add_column(no_wrap=True, width=1)
        advice_rows.add_column(no_wrap=True)
        advice_rows.add_column(overflow="fold")
        for line in parted:
            advice_rows.add_row("", "where", line)
        advice_rows.add_row("", "means", advice.means)
        advice_rows.add_row("", "do", advice.do)
        parts.append(advice_rows)
    return Group(*parts)


def explain(info: CodeInfo) -> RenderableType:
    t = Table.grid(padding=(0, 2))
    t.add_row(Text(info.code, style="bold"), Text(f"{info.severity.value} · {info.retry.value} "
                                                  f"· {info.code_class}", style="dim"))
    t.add_row("means", info.meaning)
    t.add_row("do", info.action)
    return t


def seal_plan(plan: SealPlan) -> RenderableType:
    t = Table.grid(padding=(0, 2))
    t.add_row("root", plan.root)
    wk = plan.world_key
    t.add_row("world key", f"manifest_fingerprint={wk.manifest_fingerprint}")
    t.add_row("", f"parameter_hash={wk.parameter_hash}")
    t.add_row("", f"scenario_id={wk.scenario_id}  seed={wk.seed}")
    t.add_row("engine release", plan.engine_release)
    t.add_row("oracle_pack_id", plan.oracle_pack_id)
    t.add_row("content", f"{plan.content_files} files, {plan.content_bytes:,} bytes "
                         "(hashed into the content index)")
    t.add_row("will write", ", ".join(plan.files_to_write) or "nothing (already sealed)")
    if plan.already_present:
        t.add_row("present", ", ".join(plan.already_present) + " (compared, never rewritten)")
    for f in plan.blocking:
        t.add_row(Text("refused", style="red"), f"{f.code} {f.subject}: {f.detail}")
    return t


def diff_report(report: DiffReport) -> RenderableType:
    """`diff A B` as text: the answer in one line, each side, then every level that differs."""
    lines = [report.summary]
    for name, side in (("A", report.a), ("B", report.b)):
        lines.append(f"  {name}  {side.root}  ({side.lifecycle}, {side.verdict})")
        lines += [f"       {f.severity.value} {f.code} {f.subject}: {f.detail}"
                  for f in side.blocking]
    if report.result == "UNREADABLE":
        return Text("\n".join([*lines, f"verified: {report.verified}"]))
    if report.identity:
        lines.append("identity")
        lines += [f"  {d.field}: {d.a} | {d.b}" for d in report.identity]
    if report.gates:
        lines.append(f"gates ({len(report.gates)} differ)")
        lines += [f"  {g.gate_id}: {g.a_status} {g.a_digest} | {g.b_status} {g.b_digest}"
                  for g in report.gates]
    lines += segment_lines(report)
    lines.append(f"outputs ({sum(o.state != 'identical' for o in report.outputs)} of "
                 f"{len(report.outputs)} differ)")
    for out in report.outputs:
        lines.append(f"  {out.output_id}: {state_words(out.state)}; parts "
                     f"{out.parts[0]} | {out.parts[1]}, rows {out.rows[0]:,} | "
                     f"{out.rows[1]:,}, bytes {out.bytes[0]:,} | {out.bytes[1]:,}")
        if out.state == "identical":
            continue
        if not out.schema_equal and out.schemas:
            lines.append(f"      schema: {out.schemas[0]} | {out.schemas[1]}")
        if out.parts_differing:
            shown = ", ".join(out.parts_differing[:5])
            more = len(out.parts_differing) - 5
            lines.append(f"      parts differing: {shown}" + (f" (+{more} more)" if more > 0
                                                               else ""))
        lines.append(f"      digests from: {out.digests_from[0]} | {out.digests_from[1]}")
        if out.note:
            lines.append(f"      {out.note}")
        if out.rows_diff is not None:
            lines += [f"      {line}" for line in rows_lines(out.rows_diff)]
    lines.append(f"verified: {report.verified}")
    return Text("\n".join(lines))
