"""Operations as data: each request renders itself as argv that the CLI parses back into the
same request, and refuses bad values when it is made (before any store is asked)."""

from __future__ import annotations

import argparse

import pytest
from pydantic import ValidationError

from oracle_tui.cli import build_parser
from oracle_tui.core.diff_ask import DiffAsk
from oracle_tui.core.engine import EngineOptions
from oracle_tui.core.errors import OracleError
from oracle_tui.core.requests import (
    Address,
    BuildRequest,
    CheckRequest,
    DiffRequest,
    SealRequest,
    TombstoneRequest,
    VerifyRequest,
    command_line,
)

AT = Address(root="s3://bucket/w 1/", profile="dev", profiles_dir="/etc/oracle profiles",
             interface_pack="/opt/pack", scenario_id="baseline_v1")


def _parsed(argv: list[str]) -> argparse.Namespace:
    return build_parser().parse_args(argv)


def _address_of(ns: argparse.Namespace, root: str) -> Address:
    return Address(root=root, profile=ns.profile, profiles_dir=ns.profiles_dir,
                   interface_pack=getattr(ns, "interface_pack", None),
                   scenario_id=getattr(ns, "scenario_id", None))


def test_check_renders_and_parses_back() -> None:
    request = CheckRequest(at=AT, quick=True, output_ids=("a_5B", "b_6B"), strict_seal=True,
                           threads=8)
    ns = _parsed(request.argv())
    again = CheckRequest(at=_address_of(ns, ns.root), quick=ns.quick,
                         output_ids=tuple(ns.output_id), strict_seal=ns.strict_seal,
                         threads=ns.threads)
    assert again == request
    assert command_line(request.argv()).startswith("oracle-tui check 's3://bucket/w 1/' "
                                                   "--quick --output-id a_5B")


def test_seal_and_tombstone_render_and_parse_back() -> None:
    seal = SealRequest(at=AT.model_copy(update={"scenario_id": None}), scenario_id="s1",
                       engine_release="1.4.2", threads=3)
    ns = _parsed(seal.argv())
    assert ns.yes and SealRequest(at=_address_of(ns, ns.root).model_copy(
        update={"scenario_id": None}), scenario_id=ns.scenario_id,
        engine_release=ns.engine_release, threads=ns.threads) == seal
    tomb = TombstoneRequest(at=AT.model_copy(update={"interface_pack": None,
                                                     "scenario_id": None}),
                            reason="rng defect", authority="ops", replacement="runs/w2")
    ns = _parsed(tomb.argv())
    assert ns.yes and TombstoneRequest(at=_address_of(ns, ns.root), reason=ns.reason,
                                       authority=ns.authority,
                                       replacement=ns.replacement) == tomb


def test_view_requests_render_and_parse_back() -> None:
    engine = EngineOptions(memory_limit="1GB", threads=4, temp_dir="/tmp/spill",
                           executor="tcp://10.0.0.5:8786", scratch="s3://b/scratch/")
    build = BuildRequest(at=AT, output_id="s3_event_stream_with_fraud_6B", engine=engine,
                         rows_per_part=1000)
    ns = _parsed(build.argv())
    assert BuildRequest(at=_address_of(ns, ns.root), output_id=ns.output_id,
                        engine=EngineOptions(memory_limit=ns.memory_limit, threads=ns.threads,
                                             temp_dir=ns.temp_dir, executor=ns.executor,
                                             scratch=ns.scratch),
                        rows_per_part=ns.rows_per_part) == build
    verify = VerifyRequest(at=AT, output_id="x_6B", deep=True,
                           engine=EngineOptions(memory_limit="512MB"))
    ns = _parsed(verify.argv())
    assert VerifyRequest(at=_address_of(ns, ns.root), output_id=ns.output_id, deep=ns.deep,
                         engine=EngineOptions(memory_limit=ns.memory_limit)) == verify


def test_diff_renders_and_parses_back() -> None:
    diff = DiffRequest(at=AT, against="runs/w2", profile_b="prod",
                       ask=DiffAsk(output_ids=["a_5B"], examples=3, quick=True),
                       engine=EngineOptions(memory_limit="1GB"))
    ns = _parsed(diff.argv())
    assert DiffRequest(at=_address_of(ns, ns.a), against=ns.b, profile_b=ns.profile_b,
                       ask=DiffAsk(output_ids=ns.output_id, examples=ns.rows, quick=ns.quick),
                       engine=EngineOptions(memory_limit=ns.memory_limit)) == diff
    assert diff.side_b() == AT.model_copy(update={"root": "runs/w2", "profile": "prod"})


@pytest.mark.parametrize("make", [
    lambda: CheckRequest(at=AT, threads=0),
    lambda: BuildRequest(at=AT, output_id="x", rows_per_part=0),
    lambda: DiffRequest(at=AT, against="b", ask=DiffAsk(examples=-1)),
    lambda: CheckRequest(at=AT, unknown=True),  # type: ignore[call-arg]
])
def test_bad_values_are_refused_when_a_request_is_made(make: object) -> None:
    with pytest.raises(ValidationError):
        make()  # type: ignore[operator]


@pytest.mark.parametrize("make,code", [
    (lambda: TombstoneRequest(at=AT, reason="rng\u202edefect", authority="ops"),
     "INPUT_INVALID"),
    (lambda: SealRequest(at=AT, scenario_id="s1", engine_release=""), "INPUT_INVALID"),
    (lambda: SealRequest(at=AT, scenario_id="../x", engine_release="1"),
     "SCENARIO_ID_MISSING"),
])
def test_a_write_request_checks_the_operators_text(make: object, code: str) -> None:
    with pytest.raises(OracleError) as caught:
        make()  # type: ignore[operator]
    assert caught.value.code == code
