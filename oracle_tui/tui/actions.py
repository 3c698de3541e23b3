"""The inspector's actions, described once: key, footer label, palette entry, help line, and
whether the action writes. Bindings, the command palette, the help screen and read-only
gating are all generated from this table, so they cannot disagree."""

from __future__ import annotations

from dataclasses import dataclass

from textual.app import ComposeResult
from textual.binding import Binding
from textual.widgets import Footer
from textual.widgets._footer import FooterKey


@dataclass(frozen=True)
class Action:
    name: str  # the app's action_<name>
    key: str
    label: str  # the footer's word
    help: str  # one line in the help screen and the palette
    palette: str | None = None  # the palette's title (None: not in the palette)
    writes: bool = False  # hidden and refused under --read-only
    show: bool = True  # shown in the footer
    narrow: bool = True  # kept in the footer below 100 columns (else: in the help, ?)


ACTIONS: tuple[Action, ...] = (
    Action("quit", "q", "Quit", "quit"),
    Action("help", "question_mark", "Help", "keys and panes", "Help"),
    Action("recheck", "r", "Recheck", "re-check the pack: gates, outputs, seal state",
           "Re-check the pack"),
    Action("verify_digests", "d", "Digests", "re-hash every sealed file", "Verify digests"),
    Action("seal", "s", "Seal…", "seal… (asks, shows exactly what is written)",
           "Seal the pack…", writes=True),
    Action("build_view", "b", "Build…", "build the stream view of the selected output…",
           "Build stream view…", writes=True),
    Action("verify_view", "c", "Verify", "verify the selected stream view",
           "Verify stream view"),
    Action("tombstone", "T", "Tombstone…", "tombstone… (type the pack id to confirm)",
           "Tombstone the pack…", writes=True),
    Action("filter", "slash", "Filter", "filter findings (enter jumps to a finding's pane)",
           "Filter findings", narrow=False),
    Action("copy", "y", "Copy", "copy the selected value (subject, path or digest)", "Copy",
           narrow=False),
    Action("export", "e", "Export", "export the report as JSON (~/oracle-tui-exports)",
           "Export report as JSON", narrow=False),
    Action("cancel", "escape", "Cancel job", "cancel the running job", show=False),
)
WRITE_ACTIONS = frozenset(a.name for a in ACTIONS if a.writes)
KEY_SHOWN = {"question_mark": "?", "slash": "/", "escape": "esc"}


def bindings() -> list[Binding]:
    return [Binding(a.key, a.name, a.label, show=a.show) for a in ACTIONS]


def palette(read_only: bool) -> list[Action]:
    return [a for a in ACTIONS if a.palette and not (read_only and a.writes)]


def help_keys() -> str:
    """The help screen's key lines (plain text)."""
    width = max(len(KEY_SHOWN.get(a.key, a.key)) for a in ACTIONS)
    lines = [f"  {KEY_SHOWN.get(a.key, a.key):<{width}}  {a.help}" for a in ACTIONS]
    lines.append(f"  {'1-7':<{width}}  switch panes (7: Diff, with --against)   ctrl+p  command "
                 "palette")
    return "\n".join(lines)


NARROW_HIDDEN = frozenset(a.name for a in ACTIONS if not a.narrow)


class KeyFooter(Footer):
    """The footer, its keys marked ``-optional`` where they give way below 100 columns
    (app.tcss hides them there; the help screen, ?, lists every key): an 80-column
    terminal shows whole keys, never one cut mid-word."""

    def compose(self) -> ComposeResult:
        for widget in super().compose():
            if isinstance(widget, FooterKey) and widget.action in NARROW_HIDDEN:
                widget.add_class("-optional")
            yield widget
