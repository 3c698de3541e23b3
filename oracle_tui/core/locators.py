"""Engine output locators (contracts/engine_output_locator.schema.yaml): validate and expand.

A locator is followed only inside the given pack root: a path outside its prefix is
LOCATOR_INVALID, one that tries to climb out of it is PATH_UNSAFE, and `part-*` globs are
expanded by listing under the root, never by scanning anywhere else.
"""

from __future__ import annotations

import re
from typing import Any

from pydantic import BaseModel, Field

from oracle_tui.core import contracts
from oracle_tui.core.errors import OracleError
from oracle_tui.core.interface_pack import InterfacePack, render_template, template_regex
from oracle_tui.core.listing import Listing
from oracle_tui.core.pack import OpenedPack
from oracle_tui.core.paths import require_safe_key
from oracle_tui.core.storage.base import Store
from oracle_tui.core.world import WorldKey

OUTPUT_ID_RE = re.compile(r"^[A-Za-z0-9_.\-]{1,128}$")
IDENTITY_FIELDS = ("manifest_fingerprint", "parameter_hash", "seed", "scenario_id")


class LocatorResult(BaseModel):
    output_id: str
    path: str  # root-relative
    files: list[str] = Field(default_factory=list)
    bytes: int = 0


def _relative(store: Store, path: str) -> str:
    """The root-relative key a locator path names (absolute URIs/paths must be inside)."""
    root = store.root_uri.rstrip("/") + "/"
    if "://" in path or path.startswith("/"):
        if not path.startswith(root):
            raise OracleError("LOCATOR_INVALID", f"locator path {path!r} is outside the pack "
                                                 f"root {store.root_uri}", path)
        path = path[len(root):]
    require_safe_key(path.rstrip("/") or ".", path)
    return path


def locator_for(catalogue: InterfacePack, wk: WorldKey, output_id: str, run_id: str | None = None
                ) -> dict[str, Any]:
    """The locator of an output of this world (root-relative path)."""
    spec = catalogue.outputs[output_id]
    loc: dict[str, Any] = {"output_id": output_id,
                           "path": render_template(spec.path_template, wk.tokens(run_id))}
    for token in IDENTITY_FIELDS:
        if token in spec.tokens:
            loc[token] = getattr(wk, token)
    if run_id and "run_id" in spec.tokens:
        loc["run_id"] = run_id
    if not any(f in loc for f in ("manifest_fingerprint", "parameter_hash", "run_id",
                                  "scenario_id")):
        # The locator contract asks for at least one identity field; an output whose path
        # holds none (configuration, policies) is pinned to this world.
        loc["manifest_fingerprint"] = wk.manifest_fingerprint
    if spec.schema_ref:
        loc["schema_ref"] = spec.schema_ref
    return loc


def validate_locator(store: Store, catalogue: InterfacePack, wk: WorldKey, locator: Any,
                     listing: Listing | None = None) -> LocatorResult:
    if not isinstance(locator, dict):
        raise OracleError("LOCATOR_INVALID", "a locator is a JSON object")
    contracts.require(contracts.OUTPUT_LOCATOR, locator, "LOCATOR_INVALID", "the locator")
    output_id, path = locator.get("output_id"), locator.get("path")
    if not isinstance(output_id, str) or not OUTPUT_ID_RE.match(output_id):
        raise OracleError("LOCATOR_INVALID", "locator output_id is missing or malformed")
    if not isinstance(path, str) or not path or len(path) > 2048:
        raise OracleError("LOCATOR_INVALID", f"locator for {output_id} has no usable path",
                          output_id)
    if output_id not in catalogue.outputs:
        raise OracleError("OUTPUT_UNKNOWN", f"{output_id} is not in the catalogue", output_id)
    for field in IDENTITY_FIELDS:
        if field in locator and str(locator[field]) != str(getattr(wk, field)):
            raise OracleError("WORLD_KEY_MISMATCH", f"locator {field}={locator[field]!r} is "
                                                    f"not this world's", output_id)
    rel = _relative(store, path.strip())
    spec = catalogue.outputs[output_id]
    expected = render_template(spec.path_template, wk.tokens(locator.get("run_id")))
    if rel != expected and not template_regex(expected).fullmatch(rel.rstrip("/")):
        raise OracleError("LOCATOR_INVALID", f"locator path {rel!r} does not match the "
                                             f"catalogue template {expected!r}", output_id)
    listing = listing or Listing(list(store.list(_list_prefix(rel))))
    files = listing.match(rel) if ("*" in rel or rel.endswith("/")) else (
        [listing.by_key[rel]] if rel in listing.by_key else [])
    if not files:
        raise OracleError("OUTPUT_MISSING", f"nothing at {rel}", output_id)
    return LocatorResult(output_id=output_id, path=rel, files=[f.key for f in files],
                         bytes=sum(f.size for f in files))


def _list_prefix(rel: str) -> str:
    cut = rel.find("*")
    head = rel if cut < 0 else rel[:cut]
    return head.rsplit("/", 1)[0] + "/" if "/" in head else ""


class Located(BaseModel):
    """What ``locate`` hands out: the locator, where it resolves, and that it may be read."""

    locator: dict[str, Any]
    resolved: dict[str, Any]
    readable: bool = True
    # What the readability decision behind this locator proved (the check's own words).
    verified: str = ""


def locate(pack: OpenedPack, *, output_id: str | None = None,
           locator: dict[str, Any] | None = None, quick: bool = False) -> Located:
    """The locator of ``output_id`` (or ``locator`` checked), handed out only when the
    output is readable: a locator is a door too, so it passes the same one decision as
    every reader, on the default check's proof (its files re-hashed); ``quick`` skips the
    re-hash and the answer's ``verified`` says so."""
    from oracle_tui.core.check import run_check
    from oracle_tui.core.readability import decide

    store, catalogue = pack.store, pack.interface_pack
    if not pack.root_exists():
        raise OracleError("PACK_NOT_FOUND", f"no pack at {pack.root}", pack.root)
    receipt, world_key = pack.run_receipt(), pack.world_key()
    if locator is None:
        if output_id is None:
            raise OracleError("INPUT_INVALID", "locate needs an output id or a locator")
        locator = locator_for(catalogue, world_key, output_id, receipt.run_id)
    result = validate_locator(store, catalogue, world_key, locator, pack.listing())
    report = run_check(pack, output_ids=[result.output_id], verify_digests=not quick)
    decide(report, result.output_id).require("locate")
    return Located(locator=locator, resolved=result.model_dump(), verified=report.verified)
