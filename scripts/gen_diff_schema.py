"""Write oracle_tui/schemas/diff_report.schema.json from the DiffReport model (run after
changing it; tests/ops/test_diff.py checks the file is current)."""

from __future__ import annotations

import json
from pathlib import Path

from oracle_tui.core.diff import DiffReport

OUT = Path(__file__).resolve().parent.parent / "oracle_tui" / "schemas" / "diff_report.schema.json"

if __name__ == "__main__":
    schema = DiffReport.model_json_schema(mode="serialization")
    OUT.write_text(json.dumps(schema, indent=2, sort_keys=True) + "\n")
    print(OUT)
