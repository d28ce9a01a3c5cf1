"""The Jekyll site skeleton that ships with the package, and ``scraper init`` that writes it.

The files live in ``scraper/jekyll_site/`` (package data), so an installed ``scraper``
has them; the repository's ``output/`` is a copy of them (a test keeps the two equal).
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Iterator
from dataclasses import dataclass
from importlib.resources import files
from importlib.resources.abc import Traversable
from pathlib import Path, PurePosixPath

import yaml

from ..errors import ConfigError, StoreError
from ..net.urls import split

log = logging.getLogger(__name__)

SKELETON = "jekyll_site"
CONFIG = "_config.yml"


@dataclass(frozen=True)
class InitReport:
    written: tuple[Path, ...]
    kept: tuple[Path, ...]  # existed already; left alone


def skeleton_files() -> dict[PurePosixPath, bytes]:
    """Every file of the skeleton: path relative to the site -> bytes."""
    return dict(_walk(files(__package__) / SKELETON, PurePosixPath()))


def _walk(folder: Traversable, rel: PurePosixPath) -> Iterator[tuple[PurePosixPath, bytes]]:
    for entry in sorted(folder.iterdir(), key=lambda e: e.name):
        if entry.name == "__pycache__":
            continue
        if entry.is_dir():
            yield from _walk(entry, rel / entry.name)
        else:
            yield rel / entry.name, entry.read_bytes()


def missing(output: Path) -> bool:
    """True when ``output`` holds no Jekyll site yet (no ``_config.yml``): run ``scraper init``."""
    return not (output / CONFIG).is_file()


def site_settings(url: str | None, baseurl: str | None, title: str | None) -> dict[str, str]:
    """``init``'s ``--url``, ``--baseurl`` and ``--title``, checked: the url is scheme and host
    only, the baseurl a path starting with ``/`` (or empty)."""
    out: dict[str, str] = {}
    if url is not None:
        parts = split(url)
        if parts is None or parts.scheme not in ("http", "https") or not parts.hostname or parts.path not in ("", "/") or parts.query:
            raise ConfigError(f"--url {url!r}: expected scheme and host only, e.g. https://news.example.org (a path goes in --baseurl)")
        out["url"] = url.rstrip("/")
    if baseurl is not None:
        if baseurl and (not baseurl.startswith("/") or baseurl.endswith("/") or any(c.isspace() for c in baseurl)):
            raise ConfigError(f"--baseurl {baseurl!r}: expected a path such as /news (leading slash, none at the end), or empty")
        out["baseurl"] = baseurl
    if title is not None:
        if not title.strip() or "\n" in title:
            raise ConfigError("--title: expected one line of text")
        out["title"] = title.strip()
    return out


def _configured(data: bytes, settings: dict[str, str]) -> bytes:
    """A _config.yml with ``settings`` on their own lines (JSON strings are YAML): a top-level
    line of the key is replaced, else the line is added at the end; the rest stays."""
    text = data.decode("utf-8")
    for key, value in settings.items():
        line = f"{key}: {json.dumps(value, ensure_ascii=False)}"
        text, found = re.subn(rf"(?m)^{key}:(?: .*)?$", line.replace("\\", "\\\\"), text, count=1)
        if not found:
            text = f"{text.rstrip(chr(10))}\n{line}\n"
    return text.encode("utf-8")


def configure(output: Path, settings: dict[str, str]) -> Path:
    """Set ``settings`` (url, baseurl, title) in the site's existing _config.yml, keeping its
    other lines and comments; written whole or not at all."""
    from .. import atomic

    target = output / CONFIG
    try:
        data = _configured(target.read_bytes(), settings)
        yaml.safe_load(data)  # still YAML: what Jekyll will read
        atomic.write(target, data)
    except (OSError, UnicodeDecodeError) as exc:
        raise StoreError(f"{target}: cannot update: {getattr(exc, 'strerror', None) or exc}") from None
    except yaml.YAMLError as exc:
        raise ConfigError(f"{target}: not valid YAML after setting {', '.join(settings)}: {exc}") from None
    return target


def site_url(output: Path) -> str | None:
    """The ``url`` of the site's _config.yml; None when there is no readable _config.yml."""
    try:
        data = yaml.safe_load((output / CONFIG).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError):
        return None
    return str(data.get("url") or "") if isinstance(data, dict) else None


def warn_no_url(output: Path) -> None:
    """Said while the site's ``url`` is empty (by poll at most once a day, by check each run):
    its feed, sitemap and robots.txt would hold paths without a host."""
    if site_url(output) == "":
        log.warning(
            "%s: url is empty, so the site's feed.xml, sitemap.xml and robots.txt name no host: set it with `scraper init --url https://news.example.org %s` (or by hand)",
            output / CONFIG,
            output,
        )


def init(output: Path, settings: dict[str, str] | None = None) -> InitReport:
    """Write the skeleton into ``output``, creating it if needed; never overwrite a file.
    ``settings`` (url, baseurl, title) go into the _config.yml it writes.

    A folder given as a file is a ConfigError (a bad argument); a folder that cannot be
    written is a StoreError.
    """
    if output.exists() and not output.is_dir():
        raise ConfigError(f"{output}: is a file, not a folder")
    written: list[Path] = []
    kept: list[Path] = []
    for rel, data in skeleton_files().items():
        if rel == PurePosixPath(CONFIG) and settings:
            data = _configured(data, settings)
        target = output.joinpath(*rel.parts)
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
        except FileExistsError:
            raise StoreError(f"{target.parent}: is in the way (a file where a folder belongs)") from None
        except OSError as exc:
            raise StoreError(f"{exc.filename or target.parent}: cannot create: {exc.strerror or exc}") from None
        try:
            # "x": create only, so a file that appears meanwhile is not overwritten either.
            fh = open(target, "xb")  # noqa: SIM115 - closed below, after a partial write is undone
        except FileExistsError:
            if not target.is_file():
                raise StoreError(f"{target}: is in the way (not a file)") from None
            kept.append(target)
            continue
        except OSError as exc:
            raise StoreError(f"{target}: cannot write: {exc.strerror or exc}") from None
        try:
            with fh:
                fh.write(data)
        except OSError as exc:
            target.unlink(missing_ok=True)  # a half-written file would be "kept" by the next init
            raise StoreError(f"{target}: cannot write: {exc.strerror or exc}") from None
        written.append(target)
    return InitReport(written=tuple(written), kept=tuple(kept))


def describe(report: InitReport) -> Iterator[str]:
    """One line per file: what init wrote and what it left alone."""
    for path in report.written:
        yield f"wrote {path}"
    for path in report.kept:
        yield f"kept {path} (exists; left alone)"
