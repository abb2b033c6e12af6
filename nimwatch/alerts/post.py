"""POSTing JSON over HTTP(S) for the webhook and Alertmanager sinks (stdlib ``urllib``).

Owns :func:`post_json`: TLS is verified by default (``verify: false`` or a
``ca_file`` for a private CA), header values are read from their env var or
file at send time, and errors say what happened without the URL's path or
query (tokens live there) or any header value.
"""

from __future__ import annotations

import json
import ssl
import urllib.error
import urllib.request
from typing import Any, Optional

from nimwatch import __version__
from nimwatch.alerts.sink import DeliveryError, safe_url
from nimwatch.config.alerts import HttpOptions

RETRYABLE_STATUS = frozenset({408, 425, 429})
"""4xx answers worth retrying; any other 4xx means the receiver will never take this alert."""


def ssl_context(verify: bool, ca_file: Optional[str]) -> ssl.SSLContext:
    context = ssl.create_default_context(cafile=ca_file)
    if not verify:
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    return context


def post_json(options: HttpOptions, url: str, body: Any) -> int:
    """POST ``body`` as JSON; the HTTP status on success, DeliveryError otherwise."""
    headers = {"Content-Type": "application/json", "User-Agent": f"nimwatch/{__version__}"}
    for name, secret in options.headers.items():
        try:
            headers[name] = secret.read()
        except (OSError, KeyError) as exc:
            raise DeliveryError(f"header {name}: {exc}") from None
    data = json.dumps(body, ensure_ascii=False).encode("utf-8")
    request = urllib.request.Request(url, data=data, headers=headers, method="POST")
    context = ssl_context(options.verify, options.ca_file) if url.startswith("https:") else None
    where = safe_url(url)
    try:
        with urllib.request.urlopen(request, timeout=options.timeout, context=context) as response:
            response.read(65536)
            return int(response.status)
    except urllib.error.HTTPError as exc:
        permanent = 400 <= exc.code < 500 and exc.code not in RETRYABLE_STATUS
        raise DeliveryError(f"{where} answered HTTP {exc.code} {exc.reason}", permanent=permanent) from None
    except urllib.error.URLError as exc:
        text = getattr(exc.reason, "strerror", None) or str(exc.reason)
        raise DeliveryError(f"{where}: {text}") from None
    except (OSError, ValueError) as exc:
        raise DeliveryError(f"{where}: {exc}") from None
