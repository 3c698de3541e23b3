"""A credential in the environment never shows up in anything the tool prints or writes."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest
from pydantic import BaseModel

from oracle_tui.core.demo import DemoWorld
from oracle_tui.core.redact import display_model, printable, redact, redact_model
from oracle_tui.tui.app import make_app
from tests.conftest import run_cli_here, run_cli_process

SECRET = "wJalrXUtnFEMI-K7MDENG-bPxRfiCY-THISISFAKE"
KEY_ID = "AKIAIOSFODNN7FAKEKEY"
TOKEN = "FwoGZXIvYXdzEFAKE-session-token-value"
ENV = {"AWS_SECRET_ACCESS_KEY": SECRET, "AWS_ACCESS_KEY_ID": KEY_ID, "AWS_SESSION_TOKEN": TOKEN}


def _clean(*texts: str) -> None:
    for text in texts:
        for secret in (SECRET, KEY_ID, TOKEN):
            assert secret not in text


def test_every_cli_command_and_error_path(world: DemoWorld, tmp_path: Path,
                                          monkeypatch: pytest.MonkeyPatch) -> None:
    bad_profiles = tmp_path / "profiles"
    bad_profiles.mkdir()
    (bad_profiles / "leaky.yaml").write_text(
        f"profile_id: leaky\nwiring:\n  object_store:\n    secret_access_key: {SECRET}\n")
    (bad_profiles / "keyid.yaml").write_text(
        f"profile_id: keyid\nwiring:\n  oracle_root: s3://b/{KEY_ID}/\n")
    env = {**ENV, "AWS_ENDPOINT_URL": "http://127.0.0.1:9"}
    runs = [
        ("check", world.root), ("check", world.root, "--json"),
        ("check", world.root, "--verify-digests", "--profile", "dev"),
        ("seal", world.root, "--scenario-id", "baseline_v1", "--engine-release", SECRET),
        ("seal", world.root, "--scenario-id", "baseline_v1", "--engine-release", "demo-1.0",
         "--yes", "--json"),
        ("check", world.root, "--strict-seal", "--verify-digests", "--json"),
        ("stream-view", "build", world.root, "--output-id", "s4_event_labels_6B", "--json"),
        ("stream-view", "verify", world.root, "--output-id", "s4_event_labels_6B"),
        ("locate", world.root, "--output-id", "arrival_events_5B"),
        ("check", world.root, "--profile", "leaky", "--profiles-dir", str(bad_profiles)),
        ("check", world.root, "--profile", "keyid", "--profiles-dir", str(bad_profiles)),
        ("check", "s3://no-such-bucket-oracle/x/", "--json"),
        ("check", str(tmp_path / "missing"), "--json"),
        ("tombstone", world.root, "--reason", f"leaked {SECRET}", "--authority", "ops"),
        ("explain", "SECRET_IN_CONFIG"), ("explain", SECRET),
    ]
    seen_codes = set()
    with monkeypatch.context() as m:
        for key, value in env.items():
            m.setenv(key, value)
        for args in runs:  # in this process: the same main(), its output captured
            res = run_cli_here(*args)
            _clean(res.out, res.err)
            assert "Traceback" not in res.err
            seen_codes.add(res.code)
    assert seen_codes >= {0, 1, 2}
    # And as real processes, where anything a library writes to the terminal is caught too:
    # a refused write that echoes its argument, and an S3 error path.
    for args in (runs[3], runs[11]):
        res = run_cli_process(*args, env=env)
        _clean(res.out, res.err)
        assert "Traceback" not in res.err and res.code in (1, 2, 3)


async def test_tui_screens_and_export_never_show_a_secret(world: DemoWorld, tmp_path: Path,
                                                          monkeypatch: Any) -> None:
    for k, v in ENV.items():
        monkeypatch.setenv(k, v)
    (Path(world.root) / "run_receipt.json").write_text(
        (Path(world.root) / "run_receipt.json").read_text().replace(
            '"engine": "oracle-tui demo generator"', f'"engine": "{SECRET}"'))
    app = make_app(world.root, export_dir=str(tmp_path))
    async with app.run_test(size=(130, 42)) as pilot:
        for _ in range(100):
            await pilot.app.workers.wait_for_complete()
            await pilot.pause()
            if app.job_label is None:
                break
        for key in "1234567":
            await pilot.press(key)
            _clean(app.export_screenshot())
        await pilot.press("e")
        for exported in tmp_path.glob("*.json"):
            _clean(exported.read_text())


class _Shown(BaseModel):
    text: str
    nested: dict[str, list[str]] = {}


# Strings the one-scan shortcut must send the slow way: each would change when shown.
TRICKY = [
    f"s3://bucket/{KEY_ID}/x", f"key={SECRET}", f"a {TOKEN}", "https://user:pw@host/x",
    "X-Amz-Signature=abc123", "part\x1b[2J", "tab\there", "nul\x00", "del\x7f", "c1\x85",
    "rtl\u202eexe", "zw\u200b", "blank\u3164", "lone\ud800",
    'pw pa"ss\\word here',  # a secret JSON writes escaped: not found verbatim in JSON text
]


@pytest.mark.parametrize("text", TRICKY)
@pytest.mark.parametrize("where", ["value", "key", "list"])
def test_the_one_scan_shortcut_never_skips_a_string_that_changes(
        text: str, where: str, monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in {**ENV, "MY_PASSWORD": 'pa"ss\\word'}.items():
        monkeypatch.setenv(name, value)
    model = (_Shown(text=text) if where == "value" else
             _Shown(text="x", nested={text: ["y"]}) if where == "key" else
             _Shown(text="x", nested={"k": ["y", text]}))
    strings = [model.text, *model.nested, *(v for vs in model.nested.values() for v in vs)]
    masked = [redact(s) for s in strings]
    shown = redact_model(model)
    assert [shown.text, *shown.nested, *(v for vs in shown.nested.values() for v in vs)] == masked
    escaped = display_model(model)
    assert [escaped.text, *escaped.nested, *(v for vs in escaped.nested.values()
                                             for v in vs)] == [printable(m) for m in masked]
    assert any(m != s for m, s in zip(masked, strings, strict=True)) \
        or any(printable(m) != m for m in masked)  # every case is one that changes


@pytest.mark.parametrize("text", [
    "part_AKIAIOSFODNN7EXAMPLE.parquet", "xAKIAIOSFODNN7EXAMPLE", "AKIAIOSFODNN7EXAMPLE_1",
    "policy.foo_ASIAIOSFODNN7EXAMPLE", "a-AKIAIOSFODNN7EXAMPLE.parquet",
    "/x_AKIAIOSFODNN7EXAMPLE", "9AKIAIOSFODNN7EXAMPLE", "run2AKIAIOSFODNN7EXAMPLE",
    "part-00001ASIAABCDEFGHIJKLMNOP.parquet", "AKIAIOSFODNN7EXAMPLE9"])
def test_a_key_id_touching_a_word_character_is_masked(text: str,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    """No environment secret to find it by: the key-id pattern alone masks it, whatever
    stands beside it."""
    from oracle_tui.core.redact import redact

    for name in list(os.environ):
        if name.startswith("AWS_"):
            monkeypatch.delenv(name)
    shown = redact(text)
    assert "IOSFODNN7EXAMPLE" not in shown and "ABCDEFGHIJKLMNOP" not in shown
    assert "***" in shown
