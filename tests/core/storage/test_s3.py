"""Every command on s3:// roots, against a real S3 HTTP endpoint on loopback."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from oracle_tui.core.check import run_check
from oracle_tui.core.demo import DemoWorld
from oracle_tui.core.errors import OracleError
from oracle_tui.core.pack import open_pack
from oracle_tui.core.storage.s3 import S3Store, parse_s3_uri
from tests.conftest import DUMMY_KEY_ID, DUMMY_SECRET, S3Env, run_cli_here, run_cli_process

pytestmark = pytest.mark.s3


def _profiles(tmp_path: Path, attempts: int = 2) -> Path:
    (tmp_path / "fast.yaml").write_text(
        "profile_id: fast\n"
        "policy: {strict_seal: false}\n"
        "wiring:\n"
        "  object_store:\n"
        "    endpoint: ${OBJECT_STORE_ENDPOINT:-}\n"
        "    region: us-east-1\n"
        f"    max_attempts: {attempts}\n"
        "    connect_timeout: 2\n"
        "    read_timeout: 5\n")
    return tmp_path


def _check(root: str, *args: str, env: dict[str, str] | None = None) -> tuple[int, dict[str, Any]]:
    res = run_cli_here("check", root, "--json", *args, env=env)
    assert "Traceback" not in res.err
    return res.code, json.loads(res.out)


def _actionable(doc: dict[str, Any]) -> list[dict[str, Any]]:
    """Findings that are not INFO (STREAM_VIEW_MISSING is INFO on the local profile)."""
    return [f for f in doc["findings"] if f["severity"] != "INFO"]


def _codes(doc: dict[str, Any]) -> list[tuple[str, str]]:
    return [(f["code"], f["subject"]) for f in _actionable(doc)]


def _key(world: Any, rel: str) -> tuple[str, str]:
    bucket, prefix = parse_s3_uri(world.root)
    return bucket, prefix + rel


def _part_rel(world: Any) -> str:
    store = S3Store.from_uri(world.root)
    return next(o.key for o in store.list("data/layer3/6B/s3_event_stream_with_fraud_6B/")
                if o.key.endswith("part-00001.parquet"))


def test_check_passes_on_an_uploaded_world(s3_world: DemoWorld) -> None:
    code, doc = _check(s3_world.root)
    assert code == 0
    assert _codes(doc) == [("PACK_NOT_SEALED", "_SEALED.json")]
    assert doc["root"] == s3_world.root
    assert [g["status"] for g in doc["gates"]] == ["PASS"] * 4
    assert {o["status"] for o in doc["outputs"]} == {"READABLE"}


def test_seal_then_strict_check_with_digests_and_tampering(s3env: S3Env, s3_world: DemoWorld) -> None:
    res = run_cli_here("seal", s3_world.root, "--scenario-id", "baseline_v1",
                       "--engine-release", "demo-1.0", "--yes", "--json")
    assert res.code == 0, res.err
    assert json.loads(res.out)["status"] == "SEALED"
    code, doc = _check(s3_world.root, "--strict-seal", "--verify-digests")
    assert (code, doc["verdict"], _actionable(doc)) == (0, "PASS", [])
    again = run_cli_here("seal", s3_world.root, "--scenario-id", "baseline_v1",
                         "--engine-release", "demo-1.0", "--yes", "--json")
    assert again.code == 0 and json.loads(again.out)["status"] == "ALREADY_SEALED"
    other = run_cli_here("seal", s3_world.root, "--scenario-id", "baseline_v1",
                         "--engine-release", "r2", "--yes")
    assert other.code == 2 and "SEAL_INPUT_MISMATCH" in other.err

    client: Any = s3env.client()
    rel = _part_rel(s3_world)
    bucket, key = _key(s3_world, rel)
    data = bytearray(client.get_object(Bucket=bucket, Key=key)["Body"].read())
    data[100] ^= 0xFF
    client.put_object(Bucket=bucket, Key=key, Body=bytes(data))
    code, doc = _check(s3_world.root, "--verify-digests")
    # Against the content index and against the engine's evidence for the part.
    assert code == 1 and _codes(doc) == [("DIGEST_MISMATCH", rel)] * 2
    client.put_object(Bucket=bucket, Key=_key(s3_world, "logs/extra.log")[1], Body=b"x")
    client.delete_object(Bucket=bucket, Key=key)
    code, doc = _check(s3_world.root, "--quick")
    assert code == 1
    assert _codes(doc) == [("OBJECT_MISSING", rel)] * 2 + [("UNEXPECTED_FILE", "logs/extra.log")]


def test_tampered_flag_on_s3(s3env: S3Env, s3_world: DemoWorld) -> None:
    client: Any = s3env.client()
    rel = (f"data/layer2/5B/validation/manifest_fingerprint="
           f"{s3_world.world_key.manifest_fingerprint}/_passed.flag")
    bucket, key = _key(s3_world, rel)
    client.put_object(Bucket=bucket, Key=key, Body=b'{"bundle_digest_sha256": "' + b"1" * 64
                      + b'"}')
    code, doc = _check(s3_world.root, "--output-id", "arrival_events_5B")
    assert code == 1
    assert ("GATE_EVIDENCE_MISMATCH", "gate.layer2.5B.validation") in _codes(doc)
    assert ("REQUIRED_GATE_NOT_PASS", "arrival_events_5B") in _codes(doc)


def test_missing_prefix_and_bucket_are_pack_not_found(s3_bucket: str, s3env: S3Env) -> None:
    for root in (f"s3://{s3_bucket}/nothing/here/", "s3://no-such-bucket-oracle/x/"):
        code, doc = _check(root, "--quick")
        assert code == 1 and [c for c, _ in _codes(doc)] == ["PACK_NOT_FOUND"], root


def test_bad_s3_uri_is_locator_invalid() -> None:
    for uri in ("s3://UPPER/x", "s3://b/../x", "s3://ok-bucket/a/../../b"):
        with pytest.raises(OracleError) as exc:
            parse_s3_uri(uri)
        assert exc.value.code in ("LOCATOR_INVALID", "PATH_UNSAFE")
    report = run_check("s3://UPPER/x")
    assert [f.code for f in report.findings] == ["LOCATOR_INVALID"]
    assert report.exit_code == 1


def test_racing_sealers_on_s3(s3_world: DemoWorld) -> None:
    procs = [subprocess.Popen([sys.executable, "-m", "oracle_tui.cli", "seal", s3_world.root,
                               "--scenario-id", "baseline_v1", "--engine-release", "demo-1.0",
                               "--yes", "--json"], stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, stdin=subprocess.DEVNULL, text=True)
             for _ in range(4)]
    results = [(*p.communicate(timeout=180), p.returncode) for p in procs]
    assert [r[2] for r in results] == [0] * 4, [r[1] for r in results]
    assert sorted(json.loads(r[0])["status"] for r in results).count("SEALED") == 1
    code, doc = _check(s3_world.root, "--strict-seal", "--verify-digests")
    assert (code, _actionable(doc)) == (0, [])


def test_endpoint_ignoring_if_none_match_refuses_to_seal(s3env: S3Env, s3_world: DemoWorld, tmp_path: Path) -> None:
    if s3env.ignoring_endpoint is None:
        pytest.skip("needs the loopback server's header-stripping endpoint")
    prof = _profiles(tmp_path)
    env = {"OBJECT_STORE_ENDPOINT": s3env.ignoring_endpoint}
    res = run_cli_here("seal", s3_world.root, "--scenario-id", "baseline_v1",
                       "--engine-release", "demo-1.0", "--yes", "--profile", "fast",
                       "--profiles-dir", str(prof), env=env)
    assert res.code == 1
    assert "oracle-tui: CONDITIONAL_WRITE_UNSUPPORTED:" in res.err
    store = S3Store.from_uri(s3_world.root)
    names = {o.key for o in store.list("")}
    assert not names & {"_SEALED.json", "_oracle_pack_manifest.json",
                        "_oracle_content_index.json"}
    # The probe objects are never mistaken for pack content.
    assert any(k.startswith("_oracle_write_probe/") for k in names)
    tomb = run_cli_here("tombstone", s3_world.root, "--reason", "r", "--authority", "a",
                        "--yes", "--profile", "fast", "--profiles-dir", str(prof), env=env)
    assert tomb.code == 1 and "CONDITIONAL_WRITE_UNSUPPORTED" in tomb.err


@pytest.mark.parametrize("status,code_,exit_", [
    (403, "ACCESS_DENIED", 1), (503, "STORAGE_THROTTLED", 3), (500, "STORAGE_TIMEOUT", 3)])
def test_storage_errors_map_to_codes_and_exit(s3env: S3Env, tmp_path: Path, status: int, code_: str,
                                              exit_: int) -> None:
    if not s3env.fault_endpoints:
        pytest.skip("needs the loopback server's fault endpoints")
    env = {"OBJECT_STORE_ENDPOINT": s3env.fault_endpoints[status]}
    prof = _profiles(tmp_path)
    code, doc = _check("s3://some-bucket/w/", "--profile", "fast", "--profiles-dir", str(prof),
                       env=env)
    assert code == exit_
    assert [c for c, _ in _codes(doc)] == [code_]
    assert doc["verdict"] == "FAIL"


def test_unreachable_endpoint_is_retryable(tmp_path: Path) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    # Dummy credentials: the point is the endpoint, whichever test ran before this one.
    env = {"OBJECT_STORE_ENDPOINT": f"http://127.0.0.1:{port}", "AWS_ACCESS_KEY_ID": "dummy",
           "AWS_SECRET_ACCESS_KEY": "dummy-secret", "AWS_DEFAULT_REGION": "us-east-1"}
    code, doc = _check("s3://some-bucket/w/", "--profile", "fast", "--profiles-dir",
                       str(_profiles(tmp_path)), env=env)
    assert code == 3
    assert [c for c, _ in _codes(doc)] == ["STORAGE_TIMEOUT"]
    assert doc["findings"][0]["retry"] == "retryable"


def test_request_budget_for_5000_objects(s3env: S3Env, s3_bucket: str) -> None:
    from oracle_tui.core.demo import generate_demo_world, upload_tree

    root = f"s3://{s3_bucket}/big/"
    store = S3Store.from_uri(root)
    local = generate_demo_world(Path(__import__("tempfile").mkdtemp()) / "w", events=200)
    upload_tree(Path(local.root), store)
    s3env.bulk_put(s3_bucket, {f"big/logs/many/{i:05d}.log": b"x"
                               for i in range(5_000 - local.files)})
    calls: dict[str, int] = {}

    def count(model: Any, **_: Any) -> None:
        calls[model.name] = calls.get(model.name, 0) + 1

    counted = S3Store.from_uri(root)
    counted.client.meta.events.register("before-call.s3", count)
    from oracle_tui.core import check as check_mod
    from oracle_tui.core.profiles import load_profile

    profile = load_profile("local")
    original = profile.open_store
    profile.open_store = lambda r: counted if r == root else original(r)  # type: ignore[method-assign]
    report = check_mod.run_check(open_pack(root, profile=profile))
    assert report.files_listed == 5_000
    assert report.verdict == "WARN"
    assert calls.get("ListObjectsV2") == 1 + 5  # root probe + ceil(5000 / 1000) pages
    assert calls.get("HeadObject", 0) <= 1  # run_receipt.json only, never one per object
    # GETs: the run receipt, 4 flags, 4 indexes and the bundle members, the 2 evidence
    # members read again, and one ranged GET per data part for its footer: never the data.
    assert calls.get("GetObject", 0) < 30 + 2 + 16


def test_demo_to_s3_and_no_overwrite(s3_bucket: str) -> None:
    root = f"s3://{s3_bucket}/demo/"
    res = run_cli_here("demo", "--out", root, "--events", "300")
    assert res.code == 0, res.err
    assert res.out.strip().splitlines()[-1] == root
    assert run_check(root).verdict == "WARN"
    again = run_cli_here("demo", "--out", root, "--events", "300")
    assert again.code == 2 and "TARGET_EXISTS" in again.err


def test_no_secret_in_any_output(s3env: S3Env, s3_world: DemoWorld, tmp_path: Path,
                                 monkeypatch: pytest.MonkeyPatch) -> None:
    env = {"AWS_ACCESS_KEY_ID": DUMMY_KEY_ID, "AWS_SECRET_ACCESS_KEY": DUMMY_SECRET,
           "AWS_SESSION_TOKEN": "session-token-dummy-77aa"}
    secrets = (DUMMY_SECRET, DUMMY_KEY_ID, "session-token-dummy-77aa")
    runs = [
        ("check", s3_world.root, "--json", "--quick"),
        ("check", s3_world.root, "--quick"),
        ("check", s3_world.root, "--verify-digests", "--profile", "dev"),
        ("seal", s3_world.root, "--scenario-id", "baseline_v1", "--engine-release", "demo-1.0"),
        ("seal", s3_world.root, "--scenario-id", "baseline_v1", "--engine-release", "demo-1.0",
         "--yes", "--json"),
        ("stream-view", "build", s3_world.root, "--output-id", "s2_event_stream_baseline_6B"),
        ("check", "s3://no-such-bucket-oracle/x/", "--json"),
        ("tombstone", s3_world.root, "--reason", DUMMY_SECRET, "--authority", "ops"),
        ("explain", "ACCESS_DENIED"),
    ]
    with monkeypatch.context() as m:
        for key, value in env.items():
            m.setenv(key, value)
        for args in runs:  # in this process: the same main(), its output captured
            res = run_cli_here(*args)
            for secret in secrets:
                assert secret not in res.out and secret not in res.err, (args, secret)
            if args[0] == "stream-view" or "--yes" in args:  # these succeed, and still say none
                assert res.code == 0, (args, res.err)
    # As real processes too (what a library prints to the terminal is caught): a command
    # that talks to the bucket, and one refused by the endpoint.
    res = run_cli_process("check", s3_world.root, "--json", "--quick", env=env)
    assert res.code in (0, 1) and not any(x in res.out + res.err for x in secrets)
    if s3env.fault_endpoints:
        res = run_cli_process("check", "s3://b/w/", "--profile", "fast", "--profiles-dir",
                              str(_profiles(tmp_path)),
                              env={**env, "OBJECT_STORE_ENDPOINT": s3env.fault_endpoints[403]})
        assert res.code == 1
        assert not any(x in res.out + res.err for x in secrets)


def test_more_failure_codes_on_s3(s3env: S3Env, s3_world: DemoWorld) -> None:
    client: Any = s3env.client()
    bucket, prefix = parse_s3_uri(s3_world.root)
    code, doc = _check(s3_world.root, "--strict-seal", "--quick")
    assert code == 1 and _codes(doc) == [("PACK_NOT_SEALED", "_SEALED.json")]
    assert run_cli_here("seal", s3_world.root, "--scenario-id", "baseline_v1",
                           "--engine-release", "demo-1.0", "--yes").code == 0
    code, doc = _check(s3_world.root, "--scenario-id", "other_v9", "--quick")
    assert code == 1 and "WORLD_KEY_MISMATCH" in {c for c, _ in _codes(doc)}
    seal = json.loads(client.get_object(Bucket=bucket, Key=prefix + "_SEALED.json")["Body"]
                      .read())
    seal["oracle_pack_id"] = "e" * 64
    # A tamperer with delete rights replaces the seal (the writer role cannot).
    client.delete_object(Bucket=bucket, Key=prefix + "_SEALED.json")
    client.put_object(Bucket=bucket, Key=prefix + "_SEALED.json", Body=json.dumps(seal))
    code, doc = _check(s3_world.root, "--quick")
    assert code == 1 and _codes(doc) == [("SEAL_MISMATCH", "_SEALED.json")]
    res = run_cli_here("tombstone", s3_world.root, "--reason", "bad", "--authority", "ops",
                          "--yes")
    assert res.code == 0, res.err
    code, doc = _check(s3_world.root, "--quick")
    assert code == 1 and ("PACK_TOMBSTONED", "_TOMBSTONE.json") in _codes(doc)
    client.delete_object(Bucket=bucket, Key=prefix + "run_receipt.json")
    code, doc = _check(s3_world.root, "--quick")
    assert ("RUN_RECEIPT_MISSING", "run_receipt.json") in _codes(doc)
