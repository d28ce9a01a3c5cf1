"""A real HTTP server on 127.0.0.1 for tests: routes serve bytes or misbehave on purpose."""

from __future__ import annotations

import contextlib
import gzip
import socket
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType


@dataclass
class Reply:
    status: int = 200
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    drip: float = 0.0  # seconds between bytes
    cut_at: int | None = None  # close the connection after this many body bytes
    content_length: int | None = None  # lie about the length
    delay: float = 0.0  # before answering
    header_drip: float = 0.0  # seconds between bytes of the status line and headers


Route = Reply | Callable[["Request"], Reply]


@dataclass(frozen=True)
class Request:
    path: str
    headers: dict[str, str]
    count: int  # how many times this path was requested, this one included


class Server:
    """``routes`` maps a path (with query) to a Reply or a function of the Request.

    ``host`` is any loopback address (``::1`` too): a server on 127.0.0.2 is another host to the
    scraper (its per-host limits and pauses are its own), on the same machine."""

    def __init__(self, host: str = "127.0.0.1") -> None:
        self.routes: dict[str, Route] = {}
        self.hits: Counter[str] = Counter()
        self.log: list[tuple[float, str]] = []
        self.default_latency = 0.0
        self.route_prefix: tuple[str, Route] | None = None  # serves every path under a prefix
        self._lock = threading.Lock()
        outer = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: object) -> None:
                pass

            def do_GET(self) -> None:
                with outer._lock:
                    outer.hits[self.path] += 1
                    outer.log.append((time.monotonic(), self.path))
                    count = outer.hits[self.path]
                route = outer.routes.get(self.path)
                if route is None and outer.route_prefix and self.path.startswith(outer.route_prefix[0]):
                    route = outer.route_prefix[1]
                if route is None:
                    reply = Reply(404, b"<html><head><title>404</title></head><body>not here</body></html>", {"Content-Type": "text/html"})
                else:
                    reply = route(Request(self.path, dict(self.headers), count)) if callable(route) else route
                if outer.default_latency:
                    time.sleep(outer.default_latency)
                if reply.delay:
                    time.sleep(reply.delay)
                with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                    self._send(reply)

            def _send(self, reply: Reply) -> None:
                if reply.header_drip:
                    head = f"HTTP/1.1 {reply.status} OK\r\nContent-Type: text/html\r\nContent-Length: {len(reply.body)}\r\n\r\n".encode()
                    for i in range(len(head)):
                        self.wfile.write(head[i : i + 1])
                        self.wfile.flush()
                        time.sleep(reply.header_drip)
                    self.wfile.write(reply.body)
                    self.close_connection = True
                    return
                self.send_response(reply.status)
                headers = {"Content-Type": "text/html; charset=utf-8", **reply.headers}
                for k, v in headers.items():
                    self.send_header(k, v)
                length = reply.content_length if reply.content_length is not None else len(reply.body)
                self.send_header("Content-Length", str(length))
                if reply.cut_at is not None or reply.content_length is not None:
                    self.send_header("Connection", "close")
                self.end_headers()
                body = reply.body if reply.cut_at is None else reply.body[: reply.cut_at]
                if reply.drip:
                    for i in range(len(body)):
                        self.wfile.write(body[i : i + 1])
                        self.wfile.flush()
                        time.sleep(reply.drip)
                else:
                    self.wfile.write(body)
                if reply.cut_at is not None or reply.content_length is not None:
                    self.close_connection = True

        self.errors: list[str] = []

        class Quiet(ThreadingHTTPServer):
            address_family = socket.AF_INET6 if ":" in host else socket.AF_INET

            def handle_error(self, request: object, client_address: object) -> None:
                import traceback

                outer.errors.append(traceback.format_exc())

        self.httpd = Quiet((host, 0), Handler)
        self.httpd.daemon_threads = True
        self.port = self.httpd.server_address[1]
        self.base = f"http://[{host}]:{self.port}" if ":" in host else f"http://{host}:{self.port}"
        self._thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def __enter__(self) -> Server:
        self._thread.start()
        return self

    def __exit__(self, t: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()

    def url(self, path: str) -> str:
        return self.base + path

    def page(self, path: str, body: bytes, **headers: str) -> None:
        self.routes[path] = Reply(200, body, {"Content-Type": "text/html; charset=utf-8", **headers})

    def feed(self, path: str, body: bytes) -> None:
        self.routes[path] = Reply(200, body, {"Content-Type": "application/rss+xml; charset=utf-8"})

    def article_hits(self) -> int:
        return sum(n for p, n in self.hits.items() if p.startswith("/news/"))


def gzip_bomb(size: int) -> bytes:
    return gzip.compress(b"\0" * size, compresslevel=9)
