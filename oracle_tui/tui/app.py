"""The inspector app (SPEC §9). Built through :func:`make_app`, shared by CLI and tests."""

from __future__ import annotations

from textual.app import App, ComposeResult
from textual.widgets import Footer, Header, Static

from oracle_tui.core.check import run_check
from oracle_tui.core.profiles import load_profile


class InspectorApp(App[None]):
    TITLE = "oracle-tui"
    BINDINGS = [("q", "quit", "Quit"), ("r", "recheck", "Re-check")]

    def __init__(self, root: str, *, profile: str = "local", profiles_dir: str | None = None,
                 interface_pack: str | None = None, scenario_id: str | None = None,
                 read_only: bool = False) -> None:
        super().__init__()
        self.root = root
        self.profile_name = profile
        self.profiles_dir = profiles_dir
        self.interface_pack = interface_pack
        self.scenario_id = scenario_id
        self.read_only = read_only

    def compose(self) -> ComposeResult:
        yield Header()
        yield Static("checking…", id="overview")
        yield Footer()

    def on_mount(self) -> None:
        self.action_recheck()

    def action_recheck(self) -> None:
        report = run_check(self.root, profile=load_profile(self.profile_name, self.profiles_dir),
                           scenario_id=self.scenario_id)
        lines = [f"{report.verdict}  {report.root}", f"lifecycle: {report.seal.lifecycle}"]
        lines += [f"{f.severity.value} {f.code} {f.subject}: {f.detail}" for f in report.findings]
        self.query_one("#overview", Static).update("\n".join(lines))


def make_app(root: str, *, profile: str = "local", profiles_dir: str | None = None,
             interface_pack: str | None = None, scenario_id: str | None = None,
             read_only: bool = False) -> InspectorApp:
    return InspectorApp(root, profile=profile, profiles_dir=profiles_dir,
                        interface_pack=interface_pack, scenario_id=scenario_id,
                        read_only=read_only)
