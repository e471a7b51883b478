"""The hook reference, generated from ``kernel/hookspecs.py`` and each installed plugin's
``HOOKSPECS``, so that it cannot drift from the code (``tests/test_docs.py`` checks the rest)."""

from __future__ import annotations

import inspect
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

from kernel import hookspecs
from kernel.plugins import installed_plugins


@dataclass(frozen=True)
class Hook:
    """One hook spec: where it comes from, its section, its stub function."""

    name: str
    origin: str  # "kernel" or the plugin offering it
    section: str
    function: Any

    @property
    def argnames(self) -> tuple[str, ...]:
        return tuple(inspect.signature(self.function).parameters)


def _sections(module: ModuleType) -> dict[str, str]:
    """Hook name → the ``# -- section --`` comment above it in the module's source."""
    found, current = {}, ""
    try:
        source = inspect.getsource(module)
    except (OSError, TypeError):
        return found
    for line in source.splitlines():
        heading = re.match(r"#\s*--\s*(.+?)\s*-*$", line)
        if heading:
            current = heading.group(1).strip(" -")
        spec = re.match(r"def (\w+)\(", line)
        if spec:
            found[spec.group(1)] = current
    return found


def _specs(holder: Any) -> Iterator[tuple[str, Any]]:
    for name, value in vars(holder).items():
        if callable(value) and hasattr(value, "crm_spec"):
            yield name, value


def all_hooks() -> list[Hook]:
    """Every hook a plugin can implement: the kernel's, then those installed plugins offer."""
    sections = _sections(hookspecs)
    hooks = [Hook(name, "kernel", sections.get(name, ""), fn) for name, fn in _specs(hookspecs)]
    for plugin, info in sorted(installed_plugins().items()):
        offered = getattr(info.module, "HOOKSPECS", None)
        if offered is not None:
            module = inspect.getmodule(offered) if not isinstance(offered, ModuleType) else offered
            plugin_sections = _sections(module) if module else {}
            hooks += [Hook(name, plugin, plugin_sections.get(name, ""), fn) for name, fn in _specs(offered)]
    return hooks


def rst_to_markdown(text: str) -> str:
    """The docstrings' reST inline markup as Markdown: ``x`` and :role:`~a.b.x` become `x`."""
    text = re.sub(r":\w+:`~?([^`]+)`", lambda m: f"`{m.group(1).split('.')[-1] if m.group(0).find('~') >= 0 else m.group(1)}`", text)
    text = text.replace("``", "`")
    text = re.sub(r"^:param (\w+):", r"- `\1`:", text, flags=re.M)
    return text


def signature(hook: Hook) -> str:
    sig = inspect.signature(hook.function)
    params = ", ".join(str(p).replace("'", "") for p in sig.parameters.values())
    returns = sig.return_annotation
    returns = "" if returns is inspect.Signature.empty else f" -> {str(returns).strip(chr(39))}"
    return f"@hookimpl\ndef {hook.name}({params}){returns}: ..."


def hook_reference() -> str:
    """The whole page, Markdown."""
    hooks = all_hooks()
    out = [
        "# Hook reference",
        "",
        "Generated at build time from `kernel/hookspecs.py` and the `HOOKSPECS` of every installed plugin: "
        "it lists exactly the hooks the code declares. Implement a hook with `@kernel.hookimpl` on a function "
        "of the same name in your plugin module; accept only the arguments you need (they are passed by keyword). "
        "`crm plugin check` refuses a hook that does not exist and an argument a hook does not pass.",
        "",
    ]
    origins = list(dict.fromkeys(h.origin for h in hooks))
    for origin in origins:
        mine = [h for h in hooks if h.origin == origin]
        out += ["## Kernel hooks" if origin == "kernel" else f"## Hooks the `{origin}` plugin offers", ""]
        if origin != "kernel":
            out += [f"A plugin implements these only if it lists `{origin}` in its `REQUIRES` (or marks them optional).", ""]
        section = None
        for hook in mine:
            if hook.section != section and hook.section:
                section = hook.section
                out += [f"### {section[0].upper() + section[1:]}", ""]
            options = {k: v for k, v in (hook.function.crm_spec or {}).items() if v and k in ("firstresult", "historic")}
            out += [f"#### `{hook.name}` {{#{hook.name}}}", ""]
            out += ["```python", signature(hook), "```", ""]
            if options:
                out += [f"*{', '.join(options)}*: " + ("the first non-`None` answer wins." if "firstresult" in options else ""), ""]
            out += [rst_to_markdown(inspect.getdoc(hook.function) or ""), ""]
    return "\n".join(out)


def plugin_readmes(root: Path) -> dict[str, Path]:
    """``{"customers": plugins/customers/README.md, ...}`` for every plugin folder with a README."""
    return {p.parent.name: p for p in sorted((root / "plugins").glob("*/README.md"))}
