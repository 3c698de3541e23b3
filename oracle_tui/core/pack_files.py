"""The pack's own files (manifest, seal, content index, tombstone): names, models, parsing.

The manifest and seal carry the upstream v1 fields (oracle_store_contracts/) unchanged; what
oracle-tui adds lives under ``extensions.oracle_tui`` with its own schema version, so an
upstream reader that drops ``extensions`` sees exactly the v1 document.
"""

from __future__ import annotations

import hashlib
from datetime import datetime
from typing import Annotated, Any, Literal

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

from oracle_tui.core.errors import OracleError
from oracle_tui.core.jsonio import read_json
from oracle_tui.core.paths import unsafe_reason
from oracle_tui.core.storage.base import PROBE_PREFIX, Store
from oracle_tui.core.storage.local import TEMP_RE
from oracle_tui.core.world import WorldKey

MANIFEST = "_oracle_pack_manifest.json"
SEAL = "_SEALED.json"
CONTENT_INDEX = "_oracle_content_index.json"
TOMBSTONE = "_TOMBSTONE.json"
STREAM_VIEW_PREFIX = "stream_view/"
PACK_CONTROL_FILES = (CONTENT_INDEX, MANIFEST, SEAL, TOMBSTONE)

MANIFEST_VERSION = "1.0"
SEAL_VERSION = "1.0"
MANIFEST_EXT_SCHEMA = "oracle-tui.manifest-ext/1"
SEAL_EXT_SCHEMA = "oracle-tui.seal-ext/1"
CONTENT_INDEX_SCHEMA = "oracle-tui.content-index/1"
TOMBSTONE_SCHEMA = "oracle-tui.tombstone/1"
Hex64 = Annotated[str, StringConstraints(pattern=r"^[0-9a-f]{64}$")]
UTC_MICROS_FORMAT = "%Y-%m-%dT%H:%M:%S.%fZ"


def _utc_micros(value: str) -> str:
    """RFC 3339 UTC with microseconds and Z, and a real instant (no 25:61, no leap second)."""
    try:
        parsed = datetime.strptime(value, UTC_MICROS_FORMAT)
    except ValueError as exc:
        raise ValueError("not a UTC timestamp of the form YYYY-MM-DDTHH:MM:SS.ffffffZ") from exc
    if parsed.strftime(UTC_MICROS_FORMAT) != value:
        raise ValueError("not a UTC timestamp of the form YYYY-MM-DDTHH:MM:SS.ffffffZ")
    return value


UtcMicros = Annotated[str, AfterValidator(_utc_micros)]


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



class ManifestExtension(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)

    schema_version: Literal["oracle-tui.manifest-ext/1"] = Field(alias="schema")
    run_id: Annotated[str, StringConstraints(pattern=r"^[0-9a-f]{32}$")]
    content_index: ContentIndexRef
    gates: dict[str, Hex64]


class ManifestExtensions(BaseModel):
    """Other tools' extensions may sit beside ours; ours must be there."""

    model_config = ConfigDict(extra="allow")

    oracle_tui: ManifestExtension


class Manifest(BaseModel):
    """`_oracle_pack_manifest.json`: upstream v1 fields + ``extensions.oracle_tui``."""

    model_config = ConfigDict(extra="forbid", strict=True)

    version: Literal["1.0"]
    oracle_pack_id: Hex64
    world_key: WorldKey
    engine_release: str = Field(min_length=1, max_length=256)
    catalogue_digest: Hex64
    gate_map_digest: Hex64
    created_at_utc: UtcMicros
    extensions: ManifestExtensions

    @property
    def ext(self) -> ManifestExtension:
        return self.extensions.oracle_tui


class SealExtension(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)

    schema_version: Literal["oracle-tui.seal-ext/1"] = Field(alias="schema")
    manifest_sha256: Hex64



class SealExtensions(BaseModel):
    model_config = ConfigDict(extra="allow")

    oracle_tui: SealExtension


class Seal(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)

    version: Literal["1.0"]
    oracle_pack_id: Hex64
    seal_status: Literal["SEALED_OK", "SEALED_FAILED"]
    sealed_at_utc: UtcMicros
    extensions: SealExtensions

    @property
    def ext(self) -> SealExtension:
        return self.extensions.oracle_tui


class Tombstone(BaseModel):
    model_config = ConfigDict(extra="forbid")

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
    """Read, parse and validate one control file; ``code`` for any malformation."""
    data, raw = read_json(store, key, code)
    if not isinstance(data, dict):
        raise OracleError(code, f"{key} is not a JSON object", key)
    try:
        return model.model_validate(data), raw
    except ValidationError as exc:
        raise OracleError(code, f"{key}: {_first_error(exc)}", key) from exc
