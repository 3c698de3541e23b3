"""oracle-tui's Python face: the operations the CLI and the inspector run, for programs.

Each name is loaded on first use, so ``import oracle_tui.api`` costs nothing until a name
is touched (checking a pack never imports the sort engine). Each operation is a request
(``CheckRequest``, ``SealRequest``, ``BuildRequest``…) made from an :class:`Address`; its
``argv()`` is the CLI command that does the same, and ``run(pack)`` does it on the pack
``address.open()`` opened. The functions behind them are here too; each takes an
:class:`OpenedPack` (a plain root string is opened with the local profile). Errors are
:class:`OracleError` with a stable ``code``; a result's ``exit_code`` (and
:func:`exit_code` over findings) is the CLI's.

    from oracle_tui.api import Address, CheckRequest, open_stream_view
    at = Address(root="/data/world")          # profile "local" unless named
    pack = at.open()
    report = CheckRequest(at=at).run(pack)    # what `oracle-tui check /data/world` proves
    if report.exit_code == 0:
        for batch in open_stream_view(pack, "s3_event_stream_with_fraud_6B"):
            ...
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

# Each public name and the module that owns it.
_OWNERS = {
    "open_pack": "oracle_tui.core.pack",
    "OpenedPack": "oracle_tui.core.pack",
    "load_profile": "oracle_tui.core.profiles",
    "load_interface_pack": "oracle_tui.core.interface_pack",
    "run_check": "oracle_tui.core.check",
    "CheckReport": "oracle_tui.core.report",
    "plan_seal": "oracle_tui.core.seal",
    "seal_pack": "oracle_tui.core.seal",
    "tombstone_pack": "oracle_tui.core.tombstone",
    "build_stream_view": "oracle_tui.core.views.build",
    "verify_stream_view": "oracle_tui.core.views.verify",
    "open_stream_view": "oracle_tui.core.views.reader",
    "StreamReader": "oracle_tui.core.views.reader",
    "diff_packs": "oracle_tui.core.diff",
    "DiffAsk": "oracle_tui.core.diff_ask",
    "locate": "oracle_tui.core.locators",
    "generate_demo_world": "oracle_tui.core.demo",
    "EngineOptions": "oracle_tui.core.engine",
    "OracleError": "oracle_tui.core.errors",
    "exit_code": "oracle_tui.core.outcome",
    "Address": "oracle_tui.core.requests",
    "CheckRequest": "oracle_tui.core.requests",
    "SealRequest": "oracle_tui.core.requests",
    "TombstoneRequest": "oracle_tui.core.requests",
    "BuildRequest": "oracle_tui.core.requests",
    "VerifyRequest": "oracle_tui.core.requests",
    "DiffRequest": "oracle_tui.core.requests",
    "command_line": "oracle_tui.core.requests",
}

__all__ = [
    "Address",
    "BuildRequest",
    "CheckReport",
    "CheckRequest",
    "DiffAsk",
    "DiffRequest",
    "EngineOptions",
    "OpenedPack",
    "OracleError",
    "SealRequest",
    "StreamReader",
    "TombstoneRequest",
    "VerifyRequest",
    "build_stream_view",
    "command_line",
    "diff_packs",
    "exit_code",
    "generate_demo_world",
    "load_interface_pack",
    "load_profile",
    "locate",
    "open_pack",
    "open_stream_view",
    "plan_seal",
    "run_check",
    "seal_pack",
    "tombstone_pack",
    "verify_stream_view",
]

if TYPE_CHECKING:
    from oracle_tui.core.check import run_check
    from oracle_tui.core.demo import generate_demo_world
    from oracle_tui.core.diff import diff_packs
    from oracle_tui.core.diff_ask import DiffAsk
    from oracle_tui.core.engine import EngineOptions
    from oracle_tui.core.errors import OracleError
    from oracle_tui.core.interface_pack import load_interface_pack
    from oracle_tui.core.locators import locate
    from oracle_tui.core.outcome import exit_code
    from oracle_tui.core.pack import OpenedPack, open_pack
    from oracle_tui.core.profiles import load_profile
    from oracle_tui.core.report import CheckReport
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
    from oracle_tui.core.seal import plan_seal, seal_pack
    from oracle_tui.core.tombstone import tombstone_pack
    from oracle_tui.core.views.build import build_stream_view
    from oracle_tui.core.views.reader import StreamReader, open_stream_view
    from oracle_tui.core.views.verify import verify_stream_view


def __getattr__(name: str) -> Any:
    owner = _OWNERS.get(name)
    if owner is None:
        raise AttributeError(f"module 'oracle_tui.api' has no attribute {name!r}")
    value = getattr(importlib.import_module(owner), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return __all__
