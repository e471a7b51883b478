"""The plugin tutorial (docs/developers/tutorial.md) works as written: its files are written and its
commands run, in order, in a temporary folder.

A block ```lang title="PATH"``` is a file (PATH relative to the folder the commands are in); the
lines of a ```console``` block starting with ``$ `` are commands, run by bash. ``crm``, ``pytest``
and ``pip`` are the current environment's, except that ``pip install -e .`` registers the project
the way an editable install does (an entry point pointing at the source) without touching the
shared environment."""

from __future__ import annotations

import os
import pathlib
import re
import subprocess
import sys
import textwrap

ROOT = pathlib.Path(__file__).resolve().parents[1]
TUTORIAL = ROOT / "docs" / "developers" / "tutorial.md"
BLOCK = re.compile(r'^```(\w+)(?: title="([^"]+)")?\n(.*?)^```\n', re.S | re.M)

PIP_SHIM = textwrap.dedent(
    """\
    #!/usr/bin/env bash
    # pip install -e . : the project's entry points, pointing at the source (an editable install)
    set -euo pipefail
    if [ "$1" = "install" ] && [ "$2" = "-e" ]; then
      exec "$PYTHON" - "$3" <<'PY'
    import pathlib, sys, tomllib
    project = pathlib.Path(sys.argv[1]).resolve()
    meta = tomllib.loads((project / "pyproject.toml").read_text())["project"]
    dist = pathlib.Path(__import__("os").environ["SHIM_SITE"]) / (meta["name"].replace("-", "_") + "-" + meta["version"] + ".dist-info")
    dist.mkdir(parents=True, exist_ok=True)
    (dist / "METADATA").write_text(f"Metadata-Version: 2.1\\nName: {meta['name']}\\nVersion: {meta['version']}\\n")
    points = meta.get("entry-points", {})
    (dist / "entry_points.txt").write_text("".join(f"[{group}]\\n" + "".join(f"{k} = {v}\\n" for k, v in items.items()) for group, items in points.items()))
    (pathlib.Path(__import__("os").environ["SHIM_SITE"]) / "project.pth").write_text(str(project) + "\\n")
    PY
    fi
    exec "$PYTHON" -m pip "$@"
    """
)


def blocks(text: str) -> list[tuple[str, str | None, str]]:
    return [(m.group(1), m.group(2), m.group(3)) for m in BLOCK.finditer(text)]


def test_the_tutorial_blocks_are_files_and_commands():
    found = blocks(TUTORIAL.read_text(encoding="utf-8"))
    files = [title for lang, title, _ in found if title]
    assert "contracts/plugin.py" in files and "contracts/tests/test_plugin.py" in files and "crm.toml" in files
    commands = [line for lang, _, body in found if lang == "console" for line in body.splitlines() if line.startswith("$ ")]
    assert "$ crm plugin new contracts --label Contract --label-zh 合同" in commands and "$ crm plugin check ." in commands


def test_the_tutorial_runs_as_written(tmp_path):
    shims, site_dir = tmp_path / "bin", tmp_path / "site"
    shims.mkdir()
    site_dir.mkdir()
    for name, body in {
        "crm": f'#!/usr/bin/env bash\nexec "$PYTHON" -m kernel.cli "$@"\n',
        "pytest": '#!/usr/bin/env bash\nexec "$PYTHON" -m pytest "$@"\n',
        "pip": PIP_SHIM,
    }.items():
        (shims / name).write_text(body)
        (shims / name).chmod(0o755)
    env = {
        **os.environ,
        "PATH": f"{shims}{os.pathsep}{os.environ['PATH']}",
        "PYTHON": sys.executable,
        "SHIM_SITE": str(site_dir),
        # site_dir first: its dist-info is the entry point, its .pth is not read (not a site dir), so
        # the project's folder is on the path through PYTHONPATH's "." of each command's cwd too
        "PYTHONPATH": os.pathsep.join([str(site_dir), str(ROOT)]),
    }
    env.pop("CRM_CONFIG", None)
    cwd = tmp_path
    for lang, title, body in blocks(TUTORIAL.read_text(encoding="utf-8")):
        if title:
            path = cwd / title
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(body, encoding="utf-8")
        elif lang == "console":
            commands = [line[2:] for line in body.splitlines() if line.startswith("$ ")]
            script = "set -euo pipefail\n" + "\n".join(commands) + "\npwd > \"$TUTORIAL_CWD\"\n"
            state = tmp_path / "cwd"
            run_env = {**env, "TUTORIAL_CWD": str(state), "PYTHONPATH": env["PYTHONPATH"] + os.pathsep + str(tmp_path / "contracts")}
            done = subprocess.run(["bash", "-c", script], cwd=cwd, env=run_env, capture_output=True, text=True)
            assert done.returncode == 0, f"{commands}\n{done.stdout}\n{done.stderr}"
            cwd = pathlib.Path(state.read_text().strip())
    project = tmp_path / "contracts"
    assert len(list((project / "contracts" / "migrations" / "versions").glob("*_contracts_table.py"))) == 1
    assert list((project / "dist").glob("crm_contracts-0.1.0-*.whl"))
