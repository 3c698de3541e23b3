"""On S3 every LIST is paid for: each command lists its root once (issue 26). The stream
view commands are counted in test_stream_view.test_stream_view_on_s3."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from oracle_tui.core.demo import DemoWorld
from tests.conftest import S3Env, run_cli_here, s3_lists

pytestmark = pytest.mark.s3
OUT = "s2_event_stream_baseline_6B"


def _cli(*args: str) -> Callable[[], None]:
    def run() -> None:
        res = run_cli_here(*args)
        assert res.code == 0, res.err

    return run


def test_check_seal_and_locate_list_the_root_once(s3env: S3Env, s3_world: DemoWorld) -> None:
    root = s3_world.root
    assert s3_lists(s3env, _cli("check", root, "--json", "--quick")) == (1, 1)
    assert s3_lists(s3env, _cli("check", root, "--json")) == (1, 1)
    # --yes: no pause for an answer, so the plan and the seal share one listing.
    assert s3_lists(s3env, _cli("seal", root, "--scenario-id", "baseline_v1",
                                "--engine-release", "demo-1.0", "--yes", "--json")) == (1, 1)
    assert s3_lists(s3env, _cli("locate", root, "--output-id", OUT)) == (1, 1)
