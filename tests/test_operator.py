"""The operator's side: what cron mail and a terminal say, and what monitoring reads.

Whole runs against a local server; every figure checked comes from what the server
served or from the state, never written down in the test."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from scraper.state import VERSION
from tests.server import Reply, Server
from tests.sitebuilder import config, item
from tests.test_totality import good_items, rss, serve

ROOT = Path(__file__).resolve().parent.parent
ENV = {**os.environ, "PYTHONPATH": str(ROOT)}


def scraper(*args: str) -> tuple[int, str, str]:
    """A whole run as cron makes it: standard error is no terminal."""
    proc = subprocess.run([sys.executable, "-m", "scraper", *args], capture_output=True, text=True, env=ENV, stdin=subprocess.DEVNULL)
    assert "Traceback" not in proc.stderr, proc.stderr
    return proc.returncode, proc.stdout, proc.stderr


def status_json(cfg: Path) -> dict[str, Any]:
    code, out, err = scraper("status", "--json", "--config", str(cfg))
    assert code == 0 and err == "", err
    data: dict[str, Any] = json.loads(out)
    return data


# ---------------------------------------------------------------- status --json


def test_status_json_holds_what_status_prints(server: Server, corpus: Path, tmp_path: Path) -> None:
    local = serve(server, corpus)
    server.routes["/news/aopl/202312050001.aspx"] = Reply(404, b"no")
    server.routes["/flaky"] = Reply(502, b"bad gateway")
    server.routes["/news/aopl/202312050002.aspx"] = Reply(429, b"wait", {"Retry-After": "600"})
    server.feed("/feed", rss(*good_items(local), item("missing", server.url("/news/aopl/202312050001.aspx"))))
    busy = server.url("/busy").replace("127.0.0.1", "localhost")
    server.feed("/busy", rss(item("busy", server.url("/news/aopl/202312050002.aspx").replace("127.0.0.1", "localhost"))))
    cfg = config(tmp_path, [("國際", server.url("/feed")), ("flaky", server.url("/flaky")), ("busy", busy)], max_attempts=1, report_after=5, http={"max_retry_after": 600})
    scraper("poll", "--config", str(cfg))
    data = status_json(cfg)
    assert data["schema_version"] == VERSION
    assert data["articles"] == {"written": len(local), "pending": 1, "failed": 1, "skipped": 0}
    (failed,) = data["failed_articles"]
    assert failed["id"] == "202312050001" and failed["attempts"] == 1 and "HTTP 404" in failed["reason"]
    (flaky,) = data["feeds"]
    assert (flaky["name"], flaky["url"], flaky["failures"], flaky["gone"]) == ("flaky", server.url("/flaky"), 1, False)
    assert flaky["last_error"] == f"{server.url('/flaky')}: HTTP 502"
    (pause,) = data["host_pauses"]
    assert pause["host"] == "localhost" and datetime.strptime(pause["until"], "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC) > datetime.now(UTC)
    code, out, _ = scraper("status", "--config", str(cfg))
    assert code == 0
    assert out.splitlines() == [
        f"state {data['state']} (schema version {VERSION})",
        f"articles written={len(local)} pending=1 failed=1 skipped=0",
        f"failed 202312050001 {failed['url']} attempts=1 reason={failed['reason']}",
        f"feed flaky ({server.url('/flaky')}) failures=1 next_attempt=- gone=False redirect=- last_error={flaky['last_error']}",
        f"host localhost paused until {pause['until']}",
    ]
