"""Shared tools of the reliability suite: break a pack the way an attacker or a bug would."""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from oracle_tui.core.jsonio import canonical_json
from tests.conftest import CliResult, run_cli_here


def check(root: str, *args: str) -> tuple[int, dict[str, Any]]:
    """`oracle-tui check ROOT --json ARGS` (in this process: the same main())."""
    res = run_cli_here("check", root, "--json", *args)
    assert "Traceback" not in res.err, res.err
    return res.code, json.loads(res.out)


def fails(doc: dict[str, Any]) -> set[tuple[str, str]]:
    return {(f["code"], f["subject"]) for f in doc["findings"] if f["severity"] == "FAIL"}


def codes(doc: dict[str, Any]) -> set[str]:
    return {f["code"] for f in doc["findings"] if f["severity"] != "INFO"}


def part(root: str, n: int = 1, output: str = "s3_event_stream_with_fraud_6B") -> Path:
    return sorted(Path(root).glob(f"data/**/{output}/**/part-*.parquet"))[n]


def rel(root: str, path: Path) -> str:
    return path.relative_to(root).as_posix()


def why_another_user_cannot_run_this_checkout(uid: int) -> str | None:
    """None when ``uid`` can start this venv's Python and import the tool; else why not, in
    one line (a checkout in a folder only its owner can enter, as ``mktemp -d`` makes)."""
    import subprocess
    import sys

    try:
        probe = subprocess.run([sys.executable, "-c", "import oracle_tui.cli"], user=uid,
                               group=uid, capture_output=True, text=True, timeout=120,
                               stdin=subprocess.DEVNULL, cwd="/",
                               env={**os.environ, "HOME": "/nonexistent"})
    except OSError as exc:  # the interpreter itself cannot be reached: PermissionError
        return f"uid {uid} cannot run {sys.executable} ({exc.strerror}): the checkout is " \
               "in a folder other users cannot enter"
    if probe.returncode != 0:
        last = (probe.stderr.strip().splitlines() or ["no output"])[-1]
        return f"uid {uid} cannot import this checkout: {last[:200]}"
    return None


@contextlib.contextmanager
def world_for_another_user(source: str, uid: int | None = None) -> Iterator[Path]:
    """A copy of a world outside pytest's private temp folder, readable by every user (and
    owned by ``uid`` when given), removed afterwards."""
    base = Path(tempfile.mkdtemp(prefix="oracle-user-"))
    try:
        base.chmod(0o755)
        root = base / "world"
        shutil.copytree(source, root)
        for path in [root, *root.rglob("*")]:
            path.chmod(0o755 if path.is_dir() else 0o644)
            if uid is not None:
                os.chown(path, uid, uid)
        yield root
    finally:
        shutil.rmtree(base, ignore_errors=True)


BINDING = "_oracle_tui_seal_binding.json"


def edit_binding(root: str, edit: Callable[[dict[str, Any]], Any]) -> None:
    """Edit oracle-tui's seal binding in place (nothing above it holds its digest)."""
    path = Path(root) / BINDING
    binding = json.loads(path.read_text())
    edit(binding)
    path.write_bytes(canonical_json(binding))


def rechain_manifest(root: str, edit: Callable[[dict[str, Any]], Any]) -> None:
    """Edit the manifest and fix up everything above it (the binding's digest of the
    manifest, the binding's and the seal's pack id), as a careful tamperer would: only checks
    of the fields themselves can catch it."""
    base = Path(root)
    manifest = json.loads((base / "_oracle_pack_manifest.json").read_text())
    edit(manifest)
    raw = canonical_json(manifest)
    (base / "_oracle_pack_manifest.json").write_bytes(raw)
    pack_id = manifest.get("oracle_pack_id")

    def fix(binding: dict[str, Any]) -> None:
        binding["manifest_sha256"] = hashlib.sha256(raw).hexdigest()
        if isinstance(pack_id, str):
            binding["oracle_pack_id"] = pack_id

    edit_binding(root, fix)
    seal = json.loads((base / "_SEALED.json").read_text())
    if isinstance(pack_id, str):
        seal["oracle_pack_id"] = pack_id
    (base / "_SEALED.json").write_bytes(canonical_json(seal))


def rechain(root: str, mutate_index: Callable[[dict[str, Any]], Any]) -> None:
    """Edit the content index and fix up the digest above it (the binding's), as a careful
    tamperer would: only the checks on the index's own content can catch it."""
    base = Path(root)
    index = json.loads((base / "_oracle_content_index.json").read_text())
    mutate_index(index)
    raw = canonical_json(index)
    (base / "_oracle_content_index.json").write_bytes(raw)
    digest = hashlib.sha256(raw).hexdigest()
    edit_binding(root, lambda b: b["content_index"].update(sha256=digest))


__all__ = ["BINDING", "CliResult", "check", "codes", "edit_binding", "fails", "part", "rechain",
           "rechain_manifest", "rel",
           "why_another_user_cannot_run_this_checkout", "world_for_another_user"]
