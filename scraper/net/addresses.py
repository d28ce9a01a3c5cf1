"""Which network addresses a URL learned from outside content may reach (pure rules).

A feed item's link, a photo, a redirect's ``Location`` or a sitemap entry is outside
content: it must not make the mirror fetch an address of the machine or its network
and publish what answers. ``refusal`` names why an address is not public: loopback,
private, link-local, CGNAT (100.64/10), multicast, reserved or unspecified, IPv4 or
IPv6, with the IPv4 address inside an IPv4-mapped (``::ffff:127.0.0.1``), 6to4,
Teredo or NAT64 (``64:ff9b::/96``) address judged as itself. The operator's
exceptions are an ``AllowList`` of hosts and networks (``http.allow_private``).
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
Network = ipaddress.IPv4Network | ipaddress.IPv6Network
NAT64 = ipaddress.IPv6Network("64:ff9b::/96")
CGNAT = ipaddress.IPv4Network("100.64.0.0/10")
_HOSTNAME = re.compile(r"^(?=.{1,253}$)([a-z0-9_]([a-z0-9_-]{0,61}[a-z0-9_])?)(\.[a-z0-9_]([a-z0-9_-]{0,61}[a-z0-9_])?)*$")


def normal_host(host: str) -> str:
    """A host as compared here: lower case, without IPv6 brackets or a trailing dot."""
    return host.strip().lower().removeprefix("[").removesuffix("]").rstrip(".")


def embedded(ip: IPAddress) -> IPAddress | None:
    """The IPv4 address an IPv6 address carries (mapped, 6to4, Teredo, NAT64), if any."""
    if not isinstance(ip, ipaddress.IPv6Address):
        return None
    if ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    if ip.sixtofour is not None:
        return ip.sixtofour
    if ip.teredo is not None:
        return ip.teredo[1]
    if ip in NAT64:
        return ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    return None


def refusal(address: str | IPAddress) -> str | None:
    """Why ``address`` is no public address (``"loopback"``, ``"private"``…), or None when it is."""
    ip = ipaddress.ip_address(address) if isinstance(address, str) else address
    inner = embedded(ip)
    if inner is not None:
        why = refusal(inner)
        return f"{why} (inside {ip})" if why else None
    checks = (
        ("unspecified", ip.is_unspecified),
        ("loopback", ip.is_loopback),
        ("link-local", ip.is_link_local),
        ("CGNAT", isinstance(ip, ipaddress.IPv4Address) and ip in CGNAT),
        ("multicast", ip.is_multicast),
        ("private", ip.is_private or (isinstance(ip, ipaddress.IPv6Address) and ip.is_site_local)),
        ("reserved", ip.is_reserved),
        ("not global", not ip.is_global),
    )
    return next((name for name, hit in checks if hit), None)


@dataclass(frozen=True)
class AllowList:
    """Hosts (by name or address) and networks the operator lets the mirror reach."""

    hosts: frozenset[str] = frozenset()
    networks: tuple[Network, ...] = ()

    def permits(self, host: str, ip: IPAddress) -> bool:
        if normal_host(host) in self.hosts:
            return True
        inner = embedded(ip)
        return any(candidate.version == net.version and candidate in net for net in self.networks for candidate in (ip, inner) if candidate is not None)


def allow_list(entries: tuple[str, ...]) -> AllowList:
    """``http.allow_private`` read: hostnames, addresses or CIDR networks; ValueError names a bad one."""
    hosts: set[str] = set()
    networks: list[Network] = []
    for entry in entries:
        text = normal_host(entry)
        try:
            networks.append(ipaddress.ip_network(text, strict=False))
            continue
        except ValueError:
            pass
        if "/" in text or ":" in text or not _HOSTNAME.match(text) or text.replace(".", "").isdigit():
            raise ValueError(f"{entry!r} is no hostname, IP address or CIDR network")
        hosts.add(text)
    return AllowList(frozenset(hosts), tuple(networks))
