"""What the inspector's flows (tui/flows.py) may use of the running inspector: the session
(root, profile, interface pack, the last report and overview, the log of equivalent
commands) and three verbs (open the pack, run a job, ask the operator). Flows depend on this
protocol, not on the App, so the App imports the flows and nothing imports the App back."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol

from oracle_tui.core.interface_pack import InterfacePack
from oracle_tui.core.overview import PackOverview
from oracle_tui.core.pack import OpenedPack
from oracle_tui.core.profiles import Profile
from oracle_tui.core.report import CheckReport
from oracle_tui.core.requests import Address
from oracle_tui.tui.jobs import Job


class Session(Protocol):
    root: str
    profile: Profile
    report: CheckReport | None
    overview: PackOverview | None

    @property
    def interface_pack(self) -> InterfacePack:
        """The catalogue and gate map (read on first use)."""

    def open_pack(self) -> OpenedPack:
        """The inspected root, opened afresh for one job."""

    def run_job(self, job: Job) -> None:
        """Run ``job`` in the background (after the running one has ended)."""

    def address(self) -> Address:
        """Where this session runs: the root, profile, interface pack and scenario that
        every request (and so every logged command) names."""

    def scenario(self) -> str | None:
        """The scenario the session was started with, or the report's."""

    def push_screen(self, screen: Any, callback: Callable[[Any], None] | None = None
                    ) -> Any:
        """Ask the operator (a dialog), calling ``callback`` with the answer."""

    def notify(self, message: str, *, title: str = "", severity: Any = "information",
               timeout: float | None = None, markup: bool = True) -> None:
        """A toast."""
