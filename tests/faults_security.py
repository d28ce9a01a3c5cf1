"""Fault scenarios of hostile addresses and photos (appended to tests/faults.SCENARIOS)."""

from __future__ import annotations

from pathlib import Path

from tests.faults import GOOD, Outcome, Scene
from tests.server import Reply, Server
from tests.test_photos import png


def private_addresses(server: Server, corpus: Path, tmp: Path) -> Outcome:
    """Photos on 127.0.0.3 and an article redirected there: nothing is asked of it."""
    s = Scene(server, corpus, tmp)
    s.http["allow_private"] = []  # the feed's own host:port is the operator's; 127.0.0.3 is not
    s.extra["photos"] = "mirror"
    with Server("127.0.0.3") as inside:
        inside.route_prefix = ("/", Reply(200, png(1), {"Content-Type": "image/png"}))
        for name in GOOD:
            server.page(s.paths[name], s.page(name).replace(b"https://imgcdn.cna.com.tw/", inside.url("/img/").encode()))
        server.routes[s.fault_path] = Reply(302, b"", {"Location": inside.url(s.fault_path)})
        code = s.poll()
        asked = sum(inside.hits.values())
    stored = len(list((tmp / "out" / "assets").rglob("*.*"))) if (tmp / "out" / "assets").exists() else 0
    observed = f"run 1 exit {code}, {len(s.ids())} posts, requests to 127.0.0.3: {asked}, photos stored: {stored}"
    return s.outcome("photos on 127.0.0.3, article redirected there", "run 1 exit 0, 3 posts, requests to 127.0.0.3: 0, photos stored: 0", observed, GOOD)


SECURITY = [private_addresses]
