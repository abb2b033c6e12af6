"""A client of Prometheus' HTTP query API (``/api/v1/query``), stdlib ``urllib`` only.

Owns :class:`PrometheusClient` (instant queries with a timeout, basic
credentials taken from the URL and never printed), :class:`Sample` (one
element of an instant vector) and :class:`PrometheusError`, whose message
says plainly what went wrong: Prometheus unreachable, too slow, not
Prometheus at all (an HTML page, a JSON answer of another shape), or a query
Prometheus refused (with its own ``errorType`` and ``error``).
"""

from __future__ import annotations

import base64
import json
import socket
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass
from typing import Any, Optional

from nimwatch.errors import NimwatchError, UsageError

MAX_ANSWER_BYTES = 256 * 1024 * 1024
"""A larger answer is refused (a fleet of 100 masters x 50 clients answers a few MB per query)."""


class PrometheusError(NimwatchError):
    """Prometheus cannot be reached, is not Prometheus, or refused a query."""


@dataclass(frozen=True)
class Sample:
    """One series of an instant vector: its labels and its value at ``at``."""

    labels: dict[str, str]
    value: float
    at: float
    """Evaluation time of the query (Prometheus' clock, seconds since the epoch)."""


def shown_url(url: str) -> str:
    """``url`` without credentials or query string (safe to print)."""
    parts = urllib.parse.urlsplit(url)
    host = parts.hostname or ""
    if ":" in host:
        host = f"[{host}]"
    port = f":{parts.port}" if parts.port else ""
    return urllib.parse.urlunsplit((parts.scheme, host + port, parts.path, "", ""))


class PrometheusClient:
    """Instant queries against one Prometheus server.

    Args:
        url: the server's base URL, e.g. ``http://prometheus:9090`` (a path prefix such as
            ``https://host/prometheus`` is kept; ``user:password@`` becomes basic authentication).
        timeout: seconds to wait for each answer.
    """

    def __init__(self, url: str, timeout: float = 10.0) -> None:
        parts = urllib.parse.urlsplit(url.strip())
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise UsageError(f"--prometheus: {url!r} is not an http:// or https:// URL")
        try:
            parts.port  # noqa: B018 - raises ValueError for a bad port
        except ValueError:
            raise UsageError(f"--prometheus: {parts.scheme}://{parts.hostname} has a bad port") from None
        if timeout <= 0:
            raise UsageError("--timeout must be a positive number of seconds")
        self.timeout = timeout
        self.url = shown_url(url).rstrip("/")
        self._auth: Optional[str] = None
        if parts.username is not None:
            pair = f"{urllib.parse.unquote(parts.username)}:{urllib.parse.unquote(parts.password or '')}"
            self._auth = "Basic " + base64.b64encode(pair.encode("utf-8")).decode("ascii")

    def query(self, expr: str, at: Optional[float] = None) -> list[Sample]:
        """Evaluate ``expr`` now (or at ``at``) and return its instant vector (a scalar as one sample)."""
        params = {"query": expr}
        if at is not None:
            params["time"] = f"{at:.3f}"
        data = self._get("/api/v1/query", params)
        result_type = data.get("resultType")
        result = data.get("result")
        # values come as strings ("1", "NaN", "+Inf"): float() reads them all
        if result_type == "scalar" and isinstance(result, list) and len(result) == 2:
            return [Sample({}, float(result[1]), float(result[0]))]
        if result_type != "vector" or not isinstance(result, list):
            raise PrometheusError(f"{self.url}: the query {expr!r} gave a {result_type}, not an instant vector")
        samples = []
        for item in result:
            try:
                labels = {str(k): str(v) for k, v in item["metric"].items()}
                stamp, value = item["value"]
                samples.append(Sample(labels, float(value), float(stamp)))
            except (KeyError, TypeError, ValueError, AttributeError):
                raise PrometheusError(f"{self.url}: an answer to {expr!r} is not a Prometheus sample") from None
        return samples

    def _get(self, path: str, params: dict[str, str]) -> dict[str, Any]:
        request = urllib.request.Request(
            self.url + path + "?" + urllib.parse.urlencode(params),
            headers={"Accept": "application/json", "User-Agent": "nimwatch-fleet"},
        )
        if self._auth:
            request.add_header("Authorization", self._auth)
        status = 200
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:
                body = response.read(MAX_ANSWER_BYTES + 1)
                content_type = response.headers.get("Content-Type", "")
        except urllib.error.HTTPError as exc:
            status = exc.code
            content_type = exc.headers.get("Content-Type", "") if exc.headers else ""
            try:
                body = exc.read(65536)
            except OSError:
                body = b""
            finally:
                exc.close()
        except urllib.error.URLError as exc:
            reason = exc.reason
            if isinstance(reason, (socket.timeout, TimeoutError)):
                raise self._too_slow() from None
            text = getattr(reason, "strerror", None) or str(reason)
            raise PrometheusError(f"cannot reach Prometheus at {self.url}: {text}") from None
        except (socket.timeout, TimeoutError):
            raise self._too_slow() from None
        except OSError as exc:  # reset by peer, a broken answer
            raise PrometheusError(f"cannot read from Prometheus at {self.url}: {exc.strerror or exc}") from None
        if len(body) > MAX_ANSWER_BYTES:
            raise PrometheusError(f"{self.url}: the answer is larger than {MAX_ANSWER_BYTES // 2**20} MiB")
        return self._decode(status, content_type, body, params.get("query", ""))

    def _too_slow(self) -> PrometheusError:
        return PrometheusError(f"Prometheus at {self.url} did not answer within {self.timeout:g} s")

    def _decode(self, status: int, content_type: str, body: bytes, expr: str) -> dict[str, Any]:
        not_prometheus = f"{self.url} does not look like Prometheus' HTTP API: GET /api/v1/query answered {status}" + (
            f" ({content_type.split(';')[0]})" if content_type else ""
        )
        try:
            doc = json.loads(body.decode("utf-8"))
        except (UnicodeDecodeError, ValueError):
            if status in (401, 403):
                raise PrometheusError(
                    f"Prometheus at {self.url} refused access ({status}): check the credentials"
                ) from None
            raise PrometheusError(not_prometheus) from None
        if not isinstance(doc, dict) or doc.get("status") not in ("success", "error"):
            raise PrometheusError(not_prometheus)
        if doc["status"] == "error":
            kind = doc.get("errorType", "error")
            detail = doc.get("error", "")
            raise PrometheusError(f"Prometheus at {self.url} refused the query {expr!r}: {kind}: {detail}")
        data = doc.get("data")
        if not isinstance(data, dict):
            raise PrometheusError(not_prometheus)
        return data
