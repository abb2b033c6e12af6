"""The bounds that keep the engine's memory flat on any input, hostile or not.

Owns the caps shared by the parser and the reducer. Past a cap nothing is
lost silently: what is dropped is counted (``finding_counts`` stay exact, a
report says how many runs or findings it does not list) and a run's verdict
never depends on a cap. Real nimadm logs stay far below every one of them.
"""

from __future__ import annotations

CONTEXT_LINES = 3
"""Lines before a finding kept as its context, and lines after it kept as ``context_after``."""
CONTEXT_CHARS = 300
"""Longest context line kept (characters)."""
MAX_TEXT = 1000
"""Longest finding text kept (characters)."""
MAX_CONTINUATION = 8
"""Indented lines after a message that are joined to it at most (AIX wraps long messages)."""
MAX_MENTIONS = 100
"""Mentions in text before a log's first run, kept until the run starts."""
MAX_SCRIPT_LINES = 200
"""Output lines of one customization script kept in the state."""
MAX_FINDINGS = 500
"""Findings kept per run. The parser still gives every later finding (counted, judged: one that fails
the run still fails it) but without context or the lines after it; the reducer keeps the counts only."""
MAX_RUNS = 1000
"""Runs of one log kept by the reducer: the first :data:`FIRST_RUNS_KEPT` and the latest others. A log of
thousands of short runs (hostile, or a loop gone wrong) keeps its memory flat; the runs left out are counted."""
FIRST_RUNS_KEPT = 20
"""Of :data:`MAX_RUNS`, the runs kept from the start of the log."""
