"""The ``webhook`` sink: each alert POSTed as one JSON object (the watch JSON line plus id, severity, summary)."""

from __future__ import annotations

from typing import Any

from nimwatch.alerts.post import post_json
from nimwatch.alerts.sink import Sink
from nimwatch.config.alerts import HttpOptions


class WebhookSink(Sink[HttpOptions]):
    options_type = HttpOptions

    def send(self, payload: dict[str, Any]) -> None:
        post_json(self.options, self.options.url, payload)
