from __future__ import annotations

import json
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
DOCS = REPO / "docs"


def test_policy_documents_parse_and_are_least_privilege() -> None:
    docs = {p.name: json.loads(p.read_text()) for p in (DOCS / "policies").glob("*.json")}
    assert set(docs) == {"reader-role.json", "writer-role.json", "bucket-policy-write-once.json"}
    for doc in docs.values():
        assert doc["Version"] == "2012-10-17" and doc["Statement"]
    reader_actions = {a for s in docs["reader-role.json"]["Statement"]
                      for a in ([s["Action"]] if isinstance(s["Action"], str) else s["Action"])}
    assert reader_actions == {"s3:ListBucket", "s3:GetObject"}
    put = [s for s in docs["writer-role.json"]["Statement"] if s["Action"] == "s3:PutObject"]
    assert put[0]["Condition"] == {"StringEquals": {"s3:if-none-match": "*"}}
    deny = docs["bucket-policy-write-once.json"]["Statement"][0]
    assert deny["Effect"] == "Deny" and deny["Condition"] == {
        "Null": {"s3:if-none-match": "true"}}


def test_operations_doc_links_exist() -> None:
    text = (DOCS / "operations.md").read_text()
    for name in ("reader-role.json", "writer-role.json", "bucket-policy-write-once.json",
                 "reason-codes.md"):
        assert name in text


def test_the_architecture_map_names_every_module_and_no_other() -> None:
    """docs/architecture.md is the one-page map: every module of the package is named in it
    (core and storage modules by file name, the faces by their path), and every module it
    names exists."""
    import re

    package = REPO / "oracle_tui"
    text = (REPO / "docs" / "architecture.md").read_text(encoding="utf-8")
    modules = [p.relative_to(package).as_posix() for p in package.rglob("*.py")
               if p.name != "__init__.py"]
    named = {m if m.startswith("tui/") else m.rsplit("/", 1)[-1] for m in modules}
    missing = sorted(n for n in named if n not in text)
    assert missing == []
    mentioned = set(re.findall(r"`((?:tui/)?[a-z_]+\.py)`", text))
    assert sorted(mentioned - named) == []
