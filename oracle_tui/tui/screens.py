"""Modal screens: confirmations (No focused), typed confirmation, errors, help."""

from __future__ import annotations

from typing import Any

from rich.text import Text
from textual import events
from textual._time import get_time  # the clock Textual stamps every event with
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Label, Static

from oracle_tui.core.codes import CODES
from oracle_tui.core.redact import printable, redact
from oracle_tui.tui.actions import help_keys


def shown(text: str) -> str:
    """Free text for a dialog: secrets masked, each line's unprintable characters escaped
    (the dialog's own line breaks kept)."""
    return "\n".join(printable(line) for line in redact(text).split("\n"))


class WriteDialog(ModalScreen[Any]):
    """A dialog whose answer writes. Keys typed or clicks made before it was on screen are
    never an answer to it (the app drops them, see ``typed_ahead``; its confirming button
    checks a click's stamp too): a write is confirmed only by someone who could have read
    what it writes."""

    def __init__(self) -> None:
        super().__init__()
        self.shown_at = float("inf")  # until mounted, every input is from before
        self.ignored = 0

    def on_mount(self) -> None:  # Textual calls each class's own handler, this one too
        self.shown_at = get_time()

    def typed_ahead(self, event: events.InputEvent) -> bool:
        """True (and counted, and said in the dialog) for input stamped before the dialog
        was mounted: it was meant for what came before."""
        if event.time >= self.shown_at:
            return False
        self.ignored += 1
        for note in self.query("#typed-ahead").results(Label):
            note.display = True
            note.update(f"{self.ignored} key{'s' if self.ignored > 1 else ''} or click"
                        f"{'s' if self.ignored > 1 else ''} from before this dialog appeared "
                        "ignored: choose now.")
        return True


class WriteButton(Button):
    """The button that writes: a click stamped before its dialog appeared does nothing."""

    async def _on_click(self, event: events.Click) -> None:
        # Textual then runs Button's own handler (it walks the classes), unless prevented.
        dialog = self.screen
        if isinstance(dialog, WriteDialog) and dialog.typed_ahead(event):
            event.prevent_default()
            event.stop()


class ConfirmScreen(WriteDialog):
    """Say exactly what will be written; "No" has the focus (see ``WriteDialog``)."""

    BINDINGS = [Binding("escape", "dismiss(False)", "No"), Binding("n", "dismiss(False)", "No")]

    def __init__(self, title: str, body: str, yes_label: str = "Yes, write") -> None:
        super().__init__()
        # Dialogs are a choke point: whatever a flow puts in them is shown masked.
        self.title_text, self.body = shown(title), shown(body)
        self.yes_label = yes_label

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Label(self.title_text, classes="dialog-title", markup=False)
            with VerticalScroll(classes="dialog-body"):
                yield Static(self.body, id="confirm-body", markup=False)
            yield Label("", id="typed-ahead", markup=False)
            with Horizontal(classes="dialog-buttons"):
                yield Button("No", id="no", variant="primary")
                yield WriteButton(self.yes_label, id="yes", variant="error")

    def on_mount(self) -> None:
        self.query_one("#no", Button).focus()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        self.dismiss(event.button.id == "yes")


class InputScreen(ModalScreen[str | None]):
    """Ask for one value (e.g. the engine release to seal with)."""

    BINDINGS = [Binding("escape", "dismiss(None)", "Cancel")]

    def __init__(self, title: str, prompt: str, value: str = "") -> None:
        super().__init__()
        self.title_text, self.prompt, self.value = shown(title), shown(prompt), value

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Label(self.title_text, classes="dialog-title", markup=False)
            yield Static(self.prompt, markup=False)
            yield Input(value=self.value, id="value")
            with Horizontal(classes="dialog-buttons"):
                yield Button("Cancel", id="cancel")
                yield Button("Continue", id="ok", variant="primary")

    def on_input_submitted(self, event: Input.Submitted) -> None:
        self.dismiss(event.value.strip() or None)

    def on_button_pressed(self, event: Button.Pressed) -> None:
        value = self.query_one("#value", Input).value.strip()
        self.dismiss(value or None if event.button.id == "ok" else None)


class TombstoneScreen(WriteDialog):
    """Reason, authority, and the pack id typed back before anything is written (see
    ``WriteDialog``: nothing typed before it appeared lands in its fields)."""

    BINDINGS = [Binding("escape", "dismiss(None)", "Cancel")]

    def __init__(self, root: str, confirm_token: str) -> None:
        super().__init__()
        self.root, self.token = root, confirm_token

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Label("Tombstone this pack — for good", classes="dialog-title")
            yield Static(f"Writes {shown(self.root.rstrip('/'))}/_TOMBSTONE.json once. Every "
                         "later check fails with PACK_TOMBSTONED. There is no undo.",
                         markup=False)
            yield Input(placeholder="reason", id="reason")
            yield Input(placeholder="authority (who decided)", id="authority")
            # The token is data (a folder may be named x[bold]y): shown as typed.
            yield Static(Text.assemble("Type ", (shown(self.token), "bold"), " to confirm:"))
            yield Input(placeholder=self.token, id="token")
            yield Label("", id="typed-ahead", markup=False)
            with Horizontal(classes="dialog-buttons"):
                yield Button("No", id="no", variant="primary")
                yield WriteButton("Tombstone", id="yes", variant="error")

    def on_mount(self) -> None:
        # The first keystrokes go into the first field; writing still needs the typed pack
        # id and the Tombstone button.
        self.query_one("#reason", Input).focus()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        if event.button.id != "yes":
            self.dismiss(None)
            return
        reason = self.query_one("#reason", Input).value.strip()
        authority = self.query_one("#authority", Input).value.strip()
        token = self.query_one("#token", Input).value.strip()
        if token != self.token or not reason or not authority:
            self.notify("reason, authority and the exact confirmation are all required",
                        severity="error")
            return
        self.dismiss((reason, authority))


class ErrorScreen(ModalScreen[None]):
    """A failure, its reason code and what to do; `c` copies it."""

    BINDINGS = [Binding("escape", "dismiss", "Close"), Binding("c", "copy", "Copy")]

    def __init__(self, code: str, message: str, cli: str = "") -> None:
        super().__init__()
        self.code, self.message, self.cli = code, shown(message), shown(cli)

    def compose(self) -> ComposeResult:
        info = CODES.get(self.code)
        body = Text()
        body.append(f"{self.code}\n", style="bold red")
        body.append(f"{self.message}\n\n")
        if info is not None:
            body.append("means  ", style="bold")
            body.append(f"{info.meaning}\n")
            body.append("do     ", style="bold")
            body.append(f"{info.action}\n")
            body.append(f"({info.retry.value})\n", style="dim")
        if self.cli:
            body.append(f"\n$ {self.cli}\n", style="dim")
        with Vertical(classes="dialog error-dialog"):
            yield Label("Something went wrong", classes="dialog-title")
            yield Static(body, id="error-body", markup=False)
            with Horizontal(classes="dialog-buttons"):
                yield Button("Copy", id="copy")
                yield Button("Close", id="close", variant="primary")

    def on_mount(self) -> None:
        self.query_one("#close", Button).focus()

    def action_copy(self) -> None:
        self.app.copy_to_clipboard(f"{self.code}: {self.message}")
        self.notify("copied")

    def on_button_pressed(self, event: Button.Pressed) -> None:
        if event.button.id == "copy":
            self.action_copy()
        else:
            self.dismiss()


HELP_HEAD = """\
[b]oracle-tui inspect[/b] — one pack, proven or refused.

[b]Panes[/b]   1 Overview · 2 Gates · 3 Outputs & digests · 4 Seal · 5 Stream views · 6 Findings
[b]Keys[/b]"""
HELP_TAIL = """\
Write actions are hidden with --read-only. After each action the equivalent CLI command
is shown on the Overview, so it can be scripted."""


class HelpScreen(ModalScreen[None]):
    BINDINGS = [Binding("escape", "dismiss", "Close"), Binding("question_mark", "dismiss",
                                                                "Close")]

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Label("Help", classes="dialog-title")
            # Scrolls in a small terminal: every key stays reachable at 80x24.
            with VerticalScroll(classes="dialog-body", id="help-body"):
                yield Static(HELP_HEAD)
                yield Static(help_keys(), markup=False)
                yield Static(HELP_TAIL)
            with Horizontal(classes="dialog-buttons"):
                yield Button("Close", id="close", variant="primary")

    def on_button_pressed(self, event: Button.Pressed) -> None:
        self.dismiss()


class InfoScreen(ModalScreen[None]):
    """Something to read, nothing to decide (e.g. the seal a sealed pack already has)."""

    BINDINGS = [Binding("escape", "dismiss", "Close")]

    def __init__(self, title: str, body: str) -> None:
        super().__init__()
        self.title_text, self.body = shown(title), shown(body)

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Label(self.title_text, classes="dialog-title", markup=False)
            with VerticalScroll(classes="dialog-body"):
                yield Static(self.body, id="info-body", markup=False)
            with Horizontal(classes="dialog-buttons"):
                yield Button("Close", id="close", variant="primary")

    def on_mount(self) -> None:
        self.query_one("#close", Button).focus()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        self.dismiss()
