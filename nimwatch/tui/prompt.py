"""A one-line question at the bottom of the screen: search, filter, go to.

Owns :class:`PromptScreen`, a modal that returns the text typed (Enter) or
None (Escape), and :class:`ConfirmScreen` (yes or no). With ``on_change`` it also reports the text as it is typed (a
filter applies as you type; Escape reports the first value again). The cursor
does not blink in headless runs, so snapshots are stable.
"""

from __future__ import annotations

from typing import Callable, Optional

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal
from textual.screen import ModalScreen
from textual.widgets import Input, Label


class PromptScreen(ModalScreen[Optional[str]]):
    """Ask for one line of text."""

    BINDINGS = [Binding("escape", "cancel", "Cancel")]

    def __init__(self, label: str, value: str = "", on_change: Optional[Callable[[str], None]] = None) -> None:
        super().__init__()
        self.label = label
        self.value = value
        self.on_change = on_change

    def compose(self) -> ComposeResult:
        with Horizontal(id="prompt-row"):
            yield Label(self.label, id="prompt-label")
            yield Input(value=self.value, id="prompt-input", select_on_focus=False)

    def on_mount(self) -> None:
        field = self.query_one(Input)
        field.cursor_blink = not self.app.is_headless
        field.focus()

    def on_input_changed(self, event: Input.Changed) -> None:
        event.stop()
        if self.on_change is not None and self.is_mounted:
            self.on_change(event.value)

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self.dismiss(event.value)

    def action_cancel(self) -> None:
        if self.on_change is not None:
            self.on_change(self.value)
        self.dismiss(None)


class ConfirmScreen(ModalScreen[bool]):
    """Ask a yes/no question: ``y`` or Enter says yes; ``n`` or Escape says no."""

    BINDINGS = [
        Binding("y,enter", "answer(True)", "Yes"),
        Binding("n,escape", "answer(False)", "No"),
    ]

    def __init__(self, question: str) -> None:
        super().__init__()
        self.question = question

    def compose(self) -> ComposeResult:
        with Horizontal(id="prompt-row"):
            yield Label(Text(f"{self.question}  (y/n)"), id="prompt-label")

    def action_answer(self, yes: bool) -> None:
        self.dismiss(yes)
