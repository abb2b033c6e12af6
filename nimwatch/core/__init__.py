"""The pure nimadm engine: rules, line decoding, the parser and the run state.

Nothing in this package opens files, reads the clock, starts threads or imports
Textual: it takes bytes or lines and gives events and state. Sources (tail,
replay), sinks (alerts, hooks, metrics) and views (TUI, reports) adapt it.
"""

from __future__ import annotations
