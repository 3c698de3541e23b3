"""One truth on every face (issue 34): a verdict claims exactly what was proven, and every
face (CLI text, JSON, the inspector, diff) says the same thing about the same pack."""

from __future__ import annotations

import asyncio
import hashlib
import json
import re
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

from oracle_tui.core.demo import DemoWorld
from oracle_tui.core.interface_pack import load_interface_pack
from tests.conftest import run_cli_here
from tests.independent import recompute


def _flip(path: Path) -> None:
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0x01
    path.write_bytes(bytes(data))


def _part(root: str, output: str = "arrival_events", n: int = 1) -> Path:
    return sorted(Path(root).glob(f"data/**/{output}/**/part-*.parquet"))[n]


def _json(*args: str) -> tuple[int, dict[str, object]]:
    res = run_cli_here(*args, "--json")
    return res.code, json.loads(res.out)


# -- diff re-hashes by default ---------------------------------------------------------------

def test_a_copy_with_one_flipped_byte_is_never_identical(sealed_world: DemoWorld,
                                                         tmp_path: Path) -> None:
    copy = tmp_path / "copy"
    shutil.copytree(sealed_world.root, copy)
    _flip(_part(str(copy)))
    code, doc = _json("diff", sealed_world.root, str(copy))
    assert code == 1 and doc["result"] == "UNREADABLE"
    assert doc["verified"].startswith("both sides' bytes re-hashed now")
    # --quick trusts the (intact) content indexes and its headline says so.
    res = run_cli_here("diff", sealed_world.root, str(copy), "--quick")
    assert res.code == 0
    assert res.out.splitlines()[0].startswith("identical by content index (bytes not "
                                              "re-hashed): ")


# -- what may be sealed ------------------------------------------------------------------------

def test_files_sealing_would_bind_unexamined_are_fail_before_sealing(world: DemoWorld) -> None:
    folder = _part(world.root).parent
    (folder / "notes.txt").write_text("an operator's note")
    (folder / ".part-00009.parquet.tmp").write_bytes(b"PAR1 truncated")
    code, doc = _json("check", world.root)
    unexpected = [(f["subject"], f["blocks"]) for f in doc["findings"]  # type: ignore[union-attr]
                  if f["code"] == "UNEXPECTED_FILE"]
    rel = folder.relative_to(world.root).as_posix()
    assert code == 1 and unexpected == [(f"{rel}/.part-00009.parquet.tmp", ["arrival_events_5B"]),
                                        (f"{rel}/notes.txt", ["arrival_events_5B"])]
    blocked = {o["output_id"] for o in doc["outputs"]  # type: ignore[union-attr]
               if o["status"] == "BLOCKED"}
    assert blocked == {"arrival_events_5B"}
    res = run_cli_here("seal", world.root, "--scenario-id", "baseline_v1", "--engine-release",
                       "demo-1.0", "--yes")
    assert res.code == 1 and "UNEXPECTED_FILE" in res.err
    assert f"{rel}/.part-00009.parquet.tmp" in res.err and f"{rel}/notes.txt" in res.err
    assert not (Path(world.root) / "_SEALED.json").exists()


# -- gate members --------------------------------------------------------------------------------

def test_an_edited_member_of_a_bundle_digest_gate_is_named(world: DemoWorld) -> None:
    member = next(Path(world.root).glob("data/layer1/1A/validation/*/validation_report.json"))
    member.write_text(member.read_text().replace("PASS", "PASX", 1) or "{}")
    code, doc = _json("check", world.root)
    gate = next(g for g in doc["gates"] if g["gate_id"] == "gate.layer1.1A.validation")  # type: ignore[union-attr]
    row = next(m for m in gate["members"] if m["path"] == "validation_report.json")
    index = json.loads((member.parent / "index.json").read_text())
    stated = next(m["sha256_hex"] for m in index if m["path"] == "validation_report.json")
    assert (row["ok"], row["expected_sha256"]) == (False, stated)
    assert row["actual_sha256"] == hashlib.sha256(member.read_bytes()).hexdigest()
    named = [f["detail"] for f in doc["findings"]  # type: ignore[union-attr]
             if f["code"] == "GATE_EVIDENCE_MISMATCH"]
    assert any(d.startswith("member validation_report.json hashes to ") for d in named)
    assert code == 1


def _reflag_1a(bundle: Path) -> None:
    """Recompute the 1A flag over the bundle as it now is (the forger's last step)."""
    digest = recompute(bundle, bundle, {"kind": "sha256_bundle_digest",
                                        "exclude_filenames": ["_passed.flag"]})
    (bundle / "_passed.flag").write_text(f"sha256_hex = {digest}\n")


@pytest.mark.parametrize("change", ["member gone", "file unlisted"])
def test_a_bundle_whose_files_and_index_differ_fails_even_with_a_recomputed_flag(
        world: DemoWorld, change: str) -> None:
    """The index is the bundle's input-set authority: the engine's consumers refuse a
    bundle whose files and index differ, so a forger's recomputed flag proves nothing."""
    bundle = next(Path(world.root).glob("data/layer1/1A/validation/*"))
    if change == "member gone":
        (bundle / "validation_report.json").unlink()
    else:
        (bundle / "notes.json").write_text("{}")
    _reflag_1a(bundle)
    code, doc = _json("check", world.root)
    gate = next(g for g in doc["gates"] if g["gate_id"] == "gate.layer1.1A.validation")  # type: ignore[union-attr]
    fails = {(f["code"], f["subject"]) for f in doc["findings"]  # type: ignore[union-attr]
             if f["severity"] == "FAIL" and f["code"] != "REQUIRED_GATE_NOT_PASS"}
    rel = bundle.relative_to(world.root).as_posix()
    if change == "member gone":
        expected = ("OBJECT_MISSING", f"{rel}/validation_report.json")
        row = next(m for m in gate["members"] if m["path"] == "validation_report.json")
        assert (row["ok"], row["actual_sha256"]) == (False, None)
    else:
        expected = ("GATE_EVIDENCE_MISMATCH", "gate.layer1.1A.validation")
        row = next(m for m in gate["members"] if m["path"] == "notes.json")
        assert row["ok"] is False
    assert code == 1 and gate["status"] == "FAIL" and fails == {expected}
    blocked = {o["output_id"] for o in doc["outputs"]  # type: ignore[union-attr]
               if o["status"] == "BLOCKED"}
    assert blocked == {"arrival_events_5B", "s2_event_stream_baseline_6B",
                       "s3_event_stream_with_fraud_6B", "s4_event_labels_6B"}


# -- one blocking answer ---------------------------------------------------------------------------

Damage = Callable[[str], None]


def _delete(root: str) -> None:
    _part(root).unlink()


def _truncate(root: str) -> None:
    p = _part(root, "s4_event_labels_6B")
    p.write_bytes(p.read_bytes()[:100])


def _stray(root: str) -> None:
    (_part(root).parent / "stray.txt").write_text("x")


def _edited_flag(root: str) -> None:
    flag = next(Path(root).glob("data/layer3/6B/validation/*/_passed.flag"))
    flag.write_text("sha256_hex = " + "0" * 64 + "\n")


def _edited_member(root: str) -> None:
    member = next(Path(root).glob("data/layer1/1A/validation/*/validation_report.json"))
    member.write_text(member.read_text() + " ")


def _missing_gate(root: str) -> None:
    shutil.rmtree(next(Path(root).glob("data/layer2/5B/validation/*")))


DAMAGES: dict[str, Damage] = {
    "flip": lambda root: _flip(_part(root)), "delete": _delete, "truncate": _truncate,
    "stray": _stray, "edited flag": _edited_flag, "edited member": _edited_member,
    "missing gate": _missing_gate}


def _why_blocks(text: str) -> dict[str, set[str]]:
    """Each FAIL code of the piped report and the outputs its findings' lines say they
    block (``FAIL CODE subject: detail [blocks a, b]``, one finding per line)."""
    out: dict[str, set[str]] = {}
    for line in text.splitlines():
        m = re.match(r"^FAIL ([A-Z][A-Z_]+) .*?(?: \[blocks ([^\]]+)\])?$", line)
        if m:
            named = {o.strip() for o in m.group(2).split(",")} if m.group(2) else set()
            out.setdefault(m.group(1), set()).update(named)
    return out


@pytest.mark.parametrize("sealed", [False, True])
@pytest.mark.parametrize("damage", sorted(DAMAGES))
def test_every_face_names_the_same_blocked_outputs(damage: str, sealed: bool, world: DemoWorld,
                                                   sealed_world: DemoWorld) -> None:
    root = (sealed_world if sealed else world).root
    DAMAGES[damage](root)
    code, doc = _json("check", root)
    assert code == 1
    outputs = sorted(str(o["output_id"]) for o in doc["outputs"])  # type: ignore[union-attr]
    fails = [f for f in doc["findings"] if f["severity"] == "FAIL"]  # type: ignore[union-attr]
    by_code: dict[str, set[str]] = {}
    for f in fails:
        named = set(outputs) if f["blocks_every_output"] else set(f["blocks"])
        by_code.setdefault(f["code"], set()).update(named)
    # The JSON's outputs: BLOCKED exactly where some finding blocks them.
    blocked = {o["output_id"] for o in doc["outputs"]  # type: ignore[union-attr]
               if o["status"] == "BLOCKED"}
    assert blocked == set().union(*by_code.values()), damage
    # The CLI's finding lines name, per code, what its findings block.
    text = run_cli_here("check", root, env={"COLUMNS": "400"}).out
    assert {c: b for c, b in _why_blocks(text).items() if b} == \
        {c: b for c, b in by_code.items() if b}, damage
    # The CLI's output lines: BLOCKED ones are the same outputs.
    rows = {line.split()[1] for line in text.splitlines()
            if line.startswith("output ") and line.split()[2] == "BLOCKED"}
    assert rows == blocked, damage
    if not sealed:  # the inspector's Findings pane, once a kind (its check is the same code)
        tui = asyncio.run(_inspector_blocks(root))
        assert tui == {c: b for c, b in by_code.items() if b}, damage


async def _inspector_blocks(root: str) -> dict[str, set[str]]:
    """Per code, the outputs the inspector's Findings pane says its findings block."""
    from oracle_tui.tui.app import make_app
    from oracle_tui.tui.panes import FindingsPane
    from oracle_tui.tui.pilot import wait_idle

    app = make_app(root, read_only=True)
    async with app.run_test(size=(160, 50)) as pilot:
        await wait_idle(pilot)
        pane = app.query_one(FindingsPane)
        out: dict[str, set[str]] = {}
        for f in pane.findings:
            if f.severity.value == "FAIL" and pane.blocks.get(id(f)):
                out.setdefault(f.code, set()).update(pane.blocks[id(f)])
        return out


# -- guidance by context ---------------------------------------------------------------------------

def test_guidance_follows_what_was_compared(world: DemoWorld, sealed_world: DemoWorld) -> None:
    _flip(_part(world.root))
    text = run_cli_here("check", world.root, env={"COLUMNS": "400"}).out
    assert "the pack is not sealed, so the comparison is with the engine's evidence" in text
    assert "changed after sealing" not in text
    assert "actual and engine's evidence differ from character" in text
    _truncate(sealed_world.root)
    text = run_cli_here("check", sealed_world.root, env={"COLUMNS": "400"}).out
    parquet = [line for line in text.splitlines() if line.startswith("PARQUET_INVALID ")]
    assert len(parquet) == 2  # what it means and what to do, and no digest comparison
    assert not any("differ from character" in line or "digest" in line.lower()
                   for line in parquet)


# -- upstream byte compatibility -------------------------------------------------------------------

def test_the_upstream_packers_fingerprint_equals_what_seal_wrote(world: DemoWorld) -> None:
    """Re-derive what the platform's packer (oracle_store/packer.py) compares when it finds
    a manifest and a seal in place (its _manifest_fingerprint and _seal_fingerprint fields)
    from the same inputs, its way; it must equal what `seal` wrote, or its re-run over our
    pack raises MANIFEST_MISMATCH / SEAL_MISMATCH."""
    assert run_cli_here("seal", world.root, "--scenario-id", "baseline_v1",
                        "--engine-release", "demo-1.0", "--yes").code == 0
    catalogue = load_interface_pack()
    receipt = json.loads((Path(world.root) / "run_receipt.json").read_text())
    world_key = {"manifest_fingerprint": receipt["manifest_fingerprint"],
                 "parameter_hash": receipt["parameter_hash"], "scenario_id": "baseline_v1",
                 "seed": int(receipt["seed"])}
    pack_id = hashlib.sha256(
        f"{world_key['manifest_fingerprint']}|{world_key['parameter_hash']}|"
        f"{world_key['scenario_id']}|{world_key['seed']}|demo-1.0|"
        f"{catalogue.catalogue_digest}|{catalogue.gate_map_digest}".encode()).hexdigest()
    theirs = {"version": "v0", "oracle_pack_id": pack_id, "world_key": world_key,
              "engine_release": "demo-1.0", "catalogue_digest": catalogue.catalogue_digest,
              "gate_map_digest": catalogue.gate_map_digest}
    manifest = json.loads((Path(world.root) / "_oracle_pack_manifest.json").read_text())

    def canonical(doc: dict[str, object]) -> str:
        return json.dumps(doc, sort_keys=True, ensure_ascii=True, separators=(",", ":"))

    assert canonical({k: manifest.get(k) for k in theirs}) == canonical(theirs)
    seal = json.loads((Path(world.root) / "_SEALED.json").read_text())
    assert {k: seal.get(k) for k in ("version", "oracle_pack_id", "seal_status")} == {
        "version": "v0", "oracle_pack_id": pack_id, "seal_status": "SEALED_OK"}


def test_a_pack_sealed_with_version_1_0_still_checks(sealed_world: DemoWorld) -> None:
    from tests.reliability.helpers import rechain_manifest

    rechain_manifest(sealed_world.root, lambda m: m.update(version="1.0"))
    code, doc = _json("check", sealed_world.root)
    assert (code, doc["verdict"]) == (0, "PASS")


# -- verified claims only what was done; environment ----------------------------------------------

@pytest.mark.parametrize("where", ["absent", "a file"])
def test_nothing_read_is_not_checked(tmp_path: Path, where: str) -> None:
    root = tmp_path / "root"
    if where == "a file":
        root.write_text("x")
    res = run_cli_here("check", str(root))
    first = res.out.splitlines()[0].split()
    assert first[:2] == ["NOT", "CHECKED"] and res.code in (1, 2)
    code, doc = _json("check", str(root))
    assert code == res.code
    assert doc["judged"] is False and doc["verified"].startswith("nothing: ")


def test_a_missing_aws_profile_is_a_configuration_error(world: DemoWorld) -> None:
    res = run_cli_here("check", "s3://bucket/w1/", env={"AWS_PROFILE": "no-such-profile-here"})
    assert res.code == 2
    assert "CREDENTIALS_MISSING" in res.out and "'no-such-profile-here'" in res.out


def test_inspect_without_a_terminal_says_it_needs_one(world: DemoWorld) -> None:
    import subprocess
    import sys

    res = subprocess.run([sys.executable, "-m", "oracle_tui.entry", "inspect", world.root],
                         stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=120)
    assert res.returncode == 2 and res.stdout == ""
    assert res.stderr.startswith("oracle-tui: INPUT_INVALID: inspect needs a terminal")


def test_a_reader_that_closes_the_pipe_is_never_a_fail(world: DemoWorld) -> None:
    import subprocess
    import sys

    proc = subprocess.Popen([sys.executable, "-m", "oracle_tui.entry", "check", world.root],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert proc.stdout is not None and proc.stderr is not None
    first = proc.stdout.readline()  # as `| head -1` does, then goes away
    proc.stdout.close()
    err = proc.stderr.read()
    assert proc.wait(timeout=120) in (0, 141)  # 141 when the report was cut, never 1
    assert first.split()[0] == "WARN" and err == ""


def test_tombstone_shows_what_it_would_write_before_it_asks(world: DemoWorld) -> None:
    import subprocess
    import sys

    res = subprocess.run([sys.executable, "-m", "oracle_tui.entry", "tombstone", world.root,
                          "--reason", "rng defect", "--authority", "ops-oncall"],
                         stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=120)
    assert res.returncode == 2
    assert res.stderr.splitlines()[:4] == [
        f"will write _TOMBSTONE.json (create-if-absent, for good) at {world.root}:",
        "  reason       rng defect", "  authority    ops-oncall", "  replacement  (none)"]
    assert not (Path(world.root) / "_TOMBSTONE.json").exists()


def test_a_temporary_folder_anywhere_is_never_sealed(world: DemoWorld) -> None:
    part = _part(world.root, "s3_event_stream_with_fraud_6B")
    sibling = part.parent.parent / f"{part.parent.name}.tmp"
    sibling.mkdir()
    shutil.copy(part, sibling / "part-00000.parquet")
    res = run_cli_here("seal", world.root, "--scenario-id", "baseline_v1", "--engine-release",
                       "demo-1.0", "--yes")
    assert res.code == 1 and "UNEXPECTED_FILE" in res.err
    assert not (Path(world.root) / "_SEALED.json").exists()


def test_a_bundle_index_that_states_members_ambiguously_fails_its_gate(world: DemoWorld) -> None:
    index = next(Path(world.root).glob("data/layer1/1A/validation/*/index.json"))
    members = json.loads(index.read_text())
    index.write_text(json.dumps([*members, members[0]]))  # one entry twice
    code, doc = _json("check", world.root)
    gate = next(g for g in doc["gates"] if g["gate_id"] == "gate.layer1.1A.validation")  # type: ignore[union-attr]
    assert code == 1 and gate["status"] == "FAIL"
    assert any("listed twice" in f["detail"] for f in doc["findings"]  # type: ignore[union-attr]
               if f["code"] == "GATE_EVIDENCE_MISMATCH")


def test_operator_values_at_the_edges_are_usage_errors(world: DemoWorld) -> None:
    for args in (["seal", world.root, "--scenario-id", "baseline_v1\u00ad", "--engine-release",
                  "demo-1.0", "--yes"],
                 ["stream-view", "build", world.root, "--output-id", "arrival_events_5B",
                  "--memory-limit", "0GB"]):
        res = run_cli_here(*args)
        assert res.code == 2 and res.err.startswith("oracle-tui: INPUT_INVALID: usage error: ")
    for blank in ("\u3164", "\u2800", "rng\u034fdefect", "\uffa0", "x\ufe0f"):
        res = run_cli_here("tombstone", world.root, "--reason", blank, "--authority", "ops",
                           "--yes")
        assert res.code == 2 and "INPUT_INVALID" in res.err, blank
    assert not list(Path(world.root).glob("_*.json"))


def test_diff_compares_rows_from_the_bytes_it_proved(world: DemoWorld, tmp_path: Path,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    import pyarrow.compute as pc
    import pyarrow.parquet as pq

    from oracle_tui.core import diff as diff_mod
    from oracle_tui.core.diff import diff_packs
    from oracle_tui.core.diff_ask import DiffAsk
    from oracle_tui.core.errors import OracleError
    from tests.engine import reissue_evidence

    other = tmp_path / "other"
    shutil.copytree(world.root, other)
    part = _part(str(other))
    table = pq.read_table(part)
    column = table.schema.names.index("arrival_seq")
    table = table.set_column(column, "arrival_seq", pc.add(table.column(column), 1))
    pq.write_table(table, part)
    reissue_evidence(world.model_copy(update={"root": str(other)}))
    real = diff_mod.copies_folder

    def then_swap(temp_dir: str | None) -> Path:
        _flip(part)  # after the checks hashed it, before the rows are read
        return real(temp_dir)

    monkeypatch.setattr(diff_mod, "copies_folder", then_swap)
    with pytest.raises(OracleError) as exc:
        diff_packs(world.root, str(other), DiffAsk(output_ids=["arrival_events_5B"]))
    assert exc.value.code == "DIGEST_MISMATCH"
    assert exc.value.subject == part.relative_to(other).as_posix()


def test_a_missing_part_of_an_unsealed_pack_is_not_explained_by_a_seal(
        world: DemoWorld) -> None:
    """Unsealed, a part the engine's evidence lists is gone: the guidance speaks of that
    evidence, never of a content index or of changes after sealing."""
    _part(world.root).unlink()
    lines = run_cli_here("check", world.root).out.splitlines()
    means = next(line for line in lines if line.startswith("OBJECT_MISSING means: "))
    do = next(line for line in lines if line.startswith("OBJECT_MISSING do: "))
    assert "engine's gate-verified evidence lists is absent" in means
    assert "content index" not in means.replace("not a content index", "")
    assert "after sealing" not in do and "do not seal it" in do


def test_the_commands_guidance_gives_keep_the_profile() -> None:
    """Checked under --profile dev, the `do` command names dev too; under local, no flag."""
    from oracle_tui.core.codes import Retry, Severity
    from oracle_tui.core.findings import Finding
    from oracle_tui.core.guidance import guidance

    finding = Finding(code="PACK_NOT_SEALED", severity=Severity.WARN, retry=Retry.ACTIONABLE,
                      subject="_SEALED.json", detail="no _SEALED.json")
    values = {"root": "s3://worlds/w1/", "scenario_id": "baseline_v1",
              "engine_release": "demo-1.0"}
    assert "`oracle-tui seal s3://worlds/w1/ --scenario-id baseline_v1 --engine-release " \
           "demo-1.0 --profile dev`" in guidance(finding, sealed=False,
                                                  values={**values, "profile": "dev"}).do
    assert "--profile" not in guidance(finding, sealed=False, values=values).do


# -- a view of an output that may not be read ------------------------------------------------

@pytest.mark.parametrize("block", ["tombstone", "flipped part"])
def test_a_view_of_a_blocked_output_is_blocked_on_every_face(sealed_world: DemoWorld,
                                                             block: str) -> None:
    """The view's documents are whole; its output may not be read. check's JSON, `stream-view
    verify` and the inspector's Stream views pane all say BLOCKED (check and the pane once
    said VALID of a tombstoned pack's view)."""
    out = "s3_event_stream_with_fraud_6B"
    assert run_cli_here("stream-view", "build", sealed_world.root, "--output-id", out).code == 0
    if block == "tombstone":
        assert run_cli_here("tombstone", sealed_world.root, "--reason", "superseded",
                            "--authority", "ops", "--yes").code == 0
    else:
        _flip(_part(sealed_world.root, "s3_event_stream_with_fraud_6B"))
    code, doc = _json("check", sealed_world.root)
    views = {v["output_id"]: v["state"] for v in doc["stream_views"]}  # type: ignore[union-attr]
    status = {o["output_id"]: o["status"] for o in doc["outputs"]}  # type: ignore[union-attr]
    assert (code, status[out], views[out]) == (1, "BLOCKED", "BLOCKED")
    verify = run_cli_here("stream-view", "verify", sealed_world.root, "--output-id", out)
    assert (verify.code, verify.out.split()[0]) == (1, "BLOCKED")
    assert asyncio.run(_pane_state(sealed_world.root, out)) == "BLOCKED"


async def _pane_state(root: str, output: str) -> str:
    from textual.widgets import DataTable

    from oracle_tui.tui.app import make_app
    from oracle_tui.tui.pilot import wait_idle

    app = make_app(root, read_only=True)
    async with app.run_test(size=(160, 50)) as pilot:
        await wait_idle(pilot)
        table = app.query_one("#views-table", DataTable)
        return str(table.get_row(output)[1])
