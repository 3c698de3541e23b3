"""Profiles (docs/contract.md §7): the environment ladder local → dev → prod.

Placeholders resolve lazily, field by field, so that an unused required variable (dev's
ORACLE_ROOT when ROOT is given on the command line) is not an error, while a used one names
the variable. A literal credential anywhere in a profile refuses the whole file.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from importlib import resources
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from oracle_tui.core.codes import Severity
from oracle_tui.core.errors import OracleError
from oracle_tui.core.interface_pack import InterfacePack, load_interface_pack
from oracle_tui.core.redact import AWS_KEY_ID, has_url_credentials
from oracle_tui.core.storage import Store, open_store
from oracle_tui.core.storage.settings import S3Settings
from oracle_tui.core.yamlio import load_yaml, read_operator_file

PLACEHOLDER = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}")
SECRET_KEY = re.compile(
    r"(secret|passw|token|credential|private[_-]?key|access[_-]?key|session[_-]?key|api[_-]?key)",
    re.IGNORECASE,
)
# Shapes of real credentials, caught whatever key they sit under.
SECRET_VALUE = re.compile(rf"{AWS_KEY_ID.pattern}|-----BEGIN [A-Z ]*PRIVATE KEY-----")


class ObjectStoreWiring(BaseModel):
    model_config = ConfigDict(extra="forbid")

    endpoint: str = ""
    region: str = ""
    path_style: bool | str = True
    max_attempts: int = Field(default=5, ge=1, le=20)
    connect_timeout: float = Field(default=5.0, gt=0, le=300)
    read_timeout: float = Field(default=30.0, gt=0, le=600)


class Wiring(BaseModel):
    model_config = ConfigDict(extra="forbid")

    oracle_root: str = ""
    scenario_id: str = ""
    stream_view_root: str = ""
    interface_pack: str = ""
    object_store: ObjectStoreWiring = Field(default_factory=ObjectStoreWiring)
    # Per-output stream-view sort keys; wins over the interface pack's stream_sort_keys.
    stream_sort_keys: dict[str, list[str]] = Field(default_factory=dict)
    # Where stream-view builds run: "" (this process) or a Dask scheduler, tcp://host:8786.
    stream_view_executor: str = ""
    # Where cluster builds keep range files and parts until published (outside every view).
    stream_view_scratch: str = ""


class Policy(BaseModel):
    model_config = ConfigDict(extra="forbid")

    strict_seal: bool = False
    stream_view_missing: Severity = Severity.INFO
    allow_raw_fallback: bool = True


class ProfileFile(BaseModel):
    model_config = ConfigDict(extra="forbid")

    profile_id: str
    policy: Policy = Field(default_factory=Policy)
    wiring: Wiring = Field(default_factory=Wiring)


class Profile:
    """A loaded profile; wiring values are resolved against ``env`` when asked for."""

    def __init__(self, spec: ProfileFile, source: str, env: Mapping[str, str]) -> None:
        self.spec = spec
        self.source = source
        self._env = env

    @property
    def name(self) -> str:
        return self.spec.profile_id

    @property
    def strict_seal(self) -> bool:
        return self.spec.policy.strict_seal

    @property
    def policy(self) -> Policy:
        return self.spec.policy

    def resolve(self, raw: str, field: str) -> str:
        def sub(match: re.Match[str]) -> str:
            var, default = match.group(1), match.group(2)
            value = self._env.get(var)
            if value:
                return value
            if default is not None:
                return default
            raise OracleError("PLACEHOLDER_UNRESOLVED",
                              f"profile {self.name}: {field} needs environment variable {var}",
                              var)

        return PLACEHOLDER.sub(sub, raw)

    def wiring(self, field: str) -> str:
        """A resolved wiring value by dotted name, e.g. ``object_store.endpoint``."""
        obj: Any = self.spec.wiring
        for part in field.split("."):
            obj = getattr(obj, part)
        return self.resolve(str(obj), f"wiring.{field}")

    def load_interface_pack(self) -> InterfacePack:
        """The interface pack this profile wires (default: the built-in reference pack)."""
        return load_interface_pack(self.wiring("interface_pack") or None)

    def open_store(self, root: str) -> Store:
        """The store for ``root``, wired by this profile when it is an s3:// root."""
        if has_url_credentials(root):
            raise OracleError("SECRET_IN_CONFIG", "the root URI carries credentials; they come "
                                                  "only from the AWS credential chain", "root")
        return open_store(root, self.s3_settings() if root.startswith("s3://") else None)

    def s3_settings(self) -> S3Settings:
        wiring = self.spec.wiring.object_store
        endpoint = self.wiring("object_store.endpoint")
        if has_url_credentials(endpoint):  # e.g. from ${VAR}: the resolved value counts too
            raise OracleError("SECRET_IN_CONFIG", "the object-store endpoint carries "
                                                  "credentials; use the AWS credential chain",
                              "object_store.endpoint")
        return S3Settings(endpoint=endpoint,
                          region=self.wiring("object_store.region"),
                          path_style=self.path_style(), max_attempts=wiring.max_attempts,
                          connect_timeout=wiring.connect_timeout,
                          read_timeout=wiring.read_timeout)

    def path_style(self) -> bool:
        raw = self.spec.wiring.object_store.path_style
        if isinstance(raw, bool):
            return raw
        return self.resolve(raw, "wiring.object_store.path_style").lower() in ("1", "true", "yes")


def builtin_profiles_dir() -> Path:
    return Path(str(resources.files("oracle_tui") / "profiles"))


def _scan_secrets(node: Any, path: str) -> None:
    if isinstance(node, dict):
        for k, v in node.items():
            where = f"{path}.{k}" if path else str(k)
            if SECRET_KEY.search(str(k)) and isinstance(v, (str, int)) and str(v).strip():
                literal = PLACEHOLDER.sub("", str(v)).strip()
                if literal:
                    raise OracleError("SECRET_IN_CONFIG",
                                      f"literal credential at {where}; use the AWS credential "
                                      "chain instead", where)
            _scan_secrets(v, where)
    elif isinstance(node, list):
        for i, v in enumerate(node):
            _scan_secrets(v, f"{path}[{i}]")
    elif isinstance(node, str) and SECRET_VALUE.search(node):
        raise OracleError("SECRET_IN_CONFIG",
                          f"a credential-shaped value at {path}; use the AWS credential chain",
                          path)
    elif isinstance(node, str) and has_url_credentials(node):
        raise OracleError("SECRET_IN_CONFIG",
                          f"credentials inside a URL at {path}; use the AWS credential chain",
                          path)


def load_profile(name: str = "local", profiles_dir: str | Path | None = None,
                 env: Mapping[str, str] | None = None) -> Profile:
    """Load ``<profiles_dir>/<name>.yaml`` (default: the built-in profiles)."""
    if not re.fullmatch(r"[A-Za-z0-9_\-]{1,64}", name):
        raise OracleError("PROFILE_INVALID", f"bad profile name {name!r}")
    base = Path(profiles_dir) if profiles_dir is not None else builtin_profiles_dir()
    if not base.is_dir():
        raise OracleError("PROFILE_INVALID", f"profiles folder not found: {base}")
    path = base / f"{name}.yaml"
    if not path.is_file():
        known = sorted(p.stem for p in base.glob("*.yaml"))
        raise OracleError("PROFILE_INVALID",
                          f"unknown profile {name!r} (known: {', '.join(known) or 'none'})")
    data = load_yaml(read_operator_file(path, "PROFILE_INVALID", "profile"), "PROFILE_INVALID",
                     f"profile {path}")
    if not isinstance(data, dict):
        raise OracleError("PROFILE_INVALID", f"profile {path} is not a YAML mapping")
    _scan_secrets(data, "")
    try:
        spec = ProfileFile.model_validate(data)
    except ValidationError as exc:
        err = exc.errors()[0]
        where = ".".join(str(p) for p in err["loc"])
        raise OracleError("PROFILE_INVALID", f"profile {path.name}: {where}: {err['msg']}"
                          ) from exc
    return Profile(spec, str(path), os.environ if env is None else env)
