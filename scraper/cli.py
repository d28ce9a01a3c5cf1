"""argv -> one library call -> exit status. Sets up logging; holds no logic of its own.

Exit statuses (documented in README):
  0  all good
  1  some items failed (an article given up on, a feed failing for several runs, a fetch that failed)
  2  bad configuration or command line
  3  another run of the same kind holds the lock for this output folder
  4  the output folder or state database cannot be used
"""

from __future__ import annotations

import argparse
import json
import logging
import signal
import sys
import time
from collections.abc import Callable, Sequence
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

from . import __version__, stopping
from .config import Config, load
from .errors import AlreadyRunning, ConfigError, ScraperError, StoreError
from .models import RunReport

if TYPE_CHECKING:  # the commands themselves are imported when they run
    from .backfill import Progress

EXIT_OK, EXIT_FAILED, EXIT_CONFIG, EXIT_LOCKED, EXIT_STORE = 0, 1, 2, 3, 4
DEFAULT_SITE = "(臺)中央社CNA"
log = logging.getLogger("scraper")


def _setup_logging(verbose: int, quiet: bool) -> None:
    level = logging.ERROR if quiet else logging.WARNING if verbose == 0 else logging.INFO if verbose == 1 else logging.DEBUG
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(levelname)s %(message)s" if verbose else "scraper: %(levelname)s: %(message)s"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    for noisy in ("httpx", "httpcore"):
        logging.getLogger(noisy).setLevel(max(level, logging.WARNING))


def _config(args: argparse.Namespace) -> Config:
    config = load(Path(args.config))
    if getattr(args, "output", None):
        config = config.with_output(Path(args.output))
    if getattr(args, "archive", None):
        config = config.with_archive(Path(args.archive))
    return config


def _summary(name: str, report: RunReport) -> None:
    log.info(
        "summary command=%s feeds=%d feeds_failed=%d written=%d failed=%d skipped=%d gave_up=%d",
        name,
        report.feeds_polled,
        report.feeds_failed,
        report.written,
        report.failed,
        report.skipped,
        len(report.gave_up),
    )


def cmd_fetch(args: argparse.Namespace) -> int:
    from .commands import fetch_post
    from .urls import host_of

    site, http, archive, sites = DEFAULT_SITE, None, Path(args.archive) if args.archive else None, {}
    if Path(args.config).exists():
        config = _config(args)
        site, http, archive = config.site, config.http, config.archive
        sites = {host_of(f.url): f.site for f in config.feeds if f.site}  # a feed's own site names its host's pages
    html = Path(args.html) if args.html else None
    sys.stdout.write(fetch_post(args.url, html=html, site=site, http_config=http, archive=archive, own_site=args.site, sites=sites))
    sys.stdout.flush()
    return EXIT_OK


def _status_for(exc: BaseException) -> int:
    """The exit status ``main`` gives a run that ended with ``exc``."""
    if isinstance(exc, KeyboardInterrupt):
        return stopping.exit_status() or 130
    if isinstance(exc, BrokenPipeError):
        return EXIT_OK
    return EXIT_CONFIG if isinstance(exc, ConfigError) else EXIT_STORE if isinstance(exc, StoreError) else EXIT_FAILED


def _write_reports(args: argparse.Namespace, name: str, report: RunReport, code: int) -> int:
    """``--summary`` and ``--metrics``. A file that cannot be written is one line and
    exit status 1 at least; what the run did stands."""
    from .report import write_metrics, write_summary

    for path, write in ((args.summary, write_summary), (args.metrics, write_metrics)):
        if path:
            try:
                write(Path(path), name, report, code)
            except ScraperError as exc:
                print(f"scraper: {exc}", file=sys.stderr)
                code = code or EXIT_FAILED
    return code


def _reported(args: argparse.Namespace, name: str, run: Callable[[RunReport], None]) -> int:
    """Time ``run``, log its summary line, write its report files, return its exit status.

    A run that ends with an error still writes them, with the status ``main`` will
    exit with; one that found the lock taken does not: they belong to the run holding it.
    """
    report = RunReport(started=time.time())
    try:
        run(report)
    except AlreadyRunning:
        raise
    except BaseException as exc:
        report.finished = time.time()
        _write_reports(args, name, report, _status_for(exc))
        raise
    report.finished = time.time()
    _summary(name, report)
    return _write_reports(args, name, report, stopping.exit_status() or (EXIT_OK if report.ok else EXIT_FAILED))


def cmd_poll(args: argparse.Namespace) -> int:
    from .poll import poll

    def run(report: RunReport) -> None:
        # A person at a terminal hears at once that no feed answers; cron only after report_after runs.
        poll(_config(args), dry_run=args.dry_run, retry_failed=args.retry_failed, interactive=sys.stderr.isatty(), report=report)

    return _reported(args, "poll", run)


def cmd_reindex(args: argparse.Namespace) -> int:
    from .commands import rebuild

    recorded, unknown = rebuild(_config(args))
    for path in unknown:
        log.warning("reindex: %s names no article in its from: line; left alone", path)
    print(f"recorded {recorded} posts")
    return EXIT_OK


def _days(args: argparse.Namespace) -> tuple[date | None, date | None]:
    """``--since`` and ``--until`` as days; a malformed one is a ConfigError naming the option."""
    from .backfill import parse_day

    try:
        since = parse_day(args.since, "--since") if args.since else None
        until = parse_day(args.until, "--until") if args.until else None
    except ValueError as exc:
        raise ConfigError(str(exc)) from None
    return since, until


def cmd_backfill(args: argparse.Namespace) -> int:
    from .backfill import backfill

    since, until = _days(args)

    def run(report: RunReport) -> None:
        backfill(
            _config(args),
            since=since,
            until=until,
            urls=args.urls,
            categories=tuple(args.category or ()),
            include_truncated=args.include_truncated,
            dry_run=args.dry_run,
            max_misses=args.max_misses,
            use_sitemaps=not args.no_sitemaps,
            progress=progress_display(sys.stderr),
            report=report,
        )
        if sys.stderr.isatty():
            print(file=sys.stderr)

    return _reported(args, "backfill", run)


def cmd_refresh(args: argparse.Namespace) -> int:
    from .refresh import refresh

    since, until = _days(args)
    done = refresh(_config(args), ids=args.ids, since=since, until=until, fallback=args.fallback, from_archive=args.from_archive, force=args.force)
    for line in done.left_alone:
        log.warning("refresh: left alone: %s", line)
    for line in done.failed:
        log.error("refresh failed: %s", line)
    print(f"refreshed {len(done.rewritten)}, unchanged {len(done.unchanged)}, left alone {len(done.left_alone)}, failed {len(done.failed)}, from their feed's text {len(done.from_feed)}")
    return EXIT_OK if done.ok else EXIT_FAILED


def cmd_status(args: argparse.Namespace) -> int:
    from .commands import status, status_data

    if args.json:
        print(json.dumps(status_data(_config(args), time.time()), ensure_ascii=False, indent=2))
        return EXIT_OK
    for line in status(_config(args)):
        print(line)
    return EXIT_OK


def progress_display(stream: TextIO) -> Callable[[Progress, RunReport], None]:
    """A one-line progress bar on a terminal; under cron an INFO line every 30 s (``-v``)."""
    last = [time.time()]
    tty = stream.isatty()

    def show(p: Progress, r: RunReport) -> None:
        now = time.time()
        eta = p.eta(now)
        eta_text = f"{eta / 60:.0f} min left" if eta is not None else "estimating"
        line = f"{p.unit} {p.done_units}/{p.total_units} | fetched {p.fetched} | written {r.written} | failed {r.failed} | {eta_text}"
        if tty:
            width = 20
            filled = int(width * p.done_units / p.total_units) if p.total_units else width
            print(f"\r[{'#' * filled}{'.' * (width - filled)}] {line}   ", end="", file=stream, flush=True)
        elif now - last[0] >= 30:
            last[0] = now
            log.info("progress %s", line.replace(" | ", " "))

    return show


def cmd_check(args: argparse.Namespace) -> int:
    from .check import check

    files = [Path(f) for f in args.files]
    config = None if files and not Path(args.config).exists() else _config(args)

    def out(line: str) -> None:
        if stopping.REASON not in line:  # a page abandoned for a stop is no finding; main says it
            print(line)

    return EXIT_OK if check(config, files=files, count=args.n, tables=not args.quiet, out=out) else EXIT_FAILED


def cmd_init(args: argparse.Namespace) -> int:
    from .skeleton import describe, init

    for line in describe(init(Path(args.dir))):
        print(line)
    return EXIT_OK


def _refresh_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser], parents: list[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("refresh", parents=parents, help="render written posts again, from the archive or a new fetch")
    p.add_argument("--fallback", action="store_true", help="every post the fallback extractor wrote")
    p.add_argument("--ids", nargs="+", metavar="ID", help="these articles")
    p.add_argument("--since", metavar="DATE", help="articles of this day on, YYYY-MM-DD (UTC)")
    p.add_argument("--until", metavar="DATE", help="articles up to this day, YYYY-MM-DD (UTC)")
    p.add_argument("--from-archive", action="store_true", help="use the archived pages; make no request")
    p.add_argument("--force", action="store_true", help="also rewrite posts that were edited by hand")
    p.set_defaults(func=cmd_refresh)


def build_parser() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--config", default="feeds.yaml", metavar="PATH", help="the feeds file (default: ./feeds.yaml)")
    common.add_argument("-v", "--verbose", action="count", default=0, help="log each article and a summary (-vv: debug)")
    common.add_argument("-q", "--quiet", action="store_true", help="errors only")
    with_output = argparse.ArgumentParser(add_help=False)
    with_output.add_argument("--output", metavar="DIR", help="the Jekyll site (default: the feeds file's output)")
    archiving = argparse.ArgumentParser(add_help=False)
    archiving.add_argument("--archive", metavar="DIR", help="keep every page and feed fetched in WARC files in DIR (default: the feeds file's archive)")
    reports = argparse.ArgumentParser(add_help=False)
    reports.add_argument("--summary", metavar="FILE", help="write a JSON summary of the run to FILE (replaced atomically)")
    reports.add_argument("--metrics", metavar="FILE", help="write the run's metrics to FILE, in node exporter's textfile format (*.prom)")

    parser = argparse.ArgumentParser(prog="scraper", description="Mirror CNA's news into a Jekyll site.")
    parser.add_argument("--version", action="version", version=f"scraper {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = sub.add_parser("fetch", parents=[common], help="print the post for one article of any site; writes nothing")
    p.add_argument("url", metavar="URL", help="the article's URL (CNA's or any other http(s) page)")
    p.add_argument("--site", metavar="NAME", help="the source's name for a page of another site (author, tags, categories), as a feed's site:")
    p.add_argument("--html", metavar="FILE", help="read the page from FILE instead of the network")
    p.add_argument("--archive", metavar="DIR", help="keep the page fetched in WARC files in DIR")
    p.set_defaults(func=cmd_fetch)

    p = sub.add_parser("poll", parents=[common, with_output, archiving, reports], help="one cron pass: new articles from every feed")
    p.add_argument("--dry-run", action="store_true", help="list what would be written; write nothing")
    p.add_argument("--retry-failed", action="store_true", help="give articles that were given up on a fresh set of attempts")
    p.set_defaults(func=cmd_poll)

    p = sub.add_parser("backfill", parents=[common, with_output, archiving, reports], help="write older articles of a date range")
    p.add_argument("--since", metavar="DATE", help="first day, YYYY-MM-DD (Asia/Taipei)")
    p.add_argument("--until", metavar="DATE", help="last day, YYYY-MM-DD (default: today)")
    p.add_argument("--urls", metavar="FILE", help="article URLs, one a line ('-' for standard input)")
    p.add_argument("--category", metavar="SLUG", action="append", help="keep only this section (e.g. aopl); repeatable")
    p.add_argument("--include-truncated", action="store_true", help="also write old articles CNA truncated (已過查詢時效)")
    p.add_argument("--max-misses", type=int, default=None, metavar="N", help="consecutive missing ids that end a day (default 40)")
    p.add_argument("--no-sitemaps", action="store_true", help="walk ids only; do not read CNA's news sitemaps")
    p.add_argument("--dry-run", action="store_true", help="list what would be fetched; write nothing")
    p.set_defaults(func=cmd_backfill)

    _refresh_parser(sub, [common, with_output, archiving])

    p = sub.add_parser("reindex", parents=[common, with_output], help="rebuild the state from the posts in <output>/_posts")
    p.set_defaults(func=cmd_reindex)

    p = sub.add_parser("status", parents=[common, with_output], help="what the state holds: articles by status, feeds")
    p.add_argument("--json", action="store_true", help="the same, as JSON for monitoring")
    p.set_defaults(func=cmd_status)

    p = sub.add_parser("check", parents=[common], help="read CNA's newest articles with both extractors; exit 1 when they disagree")
    p.add_argument("files", nargs="*", metavar="FILE", help="saved pages to read instead of the feeds' newest articles")
    p.add_argument("-n", type=int, default=5, metavar="N", help="how many of the newest articles (default 5)")
    p.set_defaults(func=cmd_check)

    p = sub.add_parser("init", help="write the Jekyll site skeleton into DIR; never overwrites a file")
    p.add_argument("dir", metavar="DIR", help="the output folder (created if missing)")
    p.set_defaults(func=cmd_init, verbose=0, quiet=False)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    _setup_logging(args.verbose, args.quiet)
    with stopping.handling():  # SIGINT and SIGTERM: every phase of every command
        try:
            code = _dispatch(args)
        except KeyboardInterrupt:  # a second signal, or Ctrl-C before any handler
            print("scraper: interrupted", file=sys.stderr)
            return stopping.exit_status() or 130
    stopped = stopping.exit_status()
    if stopped is not None and code in (EXIT_OK, EXIT_FAILED, stopped):
        name = signal.Signals(stopped - 128).name
        print(f"scraper: stopped by {name} after the articles in flight; the rest is left for the next run", file=sys.stderr)
        return stopped
    return code


def _dispatch(args: argparse.Namespace) -> int:
    try:
        code: int = args.func(args)
        return code
    except ConfigError as exc:
        print(f"scraper: {exc}", file=sys.stderr)
        return EXIT_CONFIG
    except AlreadyRunning as exc:
        print(f"scraper: {exc}", file=sys.stderr)
        return EXIT_LOCKED
    except StoreError as exc:
        print(f"scraper: {exc}", file=sys.stderr)
        return EXIT_STORE
    except stopping.Stopped:
        return EXIT_FAILED  # the request was abandoned for the stop, which main says
    except ScraperError as exc:
        print(f"scraper: {exc}", file=sys.stderr)
        return EXIT_FAILED
    except BrokenPipeError:
        return EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
