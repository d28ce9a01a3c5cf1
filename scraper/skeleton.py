"""The Jekyll site skeleton that ships with the package, and ``scraper init`` that writes it.

The files live in ``scraper/jekyll_site/`` (package data), so an installed ``scraper``
has them; the repository's ``output/`` is a copy of them (a test keeps the two equal).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from importlib.resources import files
from importlib.resources.abc import Traversable
from pathlib import Path, PurePosixPath

from .errors import ConfigError, StoreError

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


def init(output: Path) -> InitReport:
    """Write the skeleton into ``output``, creating it if needed; never overwrite a file.

    A folder given as a file is a ConfigError (a bad argument); a folder that cannot be
    written is a StoreError.
    """
    if output.exists() and not output.is_dir():
        raise ConfigError(f"{output}: is a file, not a folder")
    written: list[Path] = []
    kept: list[Path] = []
    for rel, data in skeleton_files().items():
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
