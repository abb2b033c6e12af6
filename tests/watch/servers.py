"""Real receivers on 127.0.0.1 for the alert tests: UDP and unix syslog, an HTTP receiver, SMTP (aiosmtpd)."""

from __future__ import annotations

import json
import shutil
import socket
import subprocess
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Optional


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class DatagramReceiver:
    """Collects datagrams (syslog over UDP or a unix datagram socket) in a thread."""

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self.sock.settimeout(0.2)
        self.messages: list[bytes] = []
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    @classmethod
    def udp(cls) -> DatagramReceiver:
        sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        sock.bind(("127.0.0.1", 0))
        return cls(sock)

    @classmethod
    def unix(cls, path: Path) -> DatagramReceiver:
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        sock.bind(str(path))
        return cls(sock)

    @property
    def address(self) -> str:
        host, port = self.sock.getsockname()[:2]
        return f"{host}:{port}"

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                data = self.sock.recv(65536)
            except (socket.timeout, TimeoutError):
                continue
            except OSError:
                return
            with self._lock:
                self.messages.append(data)

    def received(self) -> list[bytes]:
        with self._lock:
            return list(self.messages)

    def close(self) -> None:
        self._stop.set()
        self._thread.join()
        self.sock.close()


class HttpReceiver:
    """An HTTP server recording every POST; ``fail`` gives statuses to answer before accepting."""

    def __init__(self, port: int = 0) -> None:
        self.requests: list[dict[str, Any]] = []
        self.fail: list[int] = []
        self._lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", "0"))
                body = self.rfile.read(length)
                with receiver._lock:
                    status = receiver.fail.pop(0) if receiver.fail else 200
                    if status == 200:
                        receiver.requests.append(
                            {"path": self.path, "headers": dict(self.headers), "body": json.loads(body)}
                        )
                self.send_response(status)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, format: str, *args: Any) -> None:
                """Keep the test output quiet."""

        self.server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
        self.server.daemon_threads = True
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self._thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def bodies(self) -> list[dict[str, Any]]:
        with self._lock:
            return [r["body"] for r in self.requests]

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self._thread.join()


def self_signed_cert(directory: Path) -> Optional[tuple[Path, Path]]:
    """(cert, key) for 127.0.0.1 and localhost, made with the openssl command; None without it."""
    openssl = shutil.which("openssl")
    if openssl is None:
        return None
    cert, key = directory / "cert.pem", directory / "key.pem"
    done = subprocess.run(
        [
            openssl, "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", str(key), "-out", str(cert),
            "-days", "2", "-subj", "/CN=localhost", "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost",
        ],
        capture_output=True,
        timeout=60,
    )
    return (cert, key) if done.returncode == 0 else None


class SmtpServer:
    """aiosmtpd on 127.0.0.1: optional STARTTLS (required when given) and login checking."""

    def __init__(self, cert: Optional[tuple[Path, Path]] = None, login: Optional[tuple[str, str]] = None) -> None:
        import ssl

        from aiosmtpd.controller import Controller
        from aiosmtpd.smtp import AuthResult, LoginPassword

        self.messages: list[Any] = []
        self.logins: list[tuple[str, str]] = []
        outer = self

        class Handler:
            async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
                outer.messages.append(envelope)
                return "250 OK"

        def authenticator(server: Any, session: Any, envelope: Any, mechanism: str, auth_data: Any) -> Any:
            if isinstance(auth_data, LoginPassword):
                user, password = auth_data.login.decode(), auth_data.password.decode()
                outer.logins.append((user, password))
                if login is not None and (user, password) == login:
                    return AuthResult(success=True)
            return AuthResult(success=False, handled=False)

        kwargs: dict[str, Any] = {}
        if cert is not None:
            context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
            context.load_cert_chain(str(cert[0]), str(cert[1]))
            kwargs.update(tls_context=context, require_starttls=True)
        if login is not None:
            kwargs.update(authenticator=authenticator, auth_require_tls=cert is not None)
        self.port = free_port()
        self.controller = Controller(Handler(), hostname="127.0.0.1", port=self.port, **kwargs)
        self.controller.start()

    def close(self) -> None:
        self.controller.stop()


def lines(data: list[bytes]) -> Iterator[str]:
    for item in data:
        yield item.decode("utf-8", errors="replace")
