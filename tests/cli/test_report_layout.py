"""The human report as an operator sees it: in a terminal of 80 and 120 columns (a real pty)
and piped into a file or a pager."""

from __future__ import annotations

import json
import re
import shutil
import tempfile
from pathlib import Path

import pytest
from syrupy.assertion import SnapshotAssertion

from oracle_tui.core.demo import DemoWorld
from tests.conftest import run_cli_here
from tests.terminal import run_in_terminal

ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]|\x1b\][^\x07]*\x07")
BOXES = set("─│┃━┏┓┗┛┡┩┣┫╇╋┳┻└┘┌┐├┤┼")


def _stable(text: str) -> str:
    """The text with what the Parquet writer's version decides (digests, keys derived from
    them, byte counts) replaced, so the snapshot holds the layout."""
    text = re.sub(r"[0-9a-f]{12,64}", lambda m: "h" * len(m.group()), text)
    return re.sub(r"\b\d{1,3}(?:,\d{3})+\b|(?<=bytes=)\d+", lambda m: "9" * len(m.group()),
                  text)


def _damage(root: str) -> None:
    """One part of an event stream gone and a writer's temp file left beside the others."""
    parts = sorted(Path(root).glob(
        "data/layer3/6B/s3_event_stream_with_fraud_6B/**/part-*.parquet"))
    parts[2].unlink()
    (parts[0].parent / ".part-00004.parquet.tmp").write_bytes(b"x")


def _in_terminal(root: str, columns: int) -> list[str]:
    """`oracle-tui check ROOT` with stdout on a pseudo-terminal ``columns`` wide."""
    code, out = run_in_terminal(["check", root], columns=columns, env={"NO_COLOR": "1"})
    assert code == 1
    text = ANSI.sub("", out.decode()).replace("\r\n", "\n")
    return [line.rstrip() for line in text.replace(root, "ROOT").splitlines()]


@pytest.mark.parametrize("columns", [80, 120])
def test_in_a_terminal_the_verdict_and_why_lead_and_every_line_fits(
        world: DemoWorld, columns: int, snapshot: SnapshotAssertion) -> None:
    # A short root (a worker's tmp_path is long enough to wrap at 80 columns).
    root = Path(tempfile.mkdtemp(prefix="w", dir="/tmp")) / "world"
    shutil.copytree(world.root, root)
    try:
        _damage(str(root))
        lines = _in_terminal(str(root), columns)
    finally:
        shutil.rmtree(root.parent)
    assert lines[:2] == [" FAIL   2 fail · 1 warn · 4 info", "root      ROOT"]
    assert all(len(line) <= columns for line in lines), max(lines, key=len)
    assert not BOXES & set("".join(lines))
    order = [lines.index(title) for title in
             ("Why it fails", "Other findings", "Pack", "Gates", "Outputs")]
    assert order == sorted(order)
    why = lines[order[0]:order[1]]
    # Files inside an output's folder are named relative to it, whole.
    assert "   s3_event_stream_with_fraud_6B: part-00002.parquet" in why
    assert any(line.startswith("   s3_event_stream_with_fraud_6B: .part-00004.parquet.tmp")
               for line in why)
    assert "OBJECT_MISSING  1 finding  blocks s3_event_stream_with_fraud_6B" in why
    assert not any(re.search(r"[0-9a-f]{64}", line) for line in why)  # long keys cut
    assert _stable("\n".join(lines)) == snapshot


def test_piped_the_report_is_plain_lines_one_finding_each(world: DemoWorld,
                                                          snapshot: SnapshotAssertion) -> None:
    _damage(world.root)
    text = run_cli_here("check", world.root).out
    doc = json.loads(run_cli_here("check", world.root, "--json").out)
    lines = text.splitlines()
    assert not BOXES & set(text)
    assert all(line == line.strip() and "   " not in line for line in lines)  # no padding
    findings = [line for line in lines if line.split(" ", 1)[0] in ("FAIL", "WARN", "INFO")
                and not line.startswith(f"FAIL {world.root}:")]
    assert len(findings) == len(doc["findings"])
    for finding, line in zip(doc["findings"], findings, strict=True):
        assert line.startswith(f"{finding['severity']} {finding['code']} {finding['subject']}: "
                               f"{finding['detail']}")
    assert lines[0] == f"FAIL {world.root}: 2 fail, 1 warn, 4 info"
    assert _stable(text.replace(world.root, "ROOT")) == snapshot
