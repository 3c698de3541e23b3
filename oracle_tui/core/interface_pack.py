"""The interface pack: the engine's output catalogue and gate map (docs/contract.md §2).

Loads both the project's built-in reference pack and the real upstream files unchanged.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable
from importlib import resources
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from oracle_tui.core.errors import OracleError
from oracle_tui.core.yamlio import load_yaml, read_operator_file

CATALOGUE_FILE = "engine_outputs.catalogue.yaml"
GATE_MAP_FILE = "engine_gates.map.yaml"
TOKEN_RE = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*)\}")
# Output and gate ids as the platform's contracts spell them (locators, gate receipts).
ID_RE = re.compile(r"[A-Za-z0-9_.\-]{1,128}")
VERIFICATION_KINDS = (
    "sha256_bundle_digest",
    "sha256_index_json_ascii_lex_raw_bytes",
    "sha256_member_digest_concat",
)


class OutputSpec(BaseModel):
    model_config = ConfigDict(extra="allow", populate_by_name=True)

    output_id: str
    output_class: str = Field(default="surface", alias="class")
    path_template: str
    partitions: list[str] = Field(default_factory=list)
    read_requires_gates: list[str] = Field(default_factory=list)
    primary_key: list[str] = Field(default_factory=list)
    schema_ref: str | None = None
    owner_segment: str = ""  # the engine segment that writes it (1A … 6B)
    # Project extension: the stream view's sort key, when it is not ts_utc.
    stream_sort_keys: list[str] | None = None

    @field_validator("path_template")
    @classmethod
    def _strip(cls, v: str) -> str:
        # Real catalogue entries may end in whitespace or a newline.
        return v.strip()

    @property
    def tokens(self) -> list[str]:
        return TOKEN_RE.findall(self.path_template)


class VerificationMethod(BaseModel):
    model_config = ConfigDict(extra="allow")

    kind: str
    digest_field: str = "sha256_hex"
    ordering: str = "ascii_lex"
    exclude_filenames: list[str] = Field(default_factory=list)
    path_base: str = "bundle_root"

    @field_validator("kind")
    @classmethod
    def _known_kind(cls, v: str) -> str:
        if v not in VERIFICATION_KINDS:
            raise ValueError(f"unknown verification kind {v!r}")
        return v


class GateSpec(BaseModel):
    model_config = ConfigDict(extra="allow")

    gate_id: str
    segment: str = ""
    passed_flag_path_template: str
    bundle_root_template: str
    index_path_template: str
    verification_method: VerificationMethod
    authorizes_outputs: list[str] = Field(default_factory=list)
    upstream_gate_dependencies: list[str] = Field(default_factory=list)

    @field_validator("passed_flag_path_template", "bundle_root_template", "index_path_template")
    @classmethod
    def _strip(cls, v: str) -> str:
        return v.strip()


class InterfacePack(BaseModel):
    source: str
    catalogue_digest: str
    gate_map_digest: str
    outputs: dict[str, OutputSpec]
    gates: dict[str, GateSpec]

    def gate_closure(self, gate_ids: Iterable[str]) -> list[str]:
        """The given gates plus all their upstream dependencies, sorted; unknown ids kept."""
        seen: set[str] = set()
        stack = list(gate_ids)
        while stack:
            gid = stack.pop()
            if gid in seen:
                continue
            seen.add(gid)
            spec = self.gates.get(gid)
            if spec is not None:
                stack.extend(spec.upstream_gate_dependencies)
        return sorted(seen)


def builtin_pack_dir() -> Path:
    return Path(str(resources.files("oracle_tui") / "reference_pack"))


def _load_yaml(path: Path) -> tuple[Any, str]:
    raw = read_operator_file(path, "INTERFACE_PACK_INVALID", "interface pack file")
    return load_yaml(raw, "INTERFACE_PACK_INVALID", str(path)), hashlib.sha256(raw).hexdigest()


def _unique(ids: list[str], what: str, base: Path) -> None:
    twice = sorted({i for i in ids if ids.count(i) > 1})
    if twice:
        raise OracleError("INTERFACE_PACK_INVALID", f"the {what} in {base} lists "
                                                    f"{', '.join(twice[:5])} more than once; "
                                                    "which one is meant is ambiguous")


def load_interface_pack(directory: str | Path | None = None) -> InterfacePack:
    """Load catalogue + gate map from ``directory`` (default: the built-in reference pack)."""
    base = Path(directory) if directory is not None else builtin_pack_dir()
    if not base.is_dir():
        raise OracleError("INTERFACE_PACK_INVALID", f"interface pack folder not found: {base}")
    cat, cat_digest = _load_yaml(base / CATALOGUE_FILE)
    gmap, gmap_digest = _load_yaml(base / GATE_MAP_FILE)
    try:
        outputs = [OutputSpec.model_validate(o) for o in (cat or {}).get("outputs", [])]
        gates = [GateSpec.model_validate(g) for g in (gmap or {}).get("gates", [])]
    except (ValidationError, AttributeError, TypeError) as exc:
        first = exc.errors()[0]["msg"] if isinstance(exc, ValidationError) else str(exc)
        raise OracleError("INTERFACE_PACK_INVALID", f"interface pack in {base} is malformed: "
                                                    f"{first}") from exc
    _unique([o.output_id for o in outputs], "catalogue's output ids", base)
    _unique([g.gate_id for g in gates], "gate map's gate ids", base)
    _unique([o.path_template for o in outputs], "catalogue's path templates", base)
    bad = [i for i in [*(o.output_id for o in outputs), *(g.gate_id for g in gates)]
           if not ID_RE.fullmatch(i)]
    if bad:
        raise OracleError("INTERFACE_PACK_INVALID", f"the interface pack in {base} names "
                                                    f"{bad[0][:80]!r}, which is not an id "
                                                    "(letters, digits, _ . -; at most 128)")
    return InterfacePack(
        source=str(base),
        catalogue_digest=cat_digest,
        gate_map_digest=gmap_digest,
        outputs={o.output_id: o for o in outputs},
        gates={g.gate_id: g for g in gates},
    )


# -- templates ------------------------------------------------------------------------------

def render_template(template: str, values: dict[str, str]) -> str:
    """Fill ``{token}``s from ``values``; tokens without a value become a '*' wildcard."""
    return TOKEN_RE.sub(lambda m: values.get(m.group(1), "*"), template.strip())


def _segment_regex(segment: str) -> str:
    return "".join("[^/]*" if ch == "*" else re.escape(ch) for ch in segment)


def template_regex(rendered: str) -> re.Pattern[str]:
    """A regex over root-relative keys for a rendered template.

    A template ending in '/' names a folder (every file below it); otherwise it names files,
    where '*' matches within one path segment (``part-*.parquet``).
    """
    if rendered.endswith("/"):
        body = "/".join(_segment_regex(s) for s in rendered.rstrip("/").split("/"))
        return re.compile(body + "/.+")
    return re.compile("/".join(_segment_regex(s) for s in rendered.split("/")))


def literal_prefix(rendered: str) -> str:
    """The longest prefix of ``rendered`` without a wildcard: where listing has to start."""
    cut = rendered.find("*")
    return rendered if cut < 0 else rendered[:cut]
