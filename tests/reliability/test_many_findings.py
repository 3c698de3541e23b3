"""Many findings of one code: the text report and the TUI summarise, JSON stays complete."""

from __future__ import annotations

import json
from pathlib import Path

from oracle_tui.core.demo import DemoWorld
from oracle_tui.tui.app import make_app
from oracle_tui.tui.panes import ROWS_PER_CODE
from oracle_tui.tui.pilot import wait_idle
from tests.conftest import run_cli_process

N = 2_000


def _flood(root: str) -> None:
    many = Path(root) / "logs" / "many"
    many.mkdir()
    for i in range(N):
        (many / f"{i:05d}.log").write_bytes(b"")


def test_text_summarises_and_json_lists_everything(sealed_world: DemoWorld) -> None:
    _flood(sealed_world.root)
    text = run_cli_process("check", sealed_world.root, env={"COLUMNS": "200"})
    assert text.code == 1
    assert f"… and {N - 5:,} more" in text.out
    assert len(text.out.splitlines()) < 80
    res = run_cli_process("check", sealed_world.root, "--json")
    doc = json.loads(res.out)
    unexpected = [f["subject"] for f in doc["findings"] if f["code"] == "UNEXPECTED_FILE"]
    assert unexpected == [f"logs/many/{i:05d}.log" for i in range(N)]


async def test_tui_shows_the_first_rows_and_a_count(sealed_world: DemoWorld) -> None:
    from textual.widgets import DataTable

    _flood(sealed_world.root)
    app = make_app(sealed_world.root, read_only=True)
    async with app.run_test(size=(160, 45)) as pilot:
        await wait_idle(pilot)
        table = app.query_one("#findings-table", DataTable)
        cells = [[str(c) for c in table.get_row_at(i)] for i in range(table.row_count)]
        unexpected = [r for r in cells if r[1] == "UNEXPECTED_FILE"]
        assert len(unexpected) == ROWS_PER_CODE + 1
        assert unexpected[-1][2] == f"… and {N - ROWS_PER_CODE:,} more: type / to filter"
        await pilot.press("6", "slash")
        await pilot.press(*"01999")
        await wait_idle(pilot)
        cells = [[str(c) for c in table.get_row_at(i)] for i in range(table.row_count)]
        assert [r[2] for r in cells] == ["logs/many/01999.log"]


def test_text_lines_are_bounded_per_finding_class(sealed_world: DemoWorld) -> None:
    """Three classes of many findings each: every class is named in a bounded number of
    lines (the first five, then "… and N more"), in the Findings table and under "Why it
    fails", whatever N is."""
    from tests.conftest import run_cli_here
    from tests.reliability.helpers import rechain

    _flood(sealed_world.root)

    def damage(index: dict[str, object]) -> None:
        files = index["files"]
        assert isinstance(files, list)
        for entry in files:
            if entry["path"].endswith(".parquet"):
                entry["sha256"] = "0" * 64  # sealed as other bytes: DIGEST_MISMATCH each
        files += [{"path": f"gone/{i:04d}.log", "size": 1, "sha256": "0" * 64}
                  for i in range(300)]  # absent: OBJECT_MISSING each
        files.sort(key=lambda e: e["path"])
        index["file_count"] = len(files)
        index["total_bytes"] = sum(e["size"] for e in files)

    rechain(sealed_world.root, damage)
    binding = Path(sealed_world.root) / "_oracle_tui_seal_binding.json"
    doc = json.loads(binding.read_text())
    index = json.loads((Path(sealed_world.root) / "_oracle_content_index.json").read_text())
    doc["content_index"].update(file_count=index["file_count"],
                                total_bytes=index["total_bytes"])
    from oracle_tui.core.jsonio import canonical_json

    binding.write_bytes(canonical_json(doc))
    res = run_cli_here("check", sealed_world.root, env={"COLUMNS": "200"})
    full = json.loads(run_cli_here("check", sealed_world.root, "--json").out)
    counts: dict[str, int] = {}
    for f in full["findings"]:
        counts[f["code"]] = counts.get(f["code"], 0) + 1
    assert counts["UNEXPECTED_FILE"] == N and counts["OBJECT_MISSING"] == 300
    assert counts["DIGEST_MISMATCH"] >= 16
    lines = res.out.splitlines()
    for code in ("UNEXPECTED_FILE", "OBJECT_MISSING", "DIGEST_MISMATCH"):
        rows = [ln for ln in lines if f" {code} " in ln and ("FAIL" in ln)]
        assert len(rows) == 6, (code, rows)  # five findings and the "… and N more" row
        assert f"… and {counts[code] - 5:,} more" in rows[-1]
    parted = [ln for ln in lines if "differ from character" in ln]
    assert len(parted) == 5
    assert any(f"… and {counts['DIGEST_MISMATCH'] - 5:,} more (listed in full by --json)" in ln
               for ln in lines)
    assert len(lines) < 120
