"""The plugin kit: ``crm plugin new`` writes a plugin that installs, is enabled through the API, takes
records and passes its own tests; ``crm plugin check`` reports what breaks the plugin rules.

The generated plugin is installed as a wheel into a folder of its own (``pip install --target``),
never into the shared environment, and driven in subprocesses so that its model never enters this
process's metadata."""

from __future__ import annotations

import json
import os
import pathlib
import subprocess
import sys
import textwrap

from click.testing import CliRunner

from kernel import hookimpl, plugincheck
from kernel.testing import cli, plugin_module

ROOT = pathlib.Path(__file__).resolve().parents[1]

DRIVE = textwrap.dedent(
    """
    import asyncio, json, os, sys
    import httpx
    from kernel import Actor, Settings, Site
    from kernel.migrations import upgrade
    from kernel.passwords import cheap_hasher
    from kernel.testing import create_app, issue_token

    site = Site(Settings(database_url=os.environ["KIT_DATABASE_URL"], plugins=(), refresh_seconds=0))
    site.passwords = cheap_hasher()
    upgrade(site)
    admin = site.records.create(Actor.system("cli"), "users", {"email": "admin@example.com", "name": "Admin", "role": "admin"})
    headers = {"Authorization": "Bearer " + issue_token(site, admin["id"])["token"]}

    async def drive():
        transport = httpx.ASGITransport(app=create_app(site=site))
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver", headers=headers) as client:
            enabled = await client.post("/api/v1/meta/plugins/demo_plugin/enable")
            created = await client.post("/api/v1/demo_plugins", json={"title": "Hello", "custom": {}})
            listed = await client.get("/api/v1/demo_plugins")
            return {"enabled": enabled.status_code, "created": created.status_code, "record": created.json(), "listed": listed.json()}

    print(json.dumps(asyncio.run(drive())))
    site.close()
    """
)


def test_a_new_plugin_installs_is_enabled_takes_records_and_passes_its_tests(tmp_path, database_url):
    project = tmp_path / "demo_plugin"
    written = CliRunner().invoke(cli(), ["plugin", "new", "demo_plugin", "--directory", str(project)])
    assert written.exit_code == 0, written.output
    assert (project / "demo_plugin" / "plugin.py").is_file() and list((project / "demo_plugin" / "migrations" / "versions").glob("*.py"))
    assert 'demo_plugin = "demo_plugin.plugin"' in (project / "pyproject.toml").read_text()

    site_dir = tmp_path / "site"
    pip = [sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--no-build-isolation", "--no-index", "--target", str(site_dir), str(project)]
    installed = subprocess.run(pip, capture_output=True, text=True, cwd=tmp_path)
    assert installed.returncode == 0, installed.stderr
    assert list(site_dir.glob("crm_demo_plugin-*.dist-info/entry_points.txt"))

    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(site_dir), str(ROOT)]), "KIT_DATABASE_URL": database_url}
    driven = subprocess.run([sys.executable, "-c", DRIVE], capture_output=True, text=True, cwd=tmp_path, env=env)
    assert driven.returncode == 0, driven.stderr
    result = json.loads(driven.stdout.strip().splitlines()[-1])
    assert result["enabled"] == 200
    assert result["created"] == 201 and result["record"]["title"] == "Hello" and result["record"]["id"]
    assert [item["title"] for item in result["listed"]["items"]] == ["Hello"]

    own_tests = subprocess.run([sys.executable, "-m", "pytest"], capture_output=True, text=True, cwd=project, env=env)
    assert own_tests.returncode == 0, own_tests.stdout + own_tests.stderr
    assert "4 passed" in own_tests.stdout


def test_plugin_new_refuses_bad_names_and_busy_folders(tmp_path):
    runner = CliRunner()
    bad = runner.invoke(cli(), ["plugin", "new", "Bad-Name", "-d", str(tmp_path / "x")])
    assert bad.exit_code == 1 and "plugin name 'Bad-Name'" in bad.output
    (tmp_path / "busy").mkdir()
    (tmp_path / "busy" / "keep.txt").write_text("mine")
    busy = runner.invoke(cli(), ["plugin", "new", "busy", "-d", str(tmp_path / "busy")])
    assert busy.exit_code == 1 and "not empty" in busy.output
    assert (tmp_path / "busy" / "keep.txt").read_text() == "mine"


def test_plugin_check_passes_the_shipped_plugins():
    for target in (str(ROOT / "plugins" / "customers"), "tests.example.plugin"):
        checked = CliRunner().invoke(cli(), ["plugin", "check", target])
        assert checked.exit_code == 0, checked.output
        assert "imports and hooks OK" in checked.output


def test_plugin_check_reports_private_imports_and_wrong_hooks(tmp_path, monkeypatch):
    package = tmp_path / "acme_bad"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "plugin.py").write_text(
        textwrap.dedent(
            """
            from kernel import hookimpl
            from kernel.records import Records
            from plugins.customers.dedupe import lookalikes

            NAME = "acme_bad"
            REQUIRES = ("customers",)

            @hookimpl
            def register_entitys():
                return []

            @hookimpl
            def after_create(site, entity, record, payload):
                pass

            @hookimpl
            def customers_related_counts(site, conn, customer_id):
                pass
            """
        )
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    checked = CliRunner().invoke(cli(), ["plugin", "check", str(package)])
    assert checked.exit_code == 1
    lines = checked.output.splitlines()
    assert any("from kernel.records import Records" in line and "plugin.py:3" in line for line in lines)
    assert any("from plugins.customers.dedupe import lookalikes" in line for line in lines)
    assert any(line.startswith("register_entitys: no hook named 'register_entitys'") for line in lines)
    assert any(line.startswith("after_create: takes payload") for line in lines)
    assert not any(line.startswith("customers_related_counts") for line in lines), "a hook the required plugin offers is known"
    assert lines[-1].startswith("Error: plugin acme_bad: 4 problems") or "4 problems" in lines[-1]


def test_hook_problems_on_modules_built_in_tests():
    def on_create(site, entity, record):
        return None

    good = plugin_module("good", after_create=on_create)
    assert plugincheck.hook_problems(good) == []
    lonely = plugin_module("lonely", requires=["nowhere"])
    assert plugincheck.hook_problems(lonely) == ["requires plugin 'nowhere', which is not installed"]

    def extra_arg(site, entity, record, color):
        return None

    def maybe(site):
        return None

    optional = plugin_module("optional")
    optional.other_plugin_hook = hookimpl(optionalhook=True)(maybe)
    assert plugincheck.hook_problems(optional) == []

    wrong = plugin_module("wrong", after_create=extra_arg)
    assert plugincheck.hook_problems(wrong) == [
        "after_create: takes color, which hook 'after_create' does not pass (it passes: site, conn, actor, entity, record)"
    ]
