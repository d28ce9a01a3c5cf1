"""argv -> one library call -> exit status. Sets up logging; holds no logic of its own.

Exit statuses (documented in README; the table is ``outcomes.EXITS``):
  0    all good
  1    some items failed (an article given up on, a feed failing for several runs, a fetch that failed)
  2    bad configuration or command line
  3    another run of the same kind holds the lock for this output folder
  4    the output folder or state database cannot be used
  130  stopped by SIGINT (Ctrl-C) after the articles in flight
  143  stopped by SIGTERM after the articles in flight
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

from . import stopping
from .config import Config, load
from .errors import AlreadyRunning, ConfigError, ScraperError, StoreError
from .models import RunReport
from .outcomes import Exit, exit_for

EXIT_OK, EXIT_FAILED = int(Exit.OK), int(Exit.FAILED)
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
    from .commands.commands import fetch_post
    from .config import FeedConfig
    from .net.urls import host_of

    site, http, archive, sites = DEFAULT_SITE, None, Path(args.archive) if args.archive else None, {}
    feeds: tuple[FeedConfig, ...] = ()
    if Path(args.config).exists():
        config = _config(args)
        site, http, archive, feeds = config.site, config.http, config.archive, config.feeds
        sites = {host_of(f.url): f.site for f in config.feeds if f.site}  # a feed's own site names its host's pages
    html = Path(args.html) if args.html else None
    sys.stdout.write(fetch_post(args.url, html=html, site=site, http_config=http, archive=archive, own_site=args.site, sites=sites, feeds=feeds))
    sys.stdout.flush()
    return EXIT_OK


def _write_reports(args: argparse.Namespace, name: str, report: RunReport, code: int) -> int:
    """``--summary`` and ``--metrics``. A file that cannot be written is one line and
    exit status 1 at least; what the run did stands."""
    from .commands.report import write_metrics, write_summary

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
    if args.metrics:
        from .commands.report import check_metrics_name

        check_metrics_name(Path(args.metrics))  # before the run: a name node exporter ignores is a mistake
    report = RunReport(started=time.time())
    try:
        run(report)
    except AlreadyRunning:
        raise
    except BaseException as exc:
        report.finished = time.time()
        _write_reports(args, name, report, exit_for(exc, stopping.exit_status()))
        raise
    report.finished = time.time()
    _summary(name, report)
    return _write_reports(args, name, report, stopping.exit_status() or (EXIT_OK if report.ok else EXIT_FAILED))


def cmd_poll(args: argparse.Namespace) -> int:
    from .commands.poll import poll

    def run(report: RunReport) -> None:
        # A person at a terminal hears at once that no feed answers; cron only after report_after runs.
        poll(_config(args), dry_run=args.dry_run, retry_failed=args.retry_failed, interactive=sys.stderr.isatty(), report=report, then=args.then)

    return _reported(args, "poll", run)


def cmd_reindex(args: argparse.Namespace) -> int:
    from .commands.commands import rebuild

    recorded, unknown = rebuild(_config(args))
    for path in unknown:
        log.warning("reindex: %s names no article in its from: line; left alone", path)
    print(f"recorded {recorded} posts")
    return EXIT_OK


def _days(args: argparse.Namespace) -> tuple[date | None, date | None]:
    """``--since`` and ``--until`` as days (of the site's zone, as the commands read them); a
    malformed one is a ConfigError naming the option."""
    from .commands.backfill import parse_day

    try:
        since = parse_day(args.since, "--since") if args.since else None
        until = parse_day(args.until, "--until") if args.until else None
    except ValueError as exc:
        raise ConfigError(str(exc)) from None
    return since, until


def cmd_backfill(args: argparse.Namespace) -> int:
    from .commands.backfill import backfill
    from .commands.progress import Display

    since, until = _days(args)
    display = Display(sys.stderr)

    def run(report: RunReport) -> None:
        with display.session("backfill", report):
            _backfill(report)

    def _backfill(report: RunReport) -> None:
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
            progress=display,
            report=report,
        )

    return _reported(args, "backfill", run)


def cmd_refresh(args: argparse.Namespace) -> int:
    from .commands.refresh import refresh

    since, until = _days(args)
    done = refresh(_config(args), ids=args.ids, since=since, until=until, fallback=args.fallback, from_archive=args.from_archive, force=args.force)
    for line in done.left_alone:
        log.warning("refresh: left alone: %s", line)
    for line in done.failed:
        log.error("refresh failed: %s", line)
    print(f"refreshed {len(done.rewritten)}, unchanged {len(done.unchanged)}, left alone {len(done.left_alone)}, failed {len(done.failed)}, from their feed's text {len(done.from_feed)}")
    return EXIT_OK if done.ok else EXIT_FAILED


def cmd_status(args: argparse.Namespace) -> int:
    from .commands.commands import status, status_data

    if args.json:
        print(json.dumps(status_data(_config(args), time.time()), ensure_ascii=False, indent=2))
        return EXIT_OK
    for line in status(_config(args)):
        print(line)
    return EXIT_OK


def cmd_check(args: argparse.Namespace) -> int:
    from .commands.check import check

    files = [Path(f) for f in args.files]
    config = None if files and not Path(args.config).exists() else _config(args)

    def out(line: str) -> None:
        if stopping.REASON not in line:  # a page abandoned for a stop is no finding; main says it
            print(line)

    return EXIT_OK if check(config, files=files, count=args.n, tables=not args.quiet, out=out) else EXIT_FAILED


def cmd_build(args: argparse.Namespace) -> int:
    from .site.sitebuild import build

    site = Path(args.output) if args.output else _config(args).output
    if args.live_days < 1:
        raise ConfigError(f"--live-days: must be 1 or more, not {args.live_days}")
    report = build(site, jekyll=args.jekyll, live_days=args.live_days)
    log.info("built live posts=%d days_built=%d days_kept=%d", report.live_posts, len(report.days_built), report.days_kept)
    return EXIT_OK


def cmd_init(args: argparse.Namespace) -> int:
    from .site.skeleton import configure, describe, init, site_settings

    settings = site_settings(args.url, args.baseurl, args.title)
    report = init(Path(args.dir), settings)
    for line in describe(report):
        print(line)
    if settings and Path(args.dir) / "_config.yml" in report.kept:
        print(f"set {', '.join(settings)} in {configure(Path(args.dir), settings)}")
    return EXIT_OK


def cmd_feeds(args: argparse.Namespace) -> int:
    from .commands import feedcmd

    command = args.run
    if command == "feeds-test":
        config = _config(args) if Path(args.config).exists() else None
        lines = feedcmd.test(config, args.url, site=args.site, content=args.content)
    elif command == "feeds-list":
        lines = feedcmd.listing(_config(args), time.time())
    elif command == "feeds-add":
        config = _config(args) if Path(args.config).exists() else None  # none yet: add writes a new one
        lines = feedcmd.add(config, Path(args.config), args.url, name=args.name, site=args.site, content=args.content)
    elif command == "feeds-import":
        lines = feedcmd.import_opml(_config(args), Path(args.file))
    else:
        return _export(args, feedcmd.export_opml(_config(args), time.time()))
    for line in lines:
        print(line)
    return EXIT_OK


def _export(args: argparse.Namespace, data: bytes) -> int:
    from .atomic import write

    if not args.output_file or args.output_file == "-":
        sys.stdout.buffer.write(data)
        sys.stdout.flush()
        return EXIT_OK
    try:
        write(Path(args.output_file), data)
    except OSError as exc:
        raise StoreError(f"{args.output_file}: cannot write: {exc.strerror or exc}") from exc
    return EXIT_OK


COMMANDS: dict[str, Callable[[argparse.Namespace], int]] = {
    "fetch": cmd_fetch,
    "poll": cmd_poll,
    "backfill": cmd_backfill,
    "refresh": cmd_refresh,
    "reindex": cmd_reindex,
    "status": cmd_status,
    "check": cmd_check,
    "init": cmd_init,
    "build": cmd_build,
}


def build_parser() -> argparse.ArgumentParser:
    from .commands.parser import build

    return build()


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    _setup_logging(args.verbose, args.quiet)
    with stopping.handling():  # SIGINT and SIGTERM: every phase of every command
        try:
            code = _dispatch(args)
        except KeyboardInterrupt:  # a second signal, or Ctrl-C before any handler
            print("scraper: interrupted", file=sys.stderr)
            return exit_for(KeyboardInterrupt(), stopping.exit_status())
    stopped = stopping.exit_status()
    if stopped is not None and code in (EXIT_OK, EXIT_FAILED, stopped):
        name = signal.Signals(stopped - 128).name
        print(f"scraper: stopped by {name} after the articles in flight; the rest is left for the next run", file=sys.stderr)
        return stopped
    return code


def _dispatch(args: argparse.Namespace) -> int:
    try:
        code: int = COMMANDS.get(args.run, cmd_feeds)(args)
        return code
    except stopping.Stopped as exc:
        return exit_for(exc)  # the request was abandoned for the stop, which main says
    except ScraperError as exc:
        print(f"scraper: {exc}", file=sys.stderr)
        return exit_for(exc)
    except BrokenPipeError as exc:
        return exit_for(exc)


if __name__ == "__main__":
    sys.exit(main())
