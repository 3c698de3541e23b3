"""schema_fast.surely_valid may only ever say yes where jsonschema says yes: held against
jsonschema itself on the real documents of a sealed demo world with a stream view, a
tombstone and a locator, and on thousands of their mutations (a key dropped or added, a
value replaced by every awkward JSON value, a list emptied or grown)."""

from __future__ import annotations

import copy
import json
import random
import shutil
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft202012Validator

from oracle_tui.core import contracts
from oracle_tui.core.demo import DemoWorld
from oracle_tui.core.locators import locator_for
from oracle_tui.core.pack import open_pack
from oracle_tui.core.schema_fast import surely_valid
from oracle_tui.core.tombstone import tombstone_pack
from oracle_tui.core.views.build import build_stream_view

AWKWARD: list[Any] = [
    True, False, None, 0, 1, -1, 1.0, 0.5, -0.0, 2**70, float("nan"), float("inf"),
    "", "a", "x" * 300, "\n", "../a", "/abs", "a/../b", "0" * 64, "f" * 64 + "\n", "F" * 64,
    "0" * 63, "2026-01-01T00:00:00Z", "oracle-tui.content-index/1", "v0", [], [1], ["a"],
    {}, {"a": 1}, [{}], "\u0000", "é", "\\",
]


def _nodes(doc: Any, path: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    out = [path]
    if isinstance(doc, dict):
        for k, v in doc.items():
            out += _nodes(v, (*path, k))
    elif isinstance(doc, list):
        for i, v in enumerate(doc[:3]):  # the first few items of a long list are enough
            out += _nodes(v, (*path, i))
    return out


def _at(doc: Any, path: tuple[Any, ...]) -> Any:
    for p in path:
        doc = doc[p]
    return doc


def _mutate(doc: Any, rng: random.Random) -> Any:
    out = copy.deepcopy(doc)
    path = rng.choice(_nodes(out))
    if not path:
        return rng.choice(AWKWARD)
    parent, last = _at(out, path[:-1]), path[-1]
    kind = rng.randrange(6)
    if kind == 0 and isinstance(parent, dict):
        del parent[last]
    elif kind == 1 and isinstance(parent, dict):
        parent[rng.choice(["extra", "Files", last + "_"])] = rng.choice(AWKWARD)
    elif kind == 2 and isinstance(parent[last], list):
        parent[last] = [] if rng.random() < 0.5 else parent[last] + parent[last][:1]
    elif kind == 3 and isinstance(parent[last], str):
        value = parent[last]
        parent[last] = value[:-1] if value and rng.random() < 0.5 else value + rng.choice(
            ["x", "/", ".", "\n", "A", "0"])
    elif kind == 4 and isinstance(parent[last], int) and not isinstance(parent[last], bool):
        parent[last] = rng.choice([parent[last] - 1, -parent[last] - 1, float(parent[last]),
                                   bool(parent[last] % 2)])
    else:
        parent[last] = rng.choice(AWKWARD)
    return out


def _validator(name: str) -> Draft202012Validator:
    return contracts._validator(name)


@pytest.fixture(scope="module")
def documents(tmp_path_factory: pytest.TempPathFactory,
              _pristine_sealed: DemoWorld) -> dict[str, list[Any]]:
    root = tmp_path_factory.mktemp("docs") / "world"
    shutil.copytree(_pristine_sealed.root, root)
    build_stream_view(str(root), "s3_event_stream_with_fraud_6B")
    tombstone_pack(str(root), reason="superseded", authority="ops")
    pack = open_pack(str(root))

    def read(p: Path) -> Any:
        return json.loads(p.read_text())

    views = root / "stream_view"
    docs: dict[str, list[Any]] = {
        contracts.CONTENT_INDEX: [read(root / "_oracle_content_index.json")],
        contracts.PACK_MANIFEST: [read(root / "_oracle_pack_manifest.json")],
        contracts.PACK_SEAL: [read(root / "_SEALED.json")],
        contracts.SEAL_BINDING: [read(root / "_oracle_tui_seal_binding.json")],
        contracts.TOMBSTONE: [read(root / "_TOMBSTONE.json")],
        contracts.RUN_RECEIPT: [read(root / "run_receipt.json")],
        contracts.VIEW_MANIFEST: [read(p) for p in views.rglob("_stream_view_manifest.json")],
        contracts.VIEW_RECEIPT: [read(p) for p in views.rglob("_stream_sort_receipt.json")],
        contracts.OUTPUT_LOCATOR: [locator_for(pack.interface_pack, pack.world_key(),
                                               "s3_event_stream_with_fraud_6B",
                                               pack.run_receipt().run_id)],
    }
    assert all(docs.values()), {k: len(v) for k, v in docs.items()}
    return docs


NAMES = [contracts.CONTENT_INDEX, contracts.PACK_MANIFEST, contracts.PACK_SEAL,
         contracts.SEAL_BINDING, contracts.TOMBSTONE, contracts.RUN_RECEIPT,
         contracts.VIEW_MANIFEST, contracts.VIEW_RECEIPT,
         contracts.OUTPUT_LOCATOR]


@pytest.mark.parametrize("name", NAMES)
def test_never_a_yes_where_jsonschema_says_no(documents: dict[str, list[Any]],
                                              name: str) -> None:
    schema, validator = contracts._load(name), _validator(name)
    rng = random.Random(f"schema-fast {name}")
    said_yes = said_no_to_valid = 0
    for base in documents[name]:
        assert validator.is_valid(base)
        for _ in range(1500):
            doc = _mutate(base, rng)
            fast = surely_valid(schema, doc, schema)
            valid = validator.is_valid(doc)
            assert not fast or valid, json.dumps(doc, default=str)[:2000]
            said_yes += fast
            said_no_to_valid += valid and not fast
    assert said_yes > 0  # the mutations leave some documents valid: the test can fail


@pytest.mark.parametrize("name", [contracts.CONTENT_INDEX, contracts.PACK_MANIFEST,
                                  contracts.PACK_SEAL, contracts.SEAL_BINDING,
                                  contracts.TOMBSTONE,
                                  contracts.VIEW_MANIFEST, contracts.VIEW_RECEIPT])
def test_the_documents_the_tool_writes_take_the_quick_yes(documents: dict[str, list[Any]],
                                                         name: str) -> None:
    schema = contracts._load(name)
    assert all(surely_valid(schema, doc, schema) for doc in documents[name])


@pytest.mark.parametrize("schema,doc,expected", [
    ({"type": "integer"}, True, False),  # a bool is no integer
    ({"type": "integer"}, 1.0, False),  # whole floats are left to jsonschema
    ({"type": "integer", "minimum": 0}, -1, False),
    ({"type": "number", "maximum": 1}, float("nan"), False),
    ({"type": "string", "pattern": "^[0-9a-f]{2}$"}, "ab", True),
    ({"type": "string", "pattern": "^[0-9a-f]{2}$"}, "abc", False),
    ({"const": "x"}, "x", True),
    ({"const": 1}, True, False),
    ({"enum": ["a", 1]}, 1, True),
    ({"enum": [[1]]}, [1], False),  # a list in an enum: left to jsonschema
    ({"required": ["a"]}, [], True),  # applies to objects only, as in jsonschema
    ({"additionalProperties": False, "properties": {"a": {}}}, {"a": 1, "b": 2}, False),
    ({"additionalProperties": False, "patternProperties": {"^b": {}}}, {"b": 1}, False),
    ({"$ref": "#/$defs/x", "$defs": {"x": {"type": "string"}}}, "s", True),
    ({"$ref": "other.json"}, "s", False),
    ({"anyOf": [{"type": "string"}, {"type": "null"}]}, None, True),
    ({"oneOf": [{"type": "string"}, {"type": "null"}]}, None, True),
    ({"oneOf": [{"type": "integer"}, {"type": "number"}]}, 1.0, False),  # both hold there
    ({"oneOf": [{"type": "integer"}, {"type": "number"}]}, 1, False),
    ({"oneOf": [{"type": "string"}, {"minLength": 1}]}, "s", False),  # no type to tell
    ({"not": {"type": "string"}}, 1, False),  # not known here: jsonschema decides
    ({"multipleOf": 2}, 4, False),
    ({"type": "object", "minProperties": 1}, {"a": 1}, False),
])
def test_what_it_knows_and_what_it_leaves(schema: dict[str, Any], doc: Any,
                                          expected: bool) -> None:
    assert surely_valid(schema, doc, schema) is expected
    if expected:
        assert Draft202012Validator(schema).is_valid(doc)
