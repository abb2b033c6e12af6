"""Talking to AIX and NIM from the NIM master: one command runner and the parsers of what the commands print.

Owns nothing stateful: :mod:`~nimwatch.aix.runner` runs an argv list (no
shell, ``LC_ALL=C``, a timeout each) locally or on a NIM client through NIM's
``c_rsh`` (capturing the remote exit status, which ``c_rsh`` does not return);
the ``parse_*`` modules turn command output into typed values; :mod:`levels`
compares AIX levels. ``preflight``, the NIM state poller and the launcher
build on it. Formats are those of ``nim_commands.md`` section 3.
"""
