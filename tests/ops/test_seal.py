"""Write-once sealing: schemas, idempotency, mismatch, crash and race safety, tombstones."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft202012Validator

from oracle_tui import __version__
from oracle_tui.core.check import run_check
from oracle_tui.core.demo import DemoWorld
from oracle_tui.core.interface_pack import load_interface_pack
from tests.conftest import REPO, forget_release, run_cli_here, run_cli_process
from tests.upstream import upstream_errors

SCHEMAS = REPO / "oracle_tui" / "schemas"
CONTROL = ("_oracle_content_index.json", "_oracle_pack_manifest.json",
           "_oracle_tui_seal_binding.json", "_SEALED.json")


def _validator(name: str) -> Draft202012Validator:
    return Draft202012Validator(json.loads((SCHEMAS / f"{name}.schema.json").read_text()))


def _state(root: str) -> dict[str, tuple[bytes, int]]:
    out = {}
    for name in (*CONTROL, "_TOMBSTONE.json"):
        p = Path(root) / name
        if p.exists():
            out[name] = (p.read_bytes(), p.stat().st_mtime_ns)
    return out


def _seal(root: str, release: str = "demo-1.0", *extra: str) -> Any:
    return run_cli_here("seal", root, "--scenario-id", "baseline_v1", "--engine-release",
                           release, "--yes", *extra)


def test_seal_writes_the_platforms_v1_documents_and_nothing_else(world: DemoWorld) -> None:
    res = _seal(world.root, "demo-1.0", "--json")
    assert res.code == 0, res.err
    result = json.loads(res.out)
    assert result["status"] == "SEALED"
    assert result["written"] == list(CONTROL)
    root = Path(world.root)
    manifest = json.loads((root / "_oracle_pack_manifest.json").read_text())
    seal = json.loads((root / "_SEALED.json").read_text())
    binding = json.loads((root / "_oracle_tui_seal_binding.json").read_text())
    index = json.loads((root / "_oracle_content_index.json").read_text())
    # Exactly the upstream v1 documents, judged by the platform's own schema files.
    assert upstream_errors("oracle_store_contracts/oracle_pack_manifest", manifest) == []
    assert upstream_errors("oracle_store_contracts/oracle_pack_seal", seal) == []
    assert sorted(manifest) == ["catalogue_digest", "created_at_utc", "engine_release",
                                "gate_map_digest", "oracle_pack_id", "version", "world_key"]
    assert sorted(seal) == ["oracle_pack_id", "seal_status", "sealed_at_utc", "version"]
    assert list(_validator("seal_binding").iter_errors(binding)) == []
    assert list(_validator("content_index").iter_errors(index)) == []
    pack = load_interface_pack()
    wk = world.world_key
    expected_id = hashlib.sha256(
        f"{wk.manifest_fingerprint}|{wk.parameter_hash}|baseline_v1|{wk.seed}|demo-1.0|"
        f"{pack.catalogue_digest}|{pack.gate_map_digest}".encode()).hexdigest()
    assert manifest["oracle_pack_id"] == seal["oracle_pack_id"] == expected_id
    assert binding["oracle_pack_id"] == expected_id
    assert manifest["world_key"] == wk.model_dump()
    raw_index = (root / "_oracle_content_index.json").read_bytes()
    assert binding["content_index"] == {"path": "_oracle_content_index.json",
                                        "sha256": hashlib.sha256(raw_index).hexdigest(),
                                        "file_count": 37, "total_bytes": index["total_bytes"]}
    assert binding["manifest_sha256"] == hashlib.sha256(
        (root / "_oracle_pack_manifest.json").read_bytes()).hexdigest()
    assert binding["run_id"] == json.loads((root / "run_receipt.json").read_text())["run_id"]
    assert binding["tool"] == {"name": "oracle-tui", "version": __version__}
    assert sorted(binding["gates"]) == sorted(pack.gates)
    files = {e["path"]: e for e in index["files"]}
    assert len(files) == 37 and index["file_count"] == 37
    assert [e["path"] for e in index["files"]] == sorted(files)
    assert files["run_receipt.json"]["sha256"] == hashlib.sha256(
        (root / "run_receipt.json").read_bytes()).hexdigest()
    assert not any(p.startswith("_") for p in files)
    report = run_check(world.root, strict_seal=True, verify_digests=True)
    assert (report.verdict, report.actionable()) == ("PASS", [])
    assert report.seal.binding == binding


def test_reseal_same_inputs_is_a_noop(sealed_world: DemoWorld) -> None:
    before = _state(sealed_world.root)
    res = _seal(sealed_world.root, "demo-1.0", "--json")
    assert res.code == 0, res.err
    assert json.loads(res.out)["status"] == "ALREADY_SEALED"
    assert json.loads(res.out)["written"] == []
    assert _state(sealed_world.root) == before


def test_reseal_different_inputs_is_refused_and_changes_nothing(sealed_world: DemoWorld) -> None:
    before = _state(sealed_world.root)
    res = _seal(sealed_world.root, "demo-2.0")
    # The run receipt records demo-1.0: refused before anything is compared or written.
    assert res.code == 2
    assert res.err == ("oracle-tui: SEAL_INPUT_MISMATCH: --engine-release 'demo-2.0' disagrees "
                       "with the run receipt's engine_release 'demo-1.0'; nothing was "
                       "written\n")
    assert _state(sealed_world.root) == before



def test_a_manifest_mismatch_names_each_differing_field(world: DemoWorld) -> None:
    # Where the receipt records no release, the present manifest names each differing field.
    forget_release(world.root)
    assert _seal(world.root, "demo-1.0").code == 0
    before = _state(world.root)
    res = _seal(world.root, "demo-2.0")
    assert res.code == 1
    last = res.err.strip().splitlines()[-1]
    assert last.startswith("oracle-tui: MANIFEST_MISMATCH: _oracle_pack_manifest.json exists "
                           "and differs from what these inputs produce in engine_release: "
                           'present "demo-1.0", these inputs "demo-2.0"; oracle_pack_id: ')
    assert _state(world.root) == before


def test_foreign_seal_is_seal_mismatch(world: DemoWorld) -> None:
    assert _seal(world.root).code == 0
    seal = Path(world.root) / "_SEALED.json"
    doc = json.loads(seal.read_text())
    doc["oracle_pack_id"] = "e" * 64
    seal.write_text(json.dumps(doc))
    before = _state(world.root)
    res = _seal(world.root)
    assert res.code == 1 and "SEAL_MISMATCH" in res.err
    assert _state(world.root) == before


def test_seal_refuses_when_gates_do_not_pass(world: DemoWorld) -> None:
    flag = next(Path(world.root).glob("data/layer3/6B/validation/*/_passed.flag"))
    flag.write_text("sha256_hex = " + "0" * 64 + "\n")
    res = _seal(world.root)
    assert res.code == 1
    assert "oracle-tui: GATE_EVIDENCE_MISMATCH: seal refused" in res.err
    assert _state(world.root) == {}


def test_seal_without_yes_on_a_pipe_refuses_with_exit_2(world: DemoWorld) -> None:
    res = run_cli_process("seal", world.root, "--scenario-id", "baseline_v1",
                          "--engine-release", "demo-1.0")
    assert res.code == 2
    assert "pass --yes" in res.err
    assert "will write" in res.err and "_SEALED.json" in res.err
    assert _state(world.root) == {}


def test_seal_missing_root(tmp_path: Path) -> None:
    res = _seal(str(tmp_path / "absent"))
    assert res.code == 1 and "PACK_NOT_FOUND" in res.err


CRASH = r"""
import os, signal, sys
from oracle_tui.core.storage import local
from oracle_tui.core import hashing
point, n = sys.argv[1], int(sys.argv[2])
count = {"n": 0}
def die():
    os.kill(os.getpid(), signal.SIGKILL)
if point == "link":
    real_link = os.link
    def link(src, dst, *a, **k):
        count["n"] += 1
        if count["n"] == n:
            die()
        return real_link(src, dst, *a, **k)
    os.link = link
elif point == "after_put":
    real_put = local.LocalStore.put_if_absent
    def put(self, key, data):
        r = real_put(self, key, data)
        count["n"] += 1
        if count["n"] == n:
            die()
        return r
    local.LocalStore.put_if_absent = put
elif point == "hashing":
    real_hash = hashing.hash_object
    def hash_object(store, key, cancel=None):
        count["n"] += 1
        if count["n"] == n:
            die()
        return real_hash(store, key, cancel)
    hashing.hash_object = hash_object
from oracle_tui.cli import main
sys.exit(main(["seal", sys.argv[3], "--scenario-id", "baseline_v1", "--engine-release", "demo-1.0",
               "--yes"]))
"""


@pytest.mark.parametrize("point,n,left", [
    ("hashing", 10, []),                                        # mid content index
    ("link", 1, []),                                            # temp written, index not linked
    ("after_put", 1, ["_oracle_content_index.json"]),           # index written
    ("link", 2, ["_oracle_content_index.json"]),                # manifest temp, not linked
    ("after_put", 2, ["_oracle_content_index.json", "_oracle_pack_manifest.json"]),
    ("link", 3, ["_oracle_content_index.json", "_oracle_pack_manifest.json"]),
    ("after_put", 3, ["_oracle_content_index.json", "_oracle_pack_manifest.json",
                      "_oracle_tui_seal_binding.json"]),
])
def test_killed_sealer_leaves_a_state_a_rerun_completes(world: DemoWorld, point: str, n: int,
                                                         left: list[str]) -> None:
    proc = subprocess.run([sys.executable, "-c", CRASH, point, str(n), world.root],
                          capture_output=True, text=True, timeout=120, stdin=subprocess.DEVNULL)
    assert proc.returncode == -9, proc.stderr
    assert sorted(_state(world.root)) == sorted(left)
    mid = run_check(world.root, strict_seal=True)
    assert mid.verdict == "FAIL"  # never PASS half-sealed
    assert "PACK_NOT_SEALED" in {f.code for f in mid.findings}
    res = run_cli_process("seal", world.root, "--scenario-id", "baseline_v1",
                          "--engine-release", "demo-1.0", "--yes", "--json")
    assert res.code == 0, res.err
    assert json.loads(res.out)["written"] == [c for c in CONTROL if c not in left]
    final = run_check(world.root, strict_seal=True, verify_digests=True)
    assert (final.verdict, final.actionable()) == ("PASS", [])
    assert not list(Path(world.root).rglob(".oracle-tui-tmp-*"))


def _race(root: str, releases: list[str]) -> list[subprocess.CompletedProcess[str]]:
    procs = [subprocess.Popen([sys.executable, "-m", "oracle_tui.cli", "seal", root,
                               "--scenario-id", "baseline_v1", "--engine-release", rel, "--yes",
                               "--json"], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              stdin=subprocess.DEVNULL, text=True) for rel in releases]
    out = []
    for p, rel in zip(procs, releases, strict=True):
        stdout, stderr = p.communicate(timeout=180)
        out.append(subprocess.CompletedProcess([rel], p.returncode, stdout, stderr))
    return out


def test_eight_racing_sealers_same_inputs(world: DemoWorld) -> None:
    results = _race(world.root, ["demo-1.0"] * 8)
    assert [r.returncode for r in results] == [0] * 8, [r.stderr for r in results]
    statuses = sorted(json.loads(r.stdout)["status"] for r in results)
    assert statuses.count("SEALED") == 1
    final = run_check(world.root, strict_seal=True, verify_digests=True)
    assert (final.verdict, final.actionable()) == ("PASS", [])


def test_eight_racing_sealers_different_inputs(world: DemoWorld) -> None:
    forget_release(world.root)
    results = _race(world.root, ["rA", "rB"] * 4)
    manifest = json.loads((Path(world.root) / "_oracle_pack_manifest.json").read_text())
    winner = manifest["engine_release"]
    for r in results:
        if r.args[0] == winner:
            assert r.returncode == 0, r.stderr
        else:
            assert r.returncode == 1
            assert "MANIFEST_MISMATCH" in r.stderr
    final = run_check(world.root, strict_seal=True, verify_digests=True)
    assert (final.verdict, final.actionable()) == ("PASS", [])
    assert sorted(p.name for p in Path(world.root).glob("_*.json")) == sorted(CONTROL)


def test_tombstone_is_create_if_absent_and_final(sealed_world: DemoWorld) -> None:
    root = sealed_world.root
    res = run_cli_here("tombstone", root, "--reason", "rng defect", "--authority", "ops",
                          "--replacement", "/packs/w2", "--yes", "--json")
    assert res.code == 0, res.err
    doc = json.loads((Path(root) / "_TOMBSTONE.json").read_text())
    assert list(_validator("tombstone").iter_errors(doc)) == []
    assert doc["reason"] == "rng defect" and doc["authority"] == "ops"
    assert doc["replacement_root"] == "/packs/w2"
    manifest = json.loads((Path(root) / "_oracle_pack_manifest.json").read_text())
    assert doc["oracle_pack_id"] == manifest["oracle_pack_id"]
    before = _state(root)
    again = run_cli_here("tombstone", root, "--reason", "rng defect", "--authority", "ops",
                            "--replacement", "/packs/w2", "--yes")
    assert again.code == 0 and "ALREADY_TOMBSTONED" in again.out
    assert "will write" not in again.err  # nothing is written: no preview says otherwise
    same = run_cli_process("tombstone", root, "--reason", "rng defect", "--authority", "ops",
                           "--replacement", "/packs/w2")  # no --yes, no terminal: no question
    assert (same.code, same.err) == (0, "") and same.out.startswith("ALREADY_TOMBSTONED ")
    other = run_cli_here("tombstone", root, "--reason", "changed my mind", "--authority",
                            "ops", "--yes")
    assert other.code == 1 and "PACK_TOMBSTONED" in other.err
    assert _state(root) == before
    reseal = _seal(root, "demo-1.0")
    assert reseal.code == 1 and "PACK_TOMBSTONED" in reseal.err
    assert _state(root) == before
    # Nothing to confirm where nothing would be written: the answer is the record's.
    no_yes = run_cli_process("tombstone", root, "--reason", "x", "--authority", "y")
    assert (no_yes.code, no_yes.err) == (1, "oracle-tui: PACK_TOMBSTONED: already tombstoned "
                                            "by ops: rng defect; the record is never changed\n")


def test_local_seal_warns_against_hand_edits(world: DemoWorld) -> None:
    res = _seal(world.root)
    assert res.code == 0
    assert "do not edit, add or remove files" in " ".join(res.err.split())


def test_resealing_under_another_scenario_names_the_world_key(sealed_world: DemoWorld) -> None:
    before = _state(sealed_world.root)
    res = run_cli_here("seal", sealed_world.root, "--scenario-id", "other_v2",
                          "--engine-release", "demo-1.0", "--yes")
    assert res.code == 1
    assert res.err.strip().splitlines()[-1] == (
        "oracle-tui: WORLD_KEY_MISMATCH: the pack is sealed for scenario_id=baseline_v1, not "
        "other_v2; nothing was changed")
    assert _state(sealed_world.root) == before


@pytest.mark.parametrize("holder", ["folder", "empty folder", "link", "dangling link", "fifo",
                                    "too large"])
def test_whatever_holds_the_tombstones_name_gets_an_answer_and_no_write(
        sealed_world: DemoWorld, tmp_path: Path, holder: str) -> None:
    """Something already at _TOMBSTONE.json: no preview, no question, nothing written (not
    even a temporary file), and the code check would give (PACK_TOMBSTONED), or PATH_UNSAFE
    for a folder, which can never become the record."""
    root = Path(sealed_world.root)
    name = root / "_TOMBSTONE.json"
    record = tmp_path / "record.json"
    record.write_text("{}")
    {"folder": lambda: (name.mkdir(), (name / "x").write_text("x")),
     "empty folder": name.mkdir,
     "link": lambda: name.symlink_to(record),
     "dangling link": lambda: name.symlink_to(tmp_path / "nowhere"),
     "fifo": lambda: os.mkfifo(name),
     "too large": lambda: name.write_bytes(b" " * (2 * 1024 * 1024))}[holder]()
    before = sorted(os.listdir(root)), os.stat(root).st_mtime_ns
    res = run_cli_process("tombstone", str(root), "--reason", "r", "--authority", "a")
    code = "PATH_UNSAFE" if "folder" in holder else "PACK_TOMBSTONED"
    assert (res.code, res.out) == (1, "")
    assert res.err.startswith(f"oracle-tui: {code}: ") and res.err.count("\n") == 1
    assert (sorted(os.listdir(root)), os.stat(root).st_mtime_ns) == before
