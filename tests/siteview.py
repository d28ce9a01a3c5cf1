"""Build the corpus posts into a Jekyll site, serve it on 127.0.0.1, look at it in Chromium.

Shared by tests/test_site.py and `make screenshots` (python -m tests.screenshots).
"""

from __future__ import annotations

import contextlib
import functools
import os
import shutil
import subprocess
import tempfile
import threading
from collections.abc import Iterator, Sequence
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from scraper.site.skeleton import init
from tests.helpers import front_matter

CHROMIUM_NAMES = ("chromium", "chromium-browser", "google-chrome")
# What works headless, as root and without a network (CI containers).
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--hide-scrollbars",
]


def find_chromium() -> str | None:
    for name in CHROMIUM_NAMES:
        exe = shutil.which(name)
        if exe:
            return exe
    return None


def build_site(jekyll: str, posts: list[Path], where: Path, *, baseurl: str = "") -> Path:
    """``scraper init`` a site in ``where``, copy ``posts`` in, build it; returns _site."""
    init(where)
    (where / "_posts").mkdir(exist_ok=True)
    for post in posts:
        shutil.copy(post, where / "_posts" / post.name)
    cmd = [jekyll, "build", "--quiet"] + (["--baseurl", baseurl] if baseurl else [])
    proc = subprocess.run(cmd, cwd=where, capture_output=True, text=True, timeout=300)
    if proc.returncode != 0:
        raise AssertionError(f"jekyll build failed:\n{proc.stdout}\n{proc.stderr}")
    return where / "_site"


def post_facts(post: Path) -> dict[str, Any]:
    return front_matter(post.read_text(encoding="utf-8"))


class _Handler(SimpleHTTPRequestHandler):
    baseurl = ""
    requests: list[tuple[str, int]] | None = None

    def log_message(self, format: str, *args: object) -> None:
        pass

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        if self.requests is not None:
            self.requests.append((self.path, int(code)))

    def translate_path(self, path: str) -> str:
        # The site lives below baseurl, as it would on the real host; anything else is a 404.
        if self.baseurl:
            if not (path == self.baseurl or path.startswith(self.baseurl + "/")):
                return os.path.join(str(self.directory), ".outside-baseurl", "missing")
            path = path[len(self.baseurl) :] or "/"
        return super().translate_path(path)


@contextlib.contextmanager
def serve(site: Path, *, baseurl: str = "", requests: list[tuple[str, int]] | None = None) -> Iterator[str]:
    """Serve ``site`` (a built _site) at http://127.0.0.1:<port><baseurl>/ in a thread;
    each request's path and status are appended to ``requests`` when given."""
    handler = type("Handler", (_Handler,), {"baseurl": baseurl, "requests": requests})
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(handler, directory=str(site)))
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}{baseurl}/"
    finally:
        httpd.shutdown()
        httpd.server_close()


def chromium(exe: str, url: str, *, screenshot: Path | None = None, flags: Sequence[str] = ()) -> str:
    """The rendered DOM of ``url`` (``--dump-dom``), or a screenshot of it into ``screenshot``."""
    with tempfile.TemporaryDirectory(prefix="chromium-") as profile:
        args = [exe, *CHROMIUM_FLAGS, *flags, f"--user-data-dir={profile}"]
        if screenshot is None:
            args += ["--dump-dom", url]
        else:
            args += [f"--screenshot={screenshot}", "--window-size=1280,1600", url]
        proc = subprocess.run(args, capture_output=True, timeout=120, stdin=subprocess.DEVNULL)
    if proc.returncode != 0 or (screenshot is not None and not screenshot.exists()):
        raise AssertionError(f"chromium failed on {url} (exit {proc.returncode}):\n{proc.stderr.decode(errors='replace')[-2000:]}")
    return proc.stdout.decode("utf-8")


def built_page(built: Path, post: Path) -> Path:
    """The page Jekyll made of ``post``: the one holding the post's own ``<!--epoch-->`` line."""
    marker = post.read_text(encoding="utf-8").split("---\n", 2)[2].split("\n", 1)[0]
    found = [p for p in built.rglob("*.html") if marker in p.read_text(encoding="utf-8")]
    if len(found) != 1:
        raise AssertionError(f"{post.name}: {len(found)} built pages hold {marker}")
    return found[0]
