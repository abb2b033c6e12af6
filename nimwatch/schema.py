"""The version of nimwatch's JSON outputs: the ``schema`` key of every JSON object it prints or sends.

Owns :data:`SCHEMA_VERSION`. It is carried by the report (``nimwatch report
--format json``), every ``watch`` and ``replay --headless`` JSON line, the
JSON that alert sinks and hooks receive, and JSON diagnostics
(``--log-format json``). Keys may be added without a new version; the
version goes up when a key is renamed or removed or its meaning changes.
"""

from __future__ import annotations

SCHEMA_VERSION = 1
