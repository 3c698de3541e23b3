"""World identity: the run receipt, the OracleWorldKey and scenario_id resolution
(docs/contract.md §1)."""

from __future__ import annotations

import re
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from oracle_tui.core.errors import OracleError
from oracle_tui.core.interface_pack import InterfacePack, literal_prefix, render_template
from oracle_tui.core.jsonio import read_json
from oracle_tui.core.listing import Listing
from oracle_tui.core.storage.base import Store

RUN_RECEIPT = "run_receipt.json"
HEX64 = re.compile(r"^[0-9a-f]{64}$")
HEX32 = re.compile(r"^[0-9a-f]{32}$")
SCENARIO_RE = re.compile(r"^[A-Za-z0-9_.\-]{1,256}$")
UINT64_MAX = 2**64 - 1


class RunReceipt(BaseModel):
    model_config = ConfigDict(extra="allow")

    run_id: str
    seed: int
    parameter_hash: str
    manifest_fingerprint: str
    created_utc: str | None = None

    @field_validator("run_id")
    @classmethod
    def _hex32(cls, v: str) -> str:
        if not HEX32.match(v):
            raise ValueError("run_id must be 32 lowercase hex characters")
        return v

    @field_validator("parameter_hash", "manifest_fingerprint")
    @classmethod
    def _hex64(cls, v: str) -> str:
        if not HEX64.match(v):
            raise ValueError("must be 64 lowercase hex characters")
        return v

    @field_validator("seed", mode="before")
    @classmethod
    def _uint64(cls, v: Any) -> int:
        if isinstance(v, bool) or not isinstance(v, int) or not 0 <= v <= UINT64_MAX:
            raise ValueError("seed must be an integer in [0, 2^64)")
        return v


class WorldKey(BaseModel):
    """OracleWorldKey. run_id is deliberately not part of it."""

    model_config = ConfigDict(frozen=True, extra="forbid", strict=True)

    manifest_fingerprint: str
    parameter_hash: str
    scenario_id: str
    seed: int = Field(ge=0, le=UINT64_MAX)

    def tokens(self, run_id: str | None = None) -> dict[str, str]:
        values = {
            "manifest_fingerprint": self.manifest_fingerprint,
            "parameter_hash": self.parameter_hash,
            "scenario_id": self.scenario_id,
            "seed": str(self.seed),
        }
        if run_id:
            values["run_id"] = run_id
        return values


def read_run_receipt(store: Store) -> RunReceipt:
    info = store.head(RUN_RECEIPT)
    if info is None:
        raise OracleError("RUN_RECEIPT_MISSING", f"{RUN_RECEIPT} not found under the root",
                          RUN_RECEIPT)
    if info.kind != "file":
        raise OracleError("PATH_UNSAFE", f"{RUN_RECEIPT} is a {info.kind}, not a file",
                          RUN_RECEIPT)
    data, _ = read_json(store, RUN_RECEIPT, "RUN_RECEIPT_INVALID", max_bytes=1024 * 1024)
    if not isinstance(data, dict):
        raise OracleError("RUN_RECEIPT_INVALID", f"{RUN_RECEIPT} is not a JSON object",
                          RUN_RECEIPT)
    try:
        return RunReceipt.model_validate(data)
    except ValidationError as exc:
        err = exc.errors()[0]
        field = ".".join(str(p) for p in err["loc"]) or "receipt"
        raise OracleError("RUN_RECEIPT_INVALID", f"{RUN_RECEIPT}: {field}: {err['msg']}",
                          RUN_RECEIPT) from exc


def validate_scenario_id(scenario_id: str) -> str:
    if not SCENARIO_RE.match(scenario_id):
        raise OracleError("SCENARIO_ID_MISSING",
                          f"scenario_id {scenario_id!r} is not a safe partition value "
                          "(letters, digits, '_', '.', '-')", "scenario_id")
    return scenario_id


def discover_scenario_ids(catalogue: InterfacePack, receipt: RunReceipt,
                          listing: Listing) -> list[str]:
    """scenario_id= values under the catalogued outputs' paths (the only allowed fallback)."""
    found: set[str] = set()
    values = {
        "manifest_fingerprint": receipt.manifest_fingerprint,
        "parameter_hash": receipt.parameter_hash,
        "seed": str(receipt.seed),
        "run_id": receipt.run_id,
    }
    for spec in catalogue.outputs.values():
        if "scenario_id" not in spec.tokens:
            continue
        rendered = render_template(spec.path_template, {**values, "scenario_id": "\x00"})
        head = rendered.split("\x00", 1)[0]
        pattern = re.compile(
            "".join("[^/]*" if c == "*" else re.escape(c) for c in head) + r"([^/]+)/"
        )
        for obj in listing.under(literal_prefix(head)):  # bisect: only keys under the path
            m = pattern.match(obj.key)
            if m:
                found.add(m.group(1))
    return sorted(found)


def resolve_world_key(receipt: RunReceipt, scenario_id: str | None, catalogue: InterfacePack,
                      listing: Listing) -> WorldKey:
    if scenario_id:
        sid = validate_scenario_id(scenario_id)
    else:
        ids = discover_scenario_ids(catalogue, receipt, listing)
        if not ids:
            raise OracleError("SCENARIO_ID_MISSING",
                              "no --scenario-id given and no scenario_id= partition under the "
                              "catalogued outputs", "scenario_id")
        if len(ids) > 1:
            raise OracleError("SCENARIO_ID_AMBIGUOUS",
                              f"no --scenario-id given and {len(ids)} scenario_id partitions "
                              f"exist: {', '.join(ids[:5])}", "scenario_id")
        sid = validate_scenario_id(ids[0])
    return WorldKey(
        manifest_fingerprint=receipt.manifest_fingerprint,
        parameter_hash=receipt.parameter_hash,
        scenario_id=sid,
        seed=receipt.seed,
    )
