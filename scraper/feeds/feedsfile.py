"""feeds.yaml edited in place (``scraper feeds add`` and ``import``): entries are appended to
``feeds:`` by ruamel.yaml's round-trip mode, so the file keeps its comments, key order and
layout; the new text is checked as ``config.parse`` reads it before it replaces the file,
atomically. PyYAML (which ``config`` reads with) would drop every comment."""

from __future__ import annotations

import io
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.error import YAMLError

from .. import atomic
from ..config import Config, parse
from ..errors import ConfigError, StoreError


def _yaml() -> YAML:
    yaml = YAML(typ="rt")
    yaml.width = 4096  # a long URL stays on its line
    yaml.indent(mapping=2, sequence=4, offset=2)
    yaml.preserve_quotes = True
    return yaml


# A new feeds.yaml (``scraper feeds add`` where there is none yet): the defaults, said.
NEW_FILE = """# What `scraper poll` reads; see README, "feeds.yaml". Paths are relative to this file.
site: (臺)中央社CNA          # author, tags and categories of every CNA post
output: output              # the Jekyll site (`scraper init output`); posts go to <output>/_posts
timezone: Asia/Taipei       # the zone of every date on the command line
feeds: []
"""


def append(path: Path, entries: Sequence[dict[str, str]]) -> Config:
    """Append ``entries`` (name, url and any feed keys) to the feeds of ``path`` (a new file
    with the defaults when there is none); returns the configuration as it reads afterwards.
    Nothing is written when any entry is refused."""
    try:
        text = path.read_text(encoding="utf-8") if path.exists() else NEW_FILE
    except OSError as exc:
        raise ConfigError(f"{path}: cannot be read: {exc.strerror}") from exc
    yaml = _yaml()
    try:
        data: Any = yaml.load(text)
    except YAMLError as exc:
        raise ConfigError(f"{path}: not valid YAML: {exc}") from None
    if not isinstance(data, CommentedMap) or not isinstance(data.get("feeds"), CommentedSeq):
        raise ConfigError(f"{path}: feeds: must be a list to add to")
    data["feeds"].fa.set_block_style()  # `feeds: []` of a new file becomes a list of entries
    for entry in entries:
        data["feeds"].append(CommentedMap(entry))
    out = io.StringIO()
    yaml.dump(data, out)
    new_text = out.getvalue()
    config = parse(new_text, path)  # the file as the next run will read it, or a ConfigError
    try:
        atomic.write(path, new_text.encode("utf-8"))
    except OSError as exc:
        raise StoreError(f"{path}: cannot write: {exc.strerror or exc}") from exc
    return config
