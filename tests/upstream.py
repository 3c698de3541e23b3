"""The platform's own schemas, read from the upstream interface pack (never copied here).

``upstream_validator("oracle_store_contracts/oracle_pack_manifest")`` or
``upstream_validator("contracts/gate_receipt")``: a Draft 2020-12 validator of the schema file
as it stands upstream; the ``contracts/`` schemas' $refs to the engine's layer-1 schema are
resolved to the pack's ``segment_schemas/schemas.layer1.yaml``.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any

import pytest
import yaml
from jsonschema import Draft202012Validator
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

from tests.conftest import UPSTREAM

LAYER1_REFS = ("../layer-1/specs/contracts/1A/schemas.layer1.yaml",
               "layer-1/specs/contracts/1A/schemas.layer1.yaml")


def _yaml(path: Path) -> Any:
    if not path.is_file():
        pytest.skip(f"upstream interface pack not found at {UPSTREAM}")
    return yaml.safe_load(path.read_text(encoding="utf-8"))


@cache
def upstream_validator(name: str) -> Draft202012Validator:
    layer1 = Resource.from_contents(_yaml(UPSTREAM / "segment_schemas" / "schemas.layer1.yaml"),
                                    default_specification=DRAFT202012)
    registry: Registry[Any] = Registry().with_resources([(ref, layer1) for ref in LAYER1_REFS])
    if name == "contracts/instance_proof_receipt":
        locator = Resource.from_contents(
            _yaml(UPSTREAM / "contracts" / "engine_output_locator.schema.yaml"),
            default_specification=DRAFT202012)
        registry = registry.with_resource("engine_output_locator.schema.yaml", locator)
    return Draft202012Validator(_yaml(UPSTREAM / f"{name}.schema.yaml"), registry=registry)


def upstream_errors(name: str, doc: Any) -> list[str]:
    """The upstream schema's complaints about ``doc`` (empty when it is valid)."""
    return sorted(e.message for e in upstream_validator(name).iter_errors(doc))
