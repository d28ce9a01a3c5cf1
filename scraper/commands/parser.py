"""The command line's grammar: every command, its options, and an example in its ``--help``.

Each command's parser carries ``run`` (its name for ``cli``'s table of commands). Dates on
the command line are days of the site's zone: feeds.yaml ``timezone:`` (Asia/Taipei unless set).
"""

from __future__ import annotations

import argparse

from .. import __version__

ZONE_NOTE = "days are in the site's zone: feeds.yaml timezone:, Asia/Taipei unless set"


def _sub(sub: argparse._SubParsersAction[argparse.ArgumentParser], name: str, run: str, help_text: str, example: str, **kwargs: object) -> argparse.ArgumentParser:
    p = sub.add_parser(name, help=help_text, description=help_text, epilog=f"example:\n{example}", formatter_class=argparse.RawDescriptionHelpFormatter, **kwargs)  # type: ignore[arg-type]
    p.set_defaults(run=run)
    return p


def _shared() -> dict[str, argparse.ArgumentParser]:
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
    reports.add_argument("--metrics", metavar="FILE.prom", help="write the run's metrics to FILE.prom, node exporter's textfile format (the name must end in .prom)")
    return {"common": common, "output": with_output, "archive": archiving, "reports": reports}


def _runs(sub: argparse._SubParsersAction[argparse.ArgumentParser], s: dict[str, argparse.ArgumentParser]) -> None:
    p = _sub(
        sub,
        "fetch",
        "fetch",
        "print the post for one article of any site; writes nothing",
        "  scraper fetch https://www.cna.com.tw/news/aopl/202308230370.aspx --html saved.html",
        parents=[s["common"]],
    )
    p.add_argument("url", metavar="URL", help="the article's URL (CNA's or any other http(s) page)")
    p.add_argument("--site", metavar="NAME", help="the source's name for a page of another site (author, tags, categories), as a feed's site:")
    p.add_argument("--html", metavar="FILE", help="read the page from FILE instead of the network")
    p.add_argument("--archive", metavar="DIR", help="keep the page fetched in WARC files in DIR")

    example = "  scraper poll --config feeds.yaml --then '.venv/bin/scraper build --config feeds.yaml -q'"
    p = _sub(sub, "poll", "poll", "one cron pass: new articles from every feed", example, parents=[s["common"], s["output"], s["archive"], s["reports"]])
    p.add_argument("--dry-run", action="store_true", help="list what would be fetched or written; write nothing")
    p.add_argument("--retry-failed", action="store_true", help="give articles that were given up on a fresh set of attempts")
    p.add_argument(
        "--then",
        metavar="CMD",
        help="run the shell command CMD after a run that wrote or rewrote posts, still holding the run's lock; never after a run that changed nothing (default: feeds.yaml then:)",
    )

    example = "  scraper backfill --since 2026-11-01 --until 2026-11-07 -v"
    p = _sub(sub, "backfill", "backfill", f"write older articles of a date range ({ZONE_NOTE})", example, parents=[s["common"], s["output"], s["archive"], s["reports"]])
    p.add_argument("--since", metavar="DATE", help="first day, YYYY-MM-DD, in the site's zone")
    p.add_argument("--until", metavar="DATE", help="last day, YYYY-MM-DD, in the site's zone (default: today there)")
    p.add_argument("--urls", metavar="FILE", help="article URLs, one a line ('-' for standard input)")
    p.add_argument("--category", metavar="SLUG", action="append", help="keep only this section (e.g. aopl); repeatable")
    p.add_argument("--include-truncated", action="store_true", help="also write old articles CNA truncated (已過查詢時效)")
    p.add_argument("--max-misses", type=int, default=None, metavar="N", help="consecutive missing ids that end a day (default 40)")
    p.add_argument("--no-sitemaps", action="store_true", help="walk ids only; do not read CNA's news sitemaps")
    p.add_argument("--dry-run", action="store_true", help="list what would be fetched; write nothing")

    p = _sub(
        sub,
        "refresh",
        "refresh",
        f"render written posts again, from the archive or a new fetch ({ZONE_NOTE})",
        "  scraper refresh --since 2026-11-01 --from-archive",
        parents=[s["common"], s["output"], s["archive"]],
    )
    p.add_argument("--fallback", action="store_true", help="every post the fallback extractor wrote")
    p.add_argument("--ids", nargs="+", metavar="ID", help="these articles")
    p.add_argument("--since", metavar="DATE", help="articles of this day on, YYYY-MM-DD, in the site's zone")
    p.add_argument("--until", metavar="DATE", help="articles up to this day, YYYY-MM-DD, in the site's zone")
    p.add_argument("--from-archive", action="store_true", help="use the archived pages; make no request")
    p.add_argument("--force", action="store_true", help="also rewrite posts that were edited by hand")


def _site(sub: argparse._SubParsersAction[argparse.ArgumentParser], s: dict[str, argparse.ArgumentParser]) -> None:
    _sub(sub, "reindex", "reindex", "rebuild the state from the posts in <output>/_posts", "  scraper reindex --config feeds.yaml", parents=[s["common"], s["output"]])

    example = "  scraper status --config feeds.yaml\n  scraper status --json | jq '.feeds[] | select(.state != \"ok\")'"
    p = _sub(sub, "status", "status", "every feed's last success and next check, waiting and failed articles, paused hosts (times in the site's zone)", example, parents=[s["common"], s["output"]])
    p.add_argument("--json", action="store_true", help="the same, as JSON for monitoring (times in UTC)")

    example = "  scraper check --config feeds.yaml -q"
    p = _sub(sub, "check", "check", "read CNA's newest articles with both extractors; exit 1 when they disagree", example, parents=[s["common"]])
    p.add_argument("files", nargs="*", metavar="FILE", help="saved pages to read instead of the feeds' newest articles")
    p.add_argument("-n", type=int, default=5, metavar="N", help="how many of the newest articles (default 5)")

    example = "  scraper build --config feeds.yaml\n  scraper poll --config feeds.yaml --then '.venv/bin/scraper build --config feeds.yaml -q'"
    p = _sub(sub, "build", "build", "build the Jekyll site into <output>/_site, rendering only what changed", example, parents=[s["common"], s["output"]])
    p.add_argument("--jekyll", default="jekyll", metavar="PATH", help="the jekyll command (default: jekyll)")
    p.add_argument("--live-days", type=int, default=2, metavar="N", help="days (in the site's zone) the live site holds; older days are built once (default 2)")

    example = "  scraper init site --url https://news.example.org --baseurl /cna --title '中央社鏡像'"
    p = _sub(sub, "init", "init", "write the Jekyll site skeleton into DIR; never overwrites a file", example)
    p.add_argument("dir", metavar="DIR", help="the output folder (created if missing)")
    p.add_argument("--url", help="the site's scheme and host, for its feed and sitemap (_config.yml url)")
    p.add_argument("--baseurl", help="the path the site is served under, e.g. /news (_config.yml baseurl)")
    p.add_argument("--title", help="the site's title (_config.yml title)")
    p.set_defaults(verbose=0, quiet=False)


def _feeds(sub: argparse._SubParsersAction[argparse.ArgumentParser], s: dict[str, argparse.ArgumentParser]) -> None:
    example = "  scraper feeds list\n  scraper feeds add https://feeds.feedburner.com/rsscna/intworld --name 國際\n  scraper feeds test https://example.org/feed.xml --site Example"
    p = _sub(sub, "feeds", "feeds", "list, add, test, import and export the feeds of feeds.yaml", example)
    inner = p.add_subparsers(dest="feeds_command", required=True, metavar="SUBCOMMAND")
    _sub(inner, "list", "feeds-list", "every feed: state, last success, next check, items seen and written", "  scraper feeds list --config feeds.yaml", parents=[s["common"], s["output"]])

    example = "  scraper feeds add https://feeds.feedburner.com/rsscna/intworld --name 國際\n  scraper feeds add https://chinadigitaltimes.net/chinese/feed/ --site 中国数字时代 --content feed"
    q = _sub(inner, "add", "feeds-add", "fetch URL, check that it is a feed with items to take, then add it to feeds.yaml (comments kept)", example, parents=[s["common"]])
    q.add_argument("url", metavar="URL", help="the feed's URL (RSS or Atom)")
    for flag, text in (
        ("--name", "the feed's name in error lines (default: the feed's own title)"),
        ("--site", "the source's name, for a feed of another site than CNA (author, tags, categories)"),
        ("--content", "auto, page or feed: where each post's text comes from (see README, Adding a source)"),
    ):
        q.add_argument(flag, help=text)

    example = "  scraper feeds test https://feeds.feedburner.com/rsscna/intworld\n  scraper feeds test https://example.org/feed.xml --site Example --content auto"
    q = _sub(inner, "test", "feeds-test", "fetch URL once and show each item and what a poll would do with it; writes nothing", example, parents=[s["common"], s["output"]])
    q.add_argument("url", metavar="URL", help="the feed's URL; a feed of feeds.yaml is tested with its own settings")
    q.add_argument("--site", help="test it as a feed of another site with this name")
    q.add_argument("--content", help="auto, page or feed (with --site)")

    q = _sub(
        inner,
        "import",
        "feeds-import",
        "add the feeds of an OPML file that feeds.yaml lacks (nested outlines read; duplicates named and skipped)",
        "  scraper feeds import subscriptions.opml",
        parents=[s["common"]],
    )
    q.add_argument("file", metavar="FILE.opml", help="an OPML file, as feed readers export")

    q = _sub(
        inner, "export", "feeds-export", "write the feeds as OPML 2.0, to standard output or a file", "  scraper feeds export > feeds.opml\n  scraper feeds export -o feeds.opml", parents=[s["common"]]
    )
    q.add_argument("-o", "--output-file", metavar="FILE", help="write to FILE (replaced atomically) instead of standard output")


def build() -> argparse.ArgumentParser:
    example = "\n".join(
        (
            "  scraper init output --url https://news.example.org",
            "  scraper feeds add https://feeds.feedburner.com/rsscna/intworld --name 國際",
            "  scraper poll --then '.venv/bin/scraper build -q'",
            "  scraper status",
        )
    )
    parser = argparse.ArgumentParser(prog="scraper", description="Mirror CNA's news into a Jekyll site.", epilog=f"example:\n{example}", formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--version", action="version", version=f"scraper {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    shared = _shared()
    _runs(sub, shared)
    _site(sub, shared)
    _feeds(sub, shared)
    return parser
