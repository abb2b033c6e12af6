"""The Textual TUI (imported only by the tui and replay commands).

One module per screen or widget; :mod:`nimwatch.tui.app` only wires them and
:func:`nimwatch.tui.app.make_app` builds the app for the CLI and the tests
alike. The TUI only subscribes to the engine: it never reads a log to learn
state (the log view reads the file only to show its text).
"""

from __future__ import annotations
