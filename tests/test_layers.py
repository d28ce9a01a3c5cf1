"""The module graph follows the layers written in the README's architecture section."""

from __future__ import annotations

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "scraper"


def layers() -> dict[str, int]:
    """Module -> layer, read off the README's architecture block."""
    text = (ROOT / "README.md").read_text(encoding="utf-8").split("## Architecture", 1)[1].split("```text\n", 1)[1].split("```", 1)[0]
    out: dict[str, int] = {}
    for line in text.splitlines():
        m = re.match(r"^(\d+)\.\s+(.+?)\s{2,}\S", line)
        assert m, f"README architecture line not understood: {line!r}"
        for name in m.group(2).split():
            out["scraper" if name == "scraper" else f"scraper.{name}"] = int(m.group(1))
    return out


def modules() -> dict[str, Path]:
    out = {}
    for path in PACKAGE.rglob("*.py"):
        parts = list(path.relative_to(ROOT).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        out[".".join(parts)] = path
    return out


def imports(module: str, path: Path) -> set[str]:
    """The package's own modules that ``module`` imports (relative or absolute)."""
    package = module if path.name == "__init__.py" else module.rsplit(".", 1)[0]
    found: set[str] = set()
    known = modules()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            for alias in node.names:
                sub = f"{target}.{alias.name}"
                found.add(sub if sub in known else target)
        elif isinstance(node, ast.Import):
            found.update(a.name for a in node.names)
    return {m for m in found if m == "scraper" or m.startswith("scraper.")}


def test_every_module_has_a_layer_in_the_readme() -> None:
    assert sorted(modules()) == sorted(layers())


def test_every_import_points_to_a_lower_layer() -> None:
    order = layers()
    wrong = []
    for module, path in modules().items():
        for target in imports(module, path):
            if order[target] >= order[module]:
                wrong.append(f"{module} (layer {order[module]}) imports {target} (layer {order[target]})")
    assert wrong == []


def test_no_module_is_over_400_lines_nor_any_function_over_60() -> None:
    long_modules = {m: n for m, p in modules().items() if (n := len(p.read_text(encoding="utf-8").splitlines())) > 400}
    long_functions = []
    for module, path in modules().items():
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and node.end_lineno and node.end_lineno - node.lineno + 1 > 60:
                long_functions.append(f"{module}.{node.name}: {node.end_lineno - node.lineno + 1} lines")
    assert long_modules == {} and long_functions == []
