"""Alert sinks: syslog, email, webhook, Alertmanager and command, with dedupe, throttle and a retry spool."""

from __future__ import annotations
