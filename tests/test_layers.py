"""The kernel's layers point one way: imports and exports work without the web package."""

from __future__ import annotations

import ast
import json
import pathlib
import subprocess
import sys

ROOT = pathlib.Path(__file__).resolve().parents[1]
UI = ROOT / "kernel" / "web" / "ui"


def test_importing_and_exporting_load_no_web_module():
    code = "import json, sys, kernel.importing, kernel.exporting; print(json.dumps(sorted(m for m in sys.modules if m.startswith('kernel.web'))))"
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    assert json.loads(done.stdout) == []


def _local_imports(path: pathlib.Path) -> set[str]:
    """Sibling modules ``path`` imports at load time (``TYPE_CHECKING`` blocks are not top-level imports)."""
    found = set()
    for node in ast.parse(path.read_text(encoding="utf-8")).body:
        if isinstance(node, ast.ImportFrom) and node.level == 1:
            found.update([node.module.split(".")[0]] if node.module else (alias.name for alias in node.names))
    return found


def _cycle(graph: dict[str, set[str]]) -> list[str]:
    """One import cycle of ``graph`` (module → modules it imports), or ``[]``."""
    done: set[str] = set()

    def visit(name: str, trail: list[str]) -> list[str]:
        if name in trail:
            return trail[trail.index(name):] + [name]
        if name in done:
            return []
        for other in sorted(graph.get(name, ())):
            found = visit(other, trail + [name])
            if found:
                return found
        done.add(name)
        return []

    return next((found for name in sorted(graph) if (found := visit(name, []))), [])


def test_the_ui_modules_import_each_other_without_a_cycle():
    modules = {p.stem for p in UI.glob("*.py")}
    graph = {path.stem: _local_imports(path) & modules for path in UI.glob("*.py")}
    assert _cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert _cycle(graph) == []
