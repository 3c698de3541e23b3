from __future__ import annotations

import json
from pathlib import Path

DOCS = Path(__file__).resolve().parent.parent / "docs"


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
