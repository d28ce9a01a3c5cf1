"""``scraper build``: the Jekyll site built in parts, so a build after a poll renders only
what changed.

Jekyll renders every post on every build, and a site of a year of news (100k posts and
more) takes tens of minutes and gigabytes per build. So the site is built in parts:

- **closed days**: each day (Asia/Taipei, the date in a post's URL) before the live
  window is one Jekyll build of its own posts, into ``_site/YYYY/MM/DD/``: the posts, a
  paginated index of the day, a page per source (``/YYYY/MM/DD/source/<name>/``) and
  the day's ``sitemap.xml``. A closed day is built again only when its posts change (a
  backfill, a refresh) or the layouts do.
- **the live site**: the posts of the last ``live_days`` days (or, when they have none, of
  the newest day that has posts, so the home page never empties), with the home page and its
  pagination, the source pages, the feed, the month pages (``/YYYY/MM/``: the days of the
  month), ``/archive/`` (every month) and ``/sitemap.xml``, an index of the live sitemap
  and every day's.

Each part is built from a staging folder in ``<site>/.scraper/build/`` whose ``_posts``
holds links to the site's posts; post URLs stay what a plain ``jekyll build`` gives.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import shutil
import subprocess
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from xml.sax.saxutils import escape
from zoneinfo import ZoneInfo

import yaml

from .. import atomic
from ..errors import ScraperError, StoreError
from .postfiles import PostFiles, read_head

log = logging.getLogger(__name__)
TAIPEI = ZoneInfo("Asia/Taipei")
LIVE_DAYS = 2
SKIP = {"_posts", "_site", ".scraper", ".jekyll-cache", ".jekyll-metadata", "_data", "Gemfile", "Gemfile.lock"}
LAYOUT_PARTS = ("_config.yml", "_layouts", "_includes", "_plugins")


class BuildError(ScraperError):
    """Jekyll failed on one part of the site."""


@dataclass(frozen=True)
class BuildReport:
    days_built: tuple[str, ...]
    days_kept: int
    live_posts: int


def post_day(head: bytes) -> str | None:
    """The Asia/Taipei day (YYYY-MM-DD) of a post's ``date:`` line: the day in its URL."""
    for line in head.decode("utf-8", errors="replace").splitlines()[:12]:
        if line.startswith("date: "):
            try:
                when = datetime.fromisoformat(line[6:].strip().strip("'\"").replace("Z", "+00:00"))
            except ValueError:
                return None
            return (when if when.tzinfo else when.replace(tzinfo=TAIPEI)).astimezone(TAIPEI).date().isoformat()
    return None


class SiteBuild:
    """One build of the site in ``site`` with the ``jekyll`` command."""

    def __init__(self, site: Path, *, jekyll: str = "jekyll", live_days: int = LIVE_DAYS, today: date | None = None) -> None:
        self.site = site
        self.jekyll = jekyll
        self.live_days = live_days
        self.today = today or datetime.now(TAIPEI).date()
        self.work = site / ".scraper" / "build"
        self.dest = site / "_site"

    # ---------------------------------------------------------------- which post goes where

    def _days(self) -> dict[str, list[os.DirEntry[str]]]:
        """Day -> post files; the day of each name is read once and kept in ``days.json``."""
        cache_path = self.work / "days.json"
        try:
            cache: dict[str, str] = json.loads(cache_path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            cache = {}
        out: dict[str, list[os.DirEntry[str]]] = {}
        seen: dict[str, str] = {}
        with contextlib.suppress(FileNotFoundError), os.scandir(self.site / "_posts") as entries:
            for entry in entries:
                if not entry.name.endswith(".md") or entry.name.startswith("."):
                    continue
                day = cache.get(entry.name)
                if day is None:
                    head = read_head(Path(entry.path))
                    day = post_day(head) if head else None
                if day is None:
                    log.warning("%s: no date: line; not built", entry.path)
                    continue
                seen[entry.name] = day
                out.setdefault(day, []).append(entry)
        if seen != cache:
            atomic.write(cache_path, json.dumps(seen, ensure_ascii=False, sort_keys=True).encode("utf-8"))
        return out

    def _layout_hash(self) -> str:
        digest = hashlib.sha256()
        for name in LAYOUT_PARTS:
            path = self.site / name
            for f in sorted(path.rglob("*")) if path.is_dir() else [path] if path.is_file() else []:
                if f.is_file():
                    digest.update(str(f.relative_to(self.site)).encode() + b"\0" + f.read_bytes())
        return digest.hexdigest()

    # ---------------------------------------------------------------- staging and jekyll

    def _stage(self, name: str, posts: Iterable[os.DirEntry[str]], *, live: bool) -> Path:
        src = self.work / name
        shutil.rmtree(src, ignore_errors=True)
        (src / "_posts").mkdir(parents=True)
        root = self.site.resolve()
        for entry in root.iterdir():
            keep = entry.name in LAYOUT_PARTS[1:] or (live and entry.name not in SKIP and not entry.name.startswith("."))
            if keep and entry.name != "_config.yml":
                (src / entry.name).symlink_to(entry)
        if live and (root / "_data").is_dir():
            (src / "_data").mkdir()
            for f in (root / "_data").iterdir():
                (src / "_data" / f.name).symlink_to(f)
        for post in posts:
            (src / "_posts" / post.name).symlink_to(root / "_posts" / post.name)
        return src

    def _page(self, src: Path, rel: str, front: dict[str, object]) -> None:
        path = src / rel / "index.html"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("---\n" + yaml.safe_dump(front, allow_unicode=True) + "---\n", encoding="utf-8")

    def _jekyll(self, src: Path, out: Path, override: Mapping[str, object]) -> None:
        extra = src.parent / f"{src.name}.yml"
        extra.write_text(yaml.safe_dump(override, allow_unicode=True), encoding="utf-8")
        config = f"{self.site.resolve() / '_config.yml'},{extra}"
        cmd = [self.jekyll, "build", "--quiet", "--source", str(src), "--destination", str(out), "--config", config]
        try:
            proc = subprocess.run(cmd, capture_output=True, text=True, timeout=6 * 3600, check=False)
        except OSError as exc:
            raise BuildError(f"{self.jekyll}: cannot run jekyll: {exc.strerror or exc}") from exc
        if proc.returncode != 0:
            lines = (proc.stderr or proc.stdout).strip().splitlines()
            raise BuildError(f"{src.name}: jekyll build failed: {lines[-1] if lines else f'exit {proc.returncode}'}")

    # ---------------------------------------------------------------- the parts

    def _build_day(self, day: str, posts: list[os.DirEntry[str]]) -> None:
        """One closed day into ``_site/YYYY/MM/DD``, swapped in whole."""
        rel = day.replace("-", "/")
        src = self._stage("day", posts, live=False)
        self._page(src, rel, {"layout": "day", "title": day, "day": day, "pagination": {"enabled": True}})
        out = self.work / "day-out"
        shutil.rmtree(out, ignore_errors=True)
        override = {
            "source_root": f"/{rel}",
            "jekyll-archives": {"enabled": ["categories"], "layouts": {"category": "archive"}, "permalinks": {"category": f"/{rel}/source/:name/"}},
        }
        self._jekyll(src, out, override)
        built = out / rel
        with contextlib.suppress(FileNotFoundError):
            os.replace(out / "sitemap.xml", built / "sitemap.xml")
        target = self.dest / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        old = target.with_name(f".old-{target.name}")
        shutil.rmtree(old, ignore_errors=True)
        if target.exists():
            os.replace(target, old)
        os.replace(built, target)
        shutil.rmtree(old, ignore_errors=True)

    def _build_live(self, days: dict[str, list[os.DirEntry[str]]], live: list[str]) -> None:
        src = self._stage("live", [e for d in live for e in days[d]], live=True)
        months = sorted({d[:7] for d in days}, reverse=True)
        data = {"live": live, "months": [{"month": m, "days": [{"day": d, "posts": len(days[d])} for d in sorted(days, reverse=True) if d[:7] == m]} for m in months]}
        (src / "_data").mkdir(exist_ok=True)
        (src / "_data" / "scraper_build.json").write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
        for m in months:
            self._page(src, m.replace("-", "/"), {"layout": "month", "title": m, "month": m})
        for day in live:
            self._page(src, day.replace("-", "/"), {"layout": "day", "title": day, "day": day})
        out = self.work / "live-out"
        self._jekyll(src, out, {"jekyll-archives": {"enabled": ["categories"], "layouts": {"category": "archive"}, "permalinks": {"category": "/source/:name/"}}})
        self._sync_live(out)

    def _sync_live(self, out: Path) -> None:
        """Copy the live build into ``_site``; remove what the last live build wrote and this one did not."""
        manifest = self.work / "live-files.json"
        try:
            before = set(json.loads(manifest.read_text(encoding="utf-8")))
        except (OSError, ValueError):
            before = set()
        now: set[str] = set()
        for path in out.rglob("*"):
            if path.is_dir():
                continue
            rel = path.relative_to(out).as_posix()
            rel = "sitemap-live.xml" if rel == "sitemap.xml" else rel
            now.add(rel)
            target = self.dest / rel
            st = path.stat()
            with contextlib.suppress(FileNotFoundError):
                old = target.stat()
                if old.st_size == st.st_size and old.st_mtime_ns == st.st_mtime_ns:
                    continue
            target.parent.mkdir(parents=True, exist_ok=True)
            tmp = target.with_name(f".tmp-{target.name}")
            shutil.copy2(path, tmp)
            os.replace(tmp, target)
        for rel in before - now:
            with contextlib.suppress(FileNotFoundError, IsADirectoryError):
                (self.dest / rel).unlink()
        atomic.write(manifest, json.dumps(sorted(now), ensure_ascii=False).encode("utf-8"))

    def _sitemap_index(self, closed: Iterable[str]) -> None:
        """``/sitemap.xml``: the live site's sitemap and every closed day's."""
        config: object = {}
        with contextlib.suppress(OSError, yaml.YAMLError):
            config = yaml.safe_load((self.site / "_config.yml").read_text(encoding="utf-8")) or {}
        base = f"{config.get('url') or ''}{config.get('baseurl') or ''}" if isinstance(config, dict) else ""
        locs = ["/sitemap-live.xml", *(f"/{d.replace('-', '/')}/sitemap.xml" for d in sorted(closed))]
        body = "".join(f"<sitemap><loc>{escape(base + loc)}</loc></sitemap>\n" for loc in locs)
        text = f'<?xml version="1.0" encoding="UTF-8"?>\n<sitemapindex xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">\n{body}</sitemapindex>\n'
        atomic.write(self.dest / "sitemap.xml", text.encode("utf-8"))

    # ---------------------------------------------------------------- the whole

    def run(self) -> BuildReport:
        """Build what changed: the live site always, a closed day when its posts or the layouts changed."""
        try:
            self.work.mkdir(parents=True, exist_ok=True)
            days = self._days()
            first_live = (self.today - timedelta(days=self.live_days - 1)).isoformat()
            # the home page never empties: with no post in the window, the newest day stays live
            live = sorted((d for d in days if d >= first_live), reverse=True) or sorted(days)[-1:]
            closed = {d: e for d, e in days.items() if d not in live}
            self._build_live(days, live)
            built = self._build_closed(closed, set(days))
            self._sitemap_index(closed)
        except OSError as exc:
            raise StoreError(f"{exc.filename or self.site}: cannot build the site: {exc.strerror or exc}") from exc
        return BuildReport(days_built=tuple(built), days_kept=len(closed) - len(built), live_posts=sum(len(days[d]) for d in live))

    def _build_closed(self, closed: dict[str, list[os.DirEntry[str]]], every: set[str]) -> list[str]:
        state_path = self.work / "days-built.json"
        try:
            done: dict[str, str] = json.loads(state_path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            done = {}
        layouts = self._layout_hash()
        built = []
        for day in sorted(closed):
            entries = sorted(closed[day], key=lambda e: e.name)
            mark = hashlib.sha256(layouts.encode() + b"".join(f"{e.name}\0{e.stat().st_size}\0{e.stat().st_mtime_ns}\n".encode() for e in entries)).hexdigest()
            if done.get(day) == mark and (self.dest / day.replace("-", "/") / "index.html").is_file():
                continue
            log.info("build day=%s posts=%d", day, len(entries))
            self._build_day(day, entries)
            done[day] = mark
            atomic.write(state_path, json.dumps(done, sort_keys=True).encode("utf-8"))
            built.append(day)
        for day in set(done) - set(closed):  # a day whose posts are all gone
            done.pop(day)
            if day not in every:
                shutil.rmtree(self.dest / day.replace("-", "/"), ignore_errors=True)
        atomic.write(state_path, json.dumps(done, sort_keys=True).encode("utf-8"))
        return built


def build(site: Path, *, jekyll: str = "jekyll", live_days: int = LIVE_DAYS, today: date | None = None) -> BuildReport:
    """``scraper build``: the site in ``site`` into ``site/_site``, under the site's build lock."""
    if not (site / "_config.yml").is_file():
        raise StoreError(f"{site}: has no _config.yml: run `scraper init {site}` first")
    with PostFiles(site).lock("build"):
        return SiteBuild(site, jekyll=jekyll, live_days=live_days, today=today).run()
