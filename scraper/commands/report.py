"""A run's report as files for monitoring: the summary (JSON) and the metrics (the
node-exporter textfile format).

Each file is replaced whole or not at all: written beside its final name, then renamed
over it, so a reader never sees half a file. A file that cannot be written is a
ScraperError naming it; the run's work stands all the same.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from prometheus_client import CollectorRegistry, write_to_textfile
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from .. import atomic
from ..errors import ConfigError, ScraperError
from ..models import RunReport
from ..outcomes import EXIT_MEANINGS
from ..schedule import iso

SUMMARY_VERSION = 1
EXIT_DOC = ", ".join(f"{int(code)} {meaning.split(' (')[0]}" for code, meaning in EXIT_MEANINGS.items())


def summary(command: str, report: RunReport, exit_status: int) -> dict[str, Any]:
    """The run as plain values (the ``--summary`` file)."""
    return {
        "version": SUMMARY_VERSION,
        "command": command,
        "started": iso(report.started),
        "finished": iso(report.finished),
        "duration_seconds": round(max(0.0, report.finished - report.started), 3),
        "exit_status": exit_status,
        "feeds": {"polled": report.feeds_polled, "unchanged": report.unchanged, "failed": report.feeds_failed},
        "articles": {
            "written": report.written,
            "skipped": report.skipped,
            "failed": report.failed,
            "given_up": len(report.gave_up),
            "deferred": report.deferred,
            "fallback": report.fallback,
        },
        "hosts": {host: {"requests": n, "bytes": size} for host, (n, size) in sorted(report.per_host.items())},
        "then_exit_status": report.then_status,  # poll --then: None when it did not run
        "errors": list(report.errors),
        "given_up": list(report.gave_up),
        "state_articles": dict(sorted(report.state_counts.items())),
    }


def check_metrics_name(path: Path) -> None:
    """node exporter's textfile collector reads ``*.prom`` files only: another name would be
    written and never read, so it is refused before the run starts."""
    if path.suffix != ".prom":
        raise ConfigError(f"--metrics {path}: the name must end in .prom (node exporter's textfile collector reads no other file)")


def _replaceable(path: Path, what: str) -> None:
    """Only a regular file (or nothing) is replaced: never a device, a folder or a link."""
    if path.is_symlink() or (path.exists() and not path.is_file()):
        raise ScraperError(f"{path}: cannot write the {what}: not a regular file (a link, a folder or a device is left alone)")


def write_summary(path: Path, command: str, report: RunReport, exit_status: int) -> None:
    """Write the summary to ``path`` atomically: a temporary file in the same folder,
    fsync, rename over ``path``, fsync of the folder."""
    _replaceable(path, "run summary")
    data = (json.dumps(summary(command, report, exit_status), ensure_ascii=False, indent=2) + "\n").encode("utf-8")
    try:
        atomic.write(path, data)
    except OSError as exc:
        raise ScraperError(f"{path}: cannot write the run summary: {exc.strerror or exc}") from exc


COUNTER_DOCS = {
    "articles_written": "Articles written as posts, across runs",
    "articles_skipped": "Articles skipped for good (truncated, not an article, off-site), across runs",
    "articles_failed": "Failed fetches of articles (retried on later runs), across runs",
    "articles_given_up": "Articles given up on (failed max_attempts times), across runs",
    "articles_deferred": "Articles put off because their host asked us to wait, across runs",
    "articles_fallback": "Articles written from a fallback extractor's text, across runs",
    "feeds_polled": "Feed requests, across runs",
    "feeds_unchanged": "Feed requests answered 304 Not Modified, across runs",
    "feeds_failed": "Feed requests that failed, across runs",
    "runs": "Runs that recorded their figures in the state",
}


class _Snapshot(Collector):
    """The figures of one run; the textfile collector serves them until the next run."""

    def __init__(self, command: str, report: RunReport, exit_status: int) -> None:
        self.command = command
        self.report = report
        self.exit_status = exit_status

    def collect(self) -> Iterator[Metric]:
        yield from self._counters()
        yield from self._gauges()

    def _counters(self) -> Iterator[Metric]:
        """The totals across runs, from the state: counters that only grow (``_total``)."""
        totals, command = self.report.totals, [self.command]
        for name, doc in COUNTER_DOCS.items():
            family = CounterMetricFamily(f"scraper_{name}", doc, labels=["command"])
            family.add_metric(command, totals.get((name, ""), 0.0))
            yield family
        for name, doc in (("requests", "HTTP requests sent, by host, across runs"), ("bytes_read", "Response body bytes read (as sent, before decoding), by host, across runs")):
            family = CounterMetricFamily(f"scraper_{name}", doc, labels=["command", "host"])
            for (kind, host), value in sorted(totals.items()):
                if kind == name:
                    family.add_metric([*command, host], value)
            yield family

    def _gauges(self) -> Iterator[Metric]:
        """The last run's own figures: gauges, no ``_total``."""
        r, labels, values = self.report, ["command"], [self.command]
        last_run: tuple[tuple[str, str, float], ...] = (
            ("last_run_articles_written", "Articles written as posts in the last run", r.written),
            ("last_run_articles_rewritten", "Written posts rendered again in the last run (updates: rewrite)", r.rewritten),
            ("last_run_articles_skipped", "Articles skipped for good in the last run (truncated, not an article, off-site)", r.skipped),
            ("last_run_articles_failed", "Articles that failed in the last run (retried on later runs)", r.failed),
            ("last_run_articles_given_up", "Articles given up on in the last run (failed max_attempts times)", len(r.gave_up)),
            ("last_run_articles_deferred", "Articles put off in the last run because their host asked us to wait", r.deferred),
            ("last_run_articles_fallback", "Articles written from a fallback extractor's text in the last run", r.fallback),
            ("last_run_feeds_polled", "Feeds requested in the last run", r.feeds_polled),
            ("last_run_feeds_unchanged", "Feeds that answered 304 Not Modified in the last run", r.unchanged),
            ("last_run_feeds_failed", "Feeds that failed in the last run", r.feeds_failed),
            ("last_run_timestamp_seconds", "When the last run ended, in seconds since the epoch", r.finished),
            ("last_run_duration_seconds", "How long the last run took", max(0.0, r.finished - r.started)),
            ("last_run_exit_status", f"The last run's exit status ({EXIT_DOC})", self.exit_status),
        )
        for name, doc, reading in last_run:
            gauge = GaugeMetricFamily(f"scraper_{name}", doc, labels=labels)
            gauge.add_metric(values, reading)
            yield gauge
        articles = GaugeMetricFamily("scraper_articles", "Articles in the state after the last run, by status", labels=[*labels, "status"])
        for status, n in sorted(r.state_counts.items()):
            articles.add_metric([*values, status], n)
        yield articles


def metrics_registry(command: str, report: RunReport, exit_status: int) -> CollectorRegistry:
    """A registry of its own holding the run's figures (never the process-wide one)."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(_Snapshot(command, report, exit_status))
    return registry


def write_metrics(path: Path, command: str, report: RunReport, exit_status: int) -> None:
    """Write the metrics to ``path`` in the textfile format (node exporter reads ``*.prom``)."""
    check_metrics_name(path)
    _replaceable(path, "metrics")
    try:
        write_to_textfile(str(path), metrics_registry(command, report, exit_status))
    except OSError as exc:
        raise ScraperError(f"{path}: cannot write the metrics: {exc.strerror or exc}") from exc
