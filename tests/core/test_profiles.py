from __future__ import annotations

from pathlib import Path

import pytest

from oracle_tui.core.demo import DemoWorld
from oracle_tui.core.errors import OracleError
from oracle_tui.core.profiles import load_profile
from tests.conftest import CliRunner


def test_builtin_profiles_load_with_expected_policy() -> None:
    env: dict[str, str] = {}
    local = load_profile("local", env=env)
    assert local.strict_seal is False
    assert local.wiring("oracle_root") == "runs/local_full_run-5"
    assert local.wiring("stream_view_root") == ""
    assert local.wiring("object_store.region") == "us-east-1"
    for name in ("dev", "prod"):
        prof = load_profile(name, env=env)
        assert prof.strict_seal is True
        assert prof.policy.allow_raw_fallback is False


def test_placeholders_resolve_from_env_with_defaults() -> None:
    prof = load_profile("dev", env={"ORACLE_ROOT": "s3://bucket/worlds/w1/",
                                    "OBJECT_STORE_ENDPOINT": "http://127.0.0.1:9000"})
    assert prof.wiring("oracle_root") == "s3://bucket/worlds/w1/"
    assert prof.wiring("object_store.endpoint") == "http://127.0.0.1:9000"
    assert prof.wiring("object_store.region") == "eu-west-2"
    assert prof.path_style() is True


def test_unresolved_required_placeholder_names_the_variable() -> None:
    prof = load_profile("prod", env={})
    with pytest.raises(OracleError) as exc:
        prof.wiring("oracle_root")
    assert exc.value.code == "PLACEHOLDER_UNRESOLVED"
    assert "ORACLE_ROOT" in exc.value.message


def _write(tmp_path: Path, name: str, text: str) -> Path:
    (tmp_path / f"{name}.yaml").write_text(text)
    return tmp_path


@pytest.mark.parametrize("text", [
    "profile_id: x\nwiring:\n  object_store:\n    secret_access_key: abcdEFGH1234\n",
    "profile_id: x\nwiring:\n  aws_session_token: 'FwoGZXIvYXdzE'\n",
    "profile_id: x\npolicy: {}\nwiring:\n  oracle_root: s3://b/AKIAABCDEFGHIJKLMNOP/\n",
    "profile_id: x\nwiring:\n  db_password: hunter2\n",
])
def test_literal_credentials_are_refused_without_echoing_them(tmp_path: Path, text: str) -> None:
    with pytest.raises(OracleError) as exc:
        load_profile("x", _write(tmp_path, "x", text), env={})
    assert exc.value.code == "SECRET_IN_CONFIG"
    for secret in ("abcdEFGH1234", "FwoGZXIvYXdzE", "AKIAABCDEFGHIJKLMNOP", "hunter2"):
        assert secret not in str(exc.value)


def test_a_placeholder_under_a_secret_looking_key_is_fine(tmp_path: Path) -> None:
    prof = load_profile("x", _write(
        tmp_path, "x", "profile_id: x\nwiring:\n  oracle_root: ${TOKEN_FREE_ROOT:-r}\n"), env={})
    assert prof.wiring("oracle_root") == "r"


@pytest.mark.parametrize("text,needle", [
    ("profile_id: [unclosed\n", "not valid YAML"),
    ("- just\n- a list\n", "not a YAML mapping"),
    ("profile_id: x\npolicy:\n  strict_seal: maybe\n", "policy.strict_seal"),
    ("profile_id: x\nwiring:\n  unknown_key: 1\n", "wiring.unknown_key"),
])
def test_malformed_profiles_are_profile_invalid(tmp_path: Path, text: str, needle: str) -> None:
    with pytest.raises(OracleError) as exc:
        load_profile("x", _write(tmp_path, "x", text), env={})
    assert exc.value.code == "PROFILE_INVALID"
    assert needle in exc.value.message


def test_unknown_profile_and_missing_folder(tmp_path: Path) -> None:
    with pytest.raises(OracleError) as exc:
        load_profile("staging")
    assert exc.value.code == "PROFILE_INVALID"
    assert "known: dev, local, prod" in exc.value.message
    with pytest.raises(OracleError) as exc:
        load_profile("local", tmp_path / "absent")
    assert exc.value.code == "PROFILE_INVALID"


def test_cli_config_errors_exit_2_with_one_line(cli: CliRunner, world: DemoWorld, tmp_path: Path) -> None:
    bad = _write(tmp_path, "broken", "profile_id: [\n")
    cases = [
        ("check", world.root, "--profile", "broken", "--profiles-dir", str(bad)),
        ("check", world.root, "--profile", "nosuch"),
        ("check", world.root, "--profiles-dir", str(tmp_path / "missing")),
        ("check", "--profile", "prod"),  # no ROOT, and ORACLE_ROOT is unset
    ]
    for args in cases:
        res = cli(*args)
        assert res.code == 2, args
        assert res.err.count("\n") == 1 and res.err.startswith("oracle-tui: "), res.err
        assert "Traceback" not in res.err
    res = cli("check", "--profile", "prod")
    assert "PLACEHOLDER_UNRESOLVED" in res.err and "ORACLE_ROOT" in res.err
