"""The documentation cannot drift from the code.

* every hook (``kernel/hookspecs.py`` and each plugin's ``HOOKSPECS``) is documented and is in the
  generated hook reference;
* the API reference (docs/developers/api.md) lists exactly the public names of ``kernel``,
  ``kernel.ui`` and ``kernel.testing``: a new name must be documented, a removed one removed;
* every ``@hookimpl`` shown in the docs or a plugin's README implements a hook that exists, with
  arguments it passes; every link to the hook reference names a hook that exists;
* every page under docs/ is in the site's navigation, and the README keeps the two commands of its
  first screen.

The site itself is built by ``mkdocs build --strict`` in CI (broken links and missing pages fail it).
"""

from __future__ import annotations

import ast
import importlib
import inspect
import pathlib
import re

import pytest

from docsbuild.reference import all_hooks, hook_reference, plugin_readmes, rst_to_markdown
from docsbuild.hooks import plugin_page

ROOT = pathlib.Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
API_PAGE = DOCS / "developers" / "api.md"
CODE_BLOCK = re.compile(r"^```python[^\n]*\n(.*?)^```", re.S | re.M)
GENERATED = {"developers/hooks.md"}  # written at build time by docsbuild/hooks.py


def documents() -> list[pathlib.Path]:
    return sorted(DOCS.rglob("*.md")) + sorted(plugin_readmes(ROOT).values())


def test_every_hook_is_documented_and_in_the_reference():
    hooks = all_hooks()
    assert {h.origin for h in hooks} >= {"kernel"}
    assert len([h for h in hooks if h.origin == "kernel"]) >= 30
    reference = hook_reference()
    for hook in hooks:
        doc = inspect.getdoc(hook.function) or ""
        assert len(doc) > 20, f"hook {hook.name} ({hook.origin}) needs a docstring"
        assert f"{{#{hook.name}}}" in reference, hook.name
        assert rst_to_markdown(doc.splitlines()[0]) in reference, hook.name


def test_the_reference_renders_rst_as_markdown():
    assert rst_to_markdown("Return the :class:`~kernel.entities.Entity` list, ``x`` too") == "Return the `Entity` list, `x` too"
    assert rst_to_markdown(":param site: the site") == "- `site`: the site"


@pytest.mark.parametrize("module", ["kernel", "kernel.ui", "kernel.testing"])
def test_the_api_reference_lists_exactly_the_public_names(module):
    listed = set(re.findall(rf"^::: {re.escape(module)}\.(\w+)\s*$", API_PAGE.read_text(encoding="utf-8"), re.M))
    public = set(importlib.import_module(module).__all__)
    assert sorted(public - listed) == [], f"public in {module} but not in docs/developers/api.md"
    assert sorted(listed - public) == [], f"in docs/developers/api.md but no longer public in {module}"


def hook_implementations(source: str) -> list[tuple[str, list[str]]]:
    """``(function name, argument names)`` of each ``@hookimpl`` function in a code sample."""
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return []
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef) and any(
            (isinstance(d, ast.Name) and d.id == "hookimpl") or (isinstance(d, ast.Attribute) and d.attr == "hookimpl") for d in node.decorator_list
        ):
            found.append((node.name, [a.arg for a in node.args.args + node.args.kwonlyargs]))
    return found


def test_hooks_shown_in_the_docs_exist_with_those_arguments():
    hooks = {h.name: h for h in all_hooks()}
    problems, seen = [], 0
    for path in documents():
        for block in CODE_BLOCK.findall(path.read_text(encoding="utf-8")):
            for name, args in hook_implementations(block):
                seen += 1
                if name not in hooks:
                    problems.append(f"{path.relative_to(ROOT)}: {name} is not a hook")
                elif set(args) - set(hooks[name].argnames):
                    problems.append(f"{path.relative_to(ROOT)}: {name} takes {sorted(set(args) - set(hooks[name].argnames))}, not passed")
    assert seen >= 10
    assert problems == []


def test_the_checker_sees_a_documented_hook_that_is_gone():
    sample = "@hookimpl\ndef register_entitys():\n    return []\n\n@kernel.hookimpl\ndef after_create(site, entity, record, colour):\n    pass\n"
    assert hook_implementations(sample) == [("register_entitys", []), ("after_create", ["site", "entity", "record", "colour"])]


def test_links_to_the_hook_reference_name_hooks_that_exist():
    names = {h.name for h in all_hooks()}
    for path in documents():
        for anchor in re.findall(r"hooks\.md#([\w-]+)", path.read_text(encoding="utf-8")):
            assert anchor in names, f"{path.relative_to(ROOT)} links to hooks.md#{anchor}"


def test_every_page_is_in_the_navigation():
    config = (ROOT / "mkdocs.yml").read_text(encoding="utf-8")
    nav = set(re.findall(r":\s+([\w./-]+\.md)\s*$", config, re.M))
    pages = {p.relative_to(DOCS).as_posix() for p in DOCS.rglob("*.md")}
    assert sorted(pages - nav) == [], "add these pages to nav in mkdocs.yml"
    plugin_pages = {f"plugins/{name}.md" for name in plugin_readmes(ROOT)}
    assert sorted(nav - pages - GENERATED - plugin_pages) == [], "nav names pages that do not exist"
    assert sorted(plugin_pages - nav) == [], "add each plugin's page (its README) to nav in mkdocs.yml"


def test_plugin_readme_links_become_site_links():
    text = "See [the README](../../README.md#plugins), [blocks](../../docs/building-blocks.md#money) and [pools](../pools/README.md)."
    assert plugin_page(text) == "See [the README](../index.md#plugins), [blocks](../building-blocks.md#money) and [pools](pools.md)."


def test_the_readme_keeps_the_first_screen_commands():
    first_screen = "\n".join((ROOT / "README.md").read_text(encoding="utf-8").splitlines()[:12])
    assert 'pip install -e ".[dev]" && crm serve --demo' in first_screen
    assert 'pip install -e ".[dev]" && pytest' in first_screen
