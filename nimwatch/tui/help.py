"""The help screen: every key binding of every screen.

Owns :class:`HelpScreen`. The lists are made from the screens' own
``BINDINGS`` (handed over by the app), so the help cannot drift from the keys.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from rich.console import Group
from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Footer, Static

HelpSection = tuple[str, Sequence[BindingType]]
KEY_NAMES = {
    "slash": "/",
    "question_mark": "?",
    "right_square_bracket": "]",
    "left_square_bracket": "[",
    "full_stop": ".",
    "plus": "+",
    "minus": "-",
    "less_than_sign": "<",
    "greater_than_sign": ">",
    "space": "space",
    "escape": "esc",
}
"""How the help names a key (without ``key_display``) that Textual names in words."""


def key_rows(bindings: Iterable[BindingType]) -> list[tuple[str, str]]:
    """(keys, description) pairs, keys of one action joined ("up / k")."""
    rows: dict[str, tuple[list[str], str]] = {}
    for binding in Binding.make_bindings(bindings):
        keys, _ = rows.setdefault(binding.action, ([], binding.description or binding.action))
        keys.append(binding.key_display or KEY_NAMES.get(binding.key, binding.key))
    return [(" / ".join(keys), description) for keys, description in rows.values()]


class HelpScreen(ModalScreen[None]):
    """All the keys, by screen. The mouse works too: click a row, a tab, a key in the footer."""

    BINDINGS = [Binding("escape,q,question_mark", "close", "Close")]

    def __init__(self, sections: Sequence[HelpSection]) -> None:
        super().__init__(id="help")
        self.sections = sections

    def compose(self) -> ComposeResult:
        parts: list[object] = [
            Text("nimwatch keys", style="bold"),
            Text("The mouse works too: click a row to open it, a tab to switch, a key in the footer to press it."),
        ]
        for title, bindings in self.sections:
            table = Table(box=None, show_header=False, pad_edge=False, padding=(0, 2))
            table.add_column(style="bold", width=12, no_wrap=True)
            table.add_column()
            for keys, description in key_rows(bindings):
                table.add_row(keys, description)
            parts.extend([Text(""), Text(title, style="bold underline"), table])
        with VerticalScroll(id="help-body"):
            yield Static(Group(*parts), id="help-text")  # type: ignore[arg-type]
        yield Footer()

    def on_mount(self) -> None:
        self.query_one("#help-body").focus()

    def action_close(self) -> None:
        self.dismiss()
