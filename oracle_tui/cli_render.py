"""Rich rendering of core results for the CLI (the TUI has its own widgets)."""

from __future__ import annotations

from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text

from oracle_tui.core.codes import CodeInfo
from oracle_tui.core.diff import DiffReport, rows_lines
from oracle_tui.core.findings import first_difference, grouped_for_display
from oracle_tui.core.guidance import context_of, digest_pair, guidance
from oracle_tui.core.readability import blocked_by_each
from oracle_tui.core.report import QUICK_NOTE, CheckReport
from oracle_tui.core.seal import SealPlan

VERDICT_STYLE = {"PASS": "bold green", "WARN": "bold yellow", "FAIL": "bold red"}
SEV_STYLE = {"FAIL": "red", "WARN": "yellow", "INFO": "cyan"}
# Findings named one by one under a code in "Why it fails" before "… and N more".
WHY_ROWS_PER_CODE = 5


def check_report(report: CheckReport, whole: bool = False) -> RenderableType:
    """The human report. ``whole``: every digest and key in full (for a file or a log)."""

    def cut(value: str) -> str:
        return value if whole else value[:16] + "…"

    parts: list[RenderableType] = []
    head = Text()
    c = report.counts()
    if not report.judged:
        # Nothing of the pack was read: no verdict on it (exit 2 or 3 says what to do).
        head.append(" NOT CHECKED ", style="reverse bold yellow")
        head.append(f"  {report.root}")
    else:
        head.append(f" {report.verdict} ", style="reverse " + VERDICT_STYLE[report.verdict])
        head.append(f"  {report.root}")
        head.append(f"   {c['FAIL']} fail · {c['WARN']} warn · {c['INFO']} info", style="dim")
        if not report.digests_rehashed:
            head.append(f"   ({QUICK_NOTE})", style="bold yellow")
    parts.append(head)
    wk = report.world_key
    meta = Table.grid(padding=(0, 2))
    strict = "on" if report.strict_seal else "off"
    meta.add_row("profile", f"{report.profile} (strict seal: {strict})")
    meta.add_row("lifecycle", report.seal.lifecycle)
    if wk is not None:
        meta.add_row("world key", f"mf={cut(wk.manifest_fingerprint)} "
                                  f"ph={cut(wk.parameter_hash)} "
                                  f"scenario={wk.scenario_id} seed={wk.seed}")
    if report.seal.oracle_pack_id:
        meta.add_row("pack id", report.seal.oracle_pack_id)
    meta.add_row("verified", report.verified)
    parts.append(meta)
    if report.gates:
        t = Table(title="Gates", title_justify="left", expand=False)
        for col in ("gate", "method", "status", "recomputed digest"):
            t.add_column(col)
        for g in report.gates:
            t.add_row(g.gate_id, g.method, Text(g.status, style="green" if g.status == "PASS"
                                                 else "red"),
                      cut(g.recomputed_digest) if g.recomputed_digest else "—")
        parts.append(t)
    if report.outputs:
        t = Table(title="Outputs", title_justify="left")
        for col in ("output", "status", "parts", "bytes", "blocked by", "path"):
            t.add_column(col, overflow="fold")
        for o in report.outputs:
            style = "green" if o.status == "READABLE" else "red"
            t.add_row(o.output_id, Text(o.status, style=style), str(o.parts), f"{o.bytes:,}",
                      ", ".join([*o.blocking, *o.blocked_by]) or "—", o.path)
        parts.append(t)
    if report.findings:
        t = Table(title="Findings", title_justify="left")
        for col in ("severity", "code", "subject", "detail"):
            t.add_column(col, overflow="fold")
        for group in grouped_for_display(report.findings):
            for f in group.shown:
                t.add_row(Text(f.severity.value, style=SEV_STYLE[f.severity.value]), f.code,
                          f.subject, f.detail)
            if group.hidden:
                t.add_row(Text(group.severity.value, style=SEV_STYLE[group.severity.value]),
                          group.code, Text(f"… and {group.hidden:,} more", style="bold"),
                          "listed in full by --json")
        parts.append(t)
    why = why_it_fails(report)
    if why is not None:
        parts.append(why)
    return Group(*parts)


def why_it_fails(report: CheckReport) -> RenderableType | None:
    """``explain`` for each FAIL code of the report, with what its findings block and, for a
    digest mismatch, where the two digests part: the triage the table has no room for."""
    blocks = blocked_by_each(report)  # as check marked each finding
    by_code: dict[str, list[int]] = {}
    for i, f in enumerate(report.findings):
        if f.severity.value == "FAIL":
            by_code.setdefault(f.code, []).append(i)
    if not by_code:
        return None
    t = Table.grid(padding=(0, 2))
    sealed, values = context_of(report)
    for code, indexes in by_code.items():
        advice = guidance(report.findings[indexes[0]], sealed=sealed, values=values)
        t.add_row(Text(code, style="bold red"), Text(f"{len(indexes)} finding"
                                                     f"{'s' if len(indexes) > 1 else ''}",
                                                     style="dim"))
        t.add_row("means", advice.means)
        t.add_row("do", advice.do)
        parted = 0
        for i in indexes:
            pair = digest_pair(report.findings[i])
            at = first_difference(pair[0][1], pair[1][1]) if pair else None
            if pair is None or at is None:
                continue
            parted += 1
            if parted <= WHY_ROWS_PER_CODE:
                t.add_row("", f"{report.findings[i].subject}: {pair[0][0]} and {pair[1][0]} "
                              f"differ from character {at + 1}")
        if parted > WHY_ROWS_PER_CODE:
            t.add_row("", Text(f"… and {parted - WHY_ROWS_PER_CODE:,} more (listed in full by "
                               "--json)", style="bold"))
        blocked = sorted({o for i in indexes for o in blocks[i]})
        if blocked:
            t.add_row("blocks", ", ".join(blocked))
        t.add_row("", "")
    return Group(Text("Why it fails", style="bold"), t)


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
        return Text("\n".join(lines))
    if report.identity:
        lines.append("identity")
        lines += [f"  {d.field}: {d.a} | {d.b}" for d in report.identity]
    if report.gates:
        lines.append(f"gates ({len(report.gates)} differ)")
        lines += [f"  {g.gate_id}: {g.a_status} {g.a_digest} | {g.b_status} {g.b_digest}"
                  for g in report.gates]
    lines.append(f"outputs ({sum(o.state != 'identical' for o in report.outputs)} of "
                 f"{len(report.outputs)} differ)")
    for out in report.outputs:
        lines.append(f"  {out.output_id}: {out.state.replace('_', ' ')}; parts "
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
