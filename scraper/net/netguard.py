"""The address guard: every connection's host is resolved once, checked, and connected to
by the address that was checked.

The check sits in the HTTP client's network backend (``httpcore``'s ``connect_tcp``),
so it holds for every request and every redirect hop, after DNS resolution, and a name
that resolves to another address a moment later (DNS rebinding) cannot slip through:
the socket goes to the address checked, while the URL's host stays in the ``Host``
header and in TLS's SNI and certificate check. Allowed without a check: an origin
(``host:port``) the operator named in feeds.yaml, and the hosts and networks of
``http.allow_private``. Environment proxies are not used: through a proxy, the address
reached could not be checked.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

import httpcore
import httpx

from .addresses import AllowList, IPAddress, allow_list, normal_host, refusal

Resolver = Callable[[str, int], list[str]]


class AddressRefused(Exception):
    """A connection the guard refused; ``reason`` says to what and why."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def origin(url: str) -> tuple[str, int] | None:
    """``(host, port)`` of an http(s) URL as the client connects to it, or None."""
    try:
        parsed = httpx.URL(url)
    except (httpx.InvalidURL, ValueError, TypeError):
        return None
    if parsed.scheme not in ("http", "https") or not parsed.raw_host:
        return None
    port = parsed.port or (443 if parsed.scheme == "https" else 80)
    return normal_host(parsed.raw_host.decode("ascii")), port


def system_resolver(host: str, port: int) -> list[str]:
    """Every address ``host`` resolves to (an address literal resolves to itself)."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError) as exc:
        raise httpcore.ConnectError(f"cannot resolve {host}: {exc}") from exc
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


@dataclass(frozen=True)
class Guard:
    """Which connections may be made: public addresses, the operator's origins, the allow list."""

    named: frozenset[tuple[str, int]] = frozenset()
    allowed: AllowList = field(default_factory=AllowList)

    @classmethod
    def of(cls, named_urls: Iterable[str], allow_private: tuple[str, ...]) -> Guard:
        origins = frozenset(o for o in (origin(u) for u in named_urls) if o is not None)
        return cls(origins, allow_list(allow_private))

    def addresses(self, host: str, port: int, resolve: Resolver) -> list[str]:
        """The addresses of ``host`` that may be connected to; AddressRefused when none."""
        host = normal_host(host)
        found = resolve(host, port)
        if (host, port) in self.named:
            return found
        allowed: list[str] = []
        refused: list[str] = []
        for text in found:
            ip: IPAddress = ipaddress.ip_address(text.split("%", 1)[0])
            why = refusal(ip)
            if why is None or self.allowed.permits(host, ip):
                allowed.append(text)
            else:
                refused.append(f"{ip} ({why})")
        if not allowed:
            what = refused[0] if found == [host] else f"{host}, which resolves to {', '.join(refused)},"
            raise AddressRefused(f"{what} is not a public address; not fetched (allow it with http.allow_private)")
        return allowed


class GuardedBackend(httpcore.NetworkBackend):
    """``httpcore``'s network backend with the guard in front of every TCP connect."""

    def __init__(self, guard: Guard, inner: httpcore.NetworkBackend | None = None, resolve: Resolver = system_resolver) -> None:
        self.guard = guard
        self.inner = inner or httpcore.SyncBackend()
        self.resolve = resolve

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.NetworkStream:
        last: Exception | None = None
        for address in self.guard.addresses(host, port, self.resolve):
            try:
                return self.inner.connect_tcp(address, port, timeout, local_address, socket_options)
            except (httpcore.ConnectError, httpcore.ConnectTimeout) as exc:
                last = exc
        assert last is not None
        raise last

    def connect_unix_socket(self, path: str, timeout: float | None = None, socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None) -> httpcore.NetworkStream:
        raise AddressRefused(f"unix socket {path}: not a web address")

    def sleep(self, seconds: float) -> None:
        self.inner.sleep(seconds)


def transport(guard: Guard, limits: httpx.Limits, inner: httpcore.NetworkBackend | None = None, resolve: Resolver = system_resolver) -> httpx.HTTPTransport:
    """httpx's own transport, its connection pool built on the guarded backend."""
    made = httpx.HTTPTransport(limits=limits, trust_env=False)
    ssl_context = made._pool._ssl_context  # the context httpx built (certifi's roots)
    made._pool = httpcore.ConnectionPool(
        ssl_context=ssl_context,
        max_connections=limits.max_connections,
        max_keepalive_connections=limits.max_keepalive_connections,
        keepalive_expiry=limits.keepalive_expiry,
        network_backend=GuardedBackend(guard, inner, resolve),
    )
    return made
