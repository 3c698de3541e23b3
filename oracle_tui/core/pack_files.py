"""The pack's own files (manifest, seal, seal binding, content index, tombstone): names,
models, parsing.

The manifest and seal are exactly the platform's v1 documents (its oracle_store_contracts:
seven and four fields, no others; its stream producer refuses a pack whose manifest holds one
more key). What oracle-tui adds (the content index's digest and counts, the manifest bytes'
digest, the gates as verified, the run id, the tool's version) lives in its own seal binding,
``_oracle_tui_seal_binding.json``, written after the manifest and before ``_SEALED.json``:
seal → pack id → manifest → binding → content index → every byte (docs/contract.md).
"""

from __future__ import annotations

import hashlib
import re
from datetime import datetime
from typing import Annotated, Any, ClassVar, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationError,
    field_validator,
    model_validator,
)

from oracle_tui.core import contracts
from oracle_tui.core.errors import OracleError
from oracle_tui.core.jsonio import read_json
from oracle_tui.core.paths import unsafe_reason
from oracle_tui.core.storage.base import PROBE_PREFIX, TEMP_RE, Store
from oracle_tui.core.world import WorldKey

MANIFEST = "_oracle_pack_manifest.json"
SEAL = "_SEALED.json"
CONTENT_INDEX = "_oracle_content_index.json"
SEAL_BINDING = "_oracle_tui_seal_binding.json"
TOMBSTONE = "_TOMBSTONE.json"
# The platform's producer and checker take this file, too, as a seal; oracle-tui never
# writes it, so one at the root is reported (check).
SEALED_FLAG = "_SEALED.flag"
STREAM_VIEW_PREFIX = "stream_view/"
PACK_CONTROL_FILES = (CONTENT_INDEX, MANIFEST, SEAL_BINDING, SEAL, TOMBSTONE)

MANIFEST_VERSION = "v0"  # what the platform's own packer writes (its fingerprint compares it)
SEAL_VERSION = "v0"
# What oracle-tui before 0.2 put into the manifest and seal (the platform refuses them).
OLD_EXTENSION_KEY = "extensions"
SEAL_BINDING_SCHEMA = "oracle-tui.seal-binding/1"
CONTENT_INDEX_SCHEMA = "oracle-tui.content-index/1"
TOMBSTONE_SCHEMA = "oracle-tui.tombstone/1"
Hex64 = Annotated[str, StringConstraints(pattern=r"^[0-9a-f]{64}$")]
# An RFC 3339 date-time with a zone: what oracle-tui writes (…ffffffZ) and what the platform's
# own packer writes (Python's isoformat(): …+00:00, fraction only when non-zero).
RFC3339_RE = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?(Z|[+-]\d{2}:\d{2})$")


def _instant(value: str) -> str:
    """v1 asks only for a non-empty string; a time that is no instant (25:61, a leap second,
    free text) is still refused: no packer writes one."""
    if not RFC3339_RE.match(value):
        raise ValueError("not an RFC 3339 date-time with a zone")
    try:
        datetime.fromisoformat(value)
    except ValueError as exc:
        raise ValueError("not a real instant") from exc
    return value


Instant = Annotated[str, AfterValidator(_instant)]


def oracle_pack_id(wk: WorldKey, engine_release: str, catalogue_digest: str,
                   gate_map_digest: str) -> str:
    """sha256 of "{mf}|{ph}|{scenario_id}|{seed}|{engine_release}|{catalogue}|{gate_map}"."""
    text = (f"{wk.manifest_fingerprint}|{wk.parameter_hash}|{wk.scenario_id}|{wk.seed}|"
            f"{engine_release}|{catalogue_digest}|{gate_map_digest}")
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def is_pack_content(key: str) -> bool:
    """Whether a key belongs to the sealed content (what the content index must list).

    Not content: the pack's control files, derived stream views (proven by their own
    receipts), conditional-write probes and oracle-tui's own in-flight temporary files.
    """
    if key in PACK_CONTROL_FILES or key.startswith((STREAM_VIEW_PREFIX, PROBE_PREFIX)):
        return False
    return not TEMP_RE.match(key.rsplit("/", 1)[-1])


class ContentEntry(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)

    path: str
    size: int = Field(ge=0)
    sha256: Hex64


    @field_validator("path")
    @classmethod
    def _safe(cls, v: str) -> str:
        reason = unsafe_reason(v)
        if reason:
            raise ValueError(f"unsafe path ({reason})")
        return v


class ContentIndex(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)
    contract: ClassVar[str] = contracts.CONTENT_INDEX

    schema_version: Literal["oracle-tui.content-index/1"] = Field(alias="schema")
    file_count: int = Field(ge=0)
    total_bytes: int = Field(ge=0)
    files: list[ContentEntry]

    @model_validator(mode="after")
    def _counts(self) -> ContentIndex:
        if self.file_count != len(self.files):
            raise ValueError(f"file_count {self.file_count}, but {len(self.files)} entries")
        if self.total_bytes != sum(e.size for e in self.files):
            raise ValueError("total_bytes is not the sum of the entries' sizes")
        return self



class ContentIndexRef(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)

    path: Literal["_oracle_content_index.json"]
    sha256: Hex64
    file_count: int = Field(ge=0)
    total_bytes: int = Field(ge=0)



class Manifest(BaseModel):
    """`_oracle_pack_manifest.json`, the platform's v1 document. Read leniently where v1 is
    (version "v0" or "1.0", an offset time); written by oracle-tui with version "v0", as
    the platform's packer writes it, and UTC microseconds."""

    model_config = ConfigDict(extra="forbid", strict=True)
    contract: ClassVar[str] = contracts.PACK_MANIFEST

    version: str
    oracle_pack_id: Hex64
    world_key: WorldKey
    engine_release: str
    catalogue_digest: Hex64
    gate_map_digest: Hex64
    created_at_utc: Instant


class Seal(BaseModel):
    """`_SEALED.json`, the platform's v1 document."""

    model_config = ConfigDict(extra="forbid", strict=True)
    contract: ClassVar[str] = contracts.PACK_SEAL

    version: str
    oracle_pack_id: Hex64
    seal_status: Literal["SEALED_OK", "SEALED_FAILED"]
    sealed_at_utc: Instant


class ToolInfo(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)

    name: Literal["oracle-tui"]
    version: str = Field(min_length=1, max_length=64)


class SealBinding(BaseModel):
    """`_oracle_tui_seal_binding.json`: what binds the v1 documents to every byte."""

    model_config = ConfigDict(extra="forbid", strict=True)
    contract: ClassVar[str] = contracts.SEAL_BINDING

    schema_version: Literal["oracle-tui.seal-binding/1"] = Field(alias="schema")
    oracle_pack_id: Hex64
    manifest_sha256: Hex64
    run_id: Annotated[str, StringConstraints(pattern=r"^[0-9a-f]{32}$")]
    content_index: ContentIndexRef
    gates: dict[str, Hex64]
    tool: ToolInfo


class Tombstone(BaseModel):
    model_config = ConfigDict(extra="forbid")
    contract: ClassVar[str] = contracts.TOMBSTONE

    schema_version: Literal["oracle-tui.tombstone/1"] = Field(alias="schema")
    oracle_pack_id: str | None
    reason: str = Field(min_length=1, max_length=4096)
    authority: str = Field(min_length=1, max_length=256)
    tombstoned_by: str
    tombstoned_at_utc: str
    replacement_root: str | None = None


def _first_error(exc: ValidationError) -> str:
    err = exc.errors()[0]
    where = ".".join(str(p) for p in err["loc"]) or "document"
    return f"{where}: {err['msg']}"


def read_model(store: Store, key: str, model: type[Any], code: str) -> tuple[Any, bytes]:
    """Read, parse and validate one control file; ``code`` for any malformation. The
    document's schema judges it first (its own words name what is wrong), then the model."""
    data, raw = read_json(store, key, code)
    if not isinstance(data, dict):
        raise OracleError(code, f"{key} is not a JSON object", key)
    contracts.require(model.contract, data, code, key)
    try:
        return model.model_validate(data), raw
    except ValidationError as exc:
        raise OracleError(code, f"{key}: {_first_error(exc)}", key) from exc
