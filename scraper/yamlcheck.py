"""The checks every value of feeds.yaml (and of a shipped rule file) goes through: where a
key is (its line), and strings, choices, time zones and numbers within their bounds, each mistake a ConfigError
naming the file, the line and the key."""

from __future__ import annotations

import math
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml

from .errors import ConfigError

DAY = 86400.0
# (least, most) of every number: a value outside is a mistake, not a wish (an infinite
# delay would hang, 1e29 retries never end, 1e308 seconds overflow the clock).
BOUNDS: dict[str, tuple[float, float]] = {
    "timeout": (0.001, 3600),
    "deadline": (0.001, 6 * 3600),
    "max_per_host": (1, 64),
    "max_connections": (1, 256),
    "delay": (0, 3600),
    "max_bytes": (1024, 2**31),
    "retries": (0, 100),
    "max_retry_after": (0, DAY),
    "backoff": (0, 3600),
    "wait_in_run": (0, 3600),
    "max_attempts": (1, 1000),
    "report_after": (1, 1000),
    "article_backoff": (0, 30 * DAY),
    "feed_backoff": (0, 7 * DAY),
    "max_misses": (1, 100_000),
    "per_article": (1, 10_000),
    "bytes_per_article": (1024, 2**31),
    "bytes_per_photo": (1024, 2**31),
    "retry_backoff": (0, 30 * DAY),
}


class Where:
    """Line numbers of keys, read off the composed YAML nodes."""

    def __init__(self, path: Path, node: yaml.Node | None) -> None:
        self.path = path
        self.lines: dict[str, int] = {}
        self._seen: set[int] = set()
        if node is not None:
            self._walk(node, "")

    def _walk(self, node: yaml.Node, prefix: str) -> None:
        self.lines[prefix] = node.start_mark.line + 1
        if id(node) in self._seen:  # an alias: walked once, so nested aliases cannot blow up
            return
        self._seen.add(id(node))
        if isinstance(node, yaml.MappingNode):
            for key, value in node.value:
                name = f"{prefix}.{key.value}" if prefix else str(key.value)
                self.lines[name] = key.start_mark.line + 1
                self._walk(value, name)
                self.lines[name] = key.start_mark.line + 1
        elif isinstance(node, yaml.SequenceNode):
            for i, item in enumerate(node.value):
                self._walk(item, f"{prefix}[{i}]")

    def error(self, key: str, message: str) -> ConfigError:
        probe = key
        while probe and probe not in self.lines:
            probe = probe.rsplit(".", 1)[0] if "." in probe else ""
        line = self.lines.get(probe)
        where = f"{self.path}:{line}" if line else str(self.path)
        return ConfigError(f"{where}: {key}: {message}")


def check_str(where: Where, key: str, value: object) -> str:
    if not isinstance(value, str) or not value.strip():
        raise where.error(key, f"must be a non-empty string, not {value!r}")
    if "\n" in value or "\r" in value:
        raise where.error(key, "must be on one line")
    if "\x00" in value:
        raise where.error(key, "must not hold a NUL character")
    return value.strip()


def zone_named(name: str) -> ZoneInfo | None:
    """The IANA zone ``name`` (``Asia/Taipei``, ``UTC``), or None when there is no such zone."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        return None


def check_zone(where: Where, key: str, value: object) -> str:
    """An IANA time zone name (``Asia/Taipei``), as the system's zone database knows it."""
    if isinstance(value, str) and value and value.strip() == value and zone_named(value) is not None:
        return value
    raise where.error(key, f"must be an IANA time zone name such as Asia/Taipei, not {value!r}")


def check_choice(where: Where, key: str, value: object, choices: tuple[str, ...]) -> str:
    if not isinstance(value, str) or value not in choices:
        raise where.error(key, f"must be one of {', '.join(choices)}, not {value!r}")
    return value


def _number(value: object) -> float | int | None:
    """A YAML number, or a string YAML 1.1 leaves unread (``1e308``, ``1_000``)."""
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        return value
    if isinstance(value, str):
        text = value.strip().replace("_", "")
        try:
            return int(text)
        except ValueError:
            pass
        try:
            return float(text)
        except ValueError:
            return None
    return None


def check_number(where: Where, key: str, value: object, kind: type) -> float | int:
    number = _number(value)
    if number is None:
        raise where.error(key, f"must be a number, not {value!r}")
    name = key.rsplit(".", 1)[-1]
    least, most = BOUNDS.get(name, (0, 1e9))
    if isinstance(number, float) and not math.isfinite(number):
        raise where.error(key, f"must be a number from {least:g} to {most:g}, not {value!r}")
    if kind is int and not (isinstance(number, int) or number.is_integer()):
        raise where.error(key, f"must be a whole number, not {value!r}")
    if not least <= number <= most:
        raise where.error(key, f"must be from {least:g} to {most:g}, not {value!r}")
    return kind(number)  # type: ignore[no-any-return]
