"""The JSON documents with a published schema, checked against it on the way in and out.

The platform's contracts (the pack manifest and seal in its ``oracle_store_contracts``; run
receipts, output locators, gate and instance-proof receipts in its ``contracts``) and
oracle-tui's own control files each have a schema in ``oracle_tui/schemas/`` (see
docs/contract.md for where each comes from). Nothing is written that its schema refuses,
and a document read from a pack is judged by its schema before any field of it is used, so
a manifest with one extra key is refused here exactly as the platform refuses it.
"""

from __future__ import annotations

import json
from functools import cache
from importlib import resources
from typing import TYPE_CHECKING, Any

from oracle_tui.core.errors import OracleError
from oracle_tui.core.schema_fast import surely_valid

if TYPE_CHECKING:  # jsonschema loads when a document is first judged, not at start-up
    from jsonschema import Draft202012Validator

PACK_MANIFEST = "oracle_pack_manifest"
PACK_SEAL = "oracle_pack_seal"
SEAL_BINDING = "seal_binding"
CONTENT_INDEX = "content_index"
TOMBSTONE = "tombstone"
RUN_RECEIPT = "run_receipt"
OUTPUT_LOCATOR = "engine_output_locator"
GATE_RECEIPT = "gate_receipt"
INSTANCE_PROOF = "instance_proof_receipt"
VIEW_MANIFEST = "stream_view_manifest"
VIEW_RECEIPT = "stream_sort_receipt"


@cache
def _load(name: str) -> dict[str, Any]:
    text = resources.files("oracle_tui").joinpath("schemas", f"{name}.schema.json").read_text(
        encoding="utf-8")
    doc: dict[str, Any] = json.loads(text)
    return doc


@cache
def _validator(name: str) -> Draft202012Validator:
    from jsonschema import Draft202012Validator
    from referencing import Registry, Resource
    from referencing.jsonschema import DRAFT202012

    # An instance-proof receipt's target_ref is a locator: the one $ref between our schemas.
    locator = Resource.from_contents(_load(OUTPUT_LOCATOR), default_specification=DRAFT202012)
    registry: Registry[Any] = Registry().with_resource(
        "oracle-tui/engine_output_locator.schema.json", locator)
    return Draft202012Validator(_load(name), registry=registry)


def problem(name: str, doc: Any) -> str | None:
    """The schema's own words for the first thing wrong with ``doc``, or None when valid.
    "First" is stable: errors are ordered by where they are, then by message."""
    schema = _load(name)
    if surely_valid(schema, doc, schema):  # most documents: no validator walk (schema_fast)
        return None
    errors = sorted(_validator(name).iter_errors(doc),
                    key=lambda e: ([str(p) for p in e.absolute_path], e.message))
    if not errors:
        return None
    err = errors[0]
    where = "/".join(str(p) for p in err.absolute_path)
    return f"{where or 'document'}: {err.message[:300]}"


def require(name: str, doc: Any, code: str, subject: str) -> None:
    """Raise ``code`` naming the schema's complaint unless ``doc`` is valid."""
    why = problem(name, doc)
    if why is not None:
        raise OracleError(code, f"{subject} breaks its schema ({name}): {why}", subject)
