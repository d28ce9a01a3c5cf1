"""Where a key sits in a YAML file: line numbers read off the composed nodes, so that every
mistake in feeds.yaml (or a rule file) names the file, the line and the key."""

from __future__ import annotations

from pathlib import Path

import yaml

from .errors import ConfigError


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
