"""The ``crm`` command line, driven through click's runner against a real database."""

from __future__ import annotations

import re

import json
from datetime import timedelta
from pathlib import Path
from typing import Any

import click
import pytest
import sqlalchemy as sa
from click.testing import CliRunner, Result

from kernel import Actor, hookimpl
from kernel.cli import make_cli, pass_site
from kernel.demo import DEMO_ADMIN_EMAIL, DEMO_USERS, seed_demo
from kernel.passwords import cheap_hasher
from kernel.testing import START
from kernel.web.auth import login
from tests.example import plugin as notes_plugin

ADMIN = Actor.system("cli")


class Greeter:
    """Greets people: a plugin that adds a command."""

    NAME = "greeter"
    REQUIRES = ("notes",)

    @staticmethod
    @hookimpl
    def register_commands(cli: click.Group) -> None:
        @cli.command()
        @click.argument("who")
        @pass_site
        def greet(site: Any, who: str) -> None:
            """Say hello and count the notes."""
            click.echo(f"hello {who}, there are {site.records.list(ADMIN, 'notes').total} notes")


class CycleA:
    NAME = "cycle_a"
    REQUIRES = ("cycle_b",)


class CycleB:
    NAME = "cycle_b"
    REQUIRES = ("cycle_a",)


EXTRA_PLUGINS = (notes_plugin, Greeter, CycleA, CycleB)


@pytest.fixture
def write_config(tmp_path: Path, database_url: str) -> Any:
    def write(plugins: tuple[str, ...] = ("notes",), extra: str = "", *, text: str | None = None) -> str:
        path = tmp_path / "crm.toml"
        header = f"[crm]\ndatabase_url = {json.dumps(database_url)}\nplugins = {json.dumps(list(plugins))}\n"
        path.write_text(text if text is not None else header + extra, encoding="utf-8")
        return str(path)

    return write


@pytest.fixture
def crm(write_config: Any) -> Any:
    """Run ``crm ARGS`` against the test database with the notes plugin enabled."""
    default = write_config()

    def run(*args: str, config: str | None = None, input: str | None = None) -> Result:
        cli = make_cli(extra_plugins=EXTRA_PLUGINS, password_hasher=cheap_hasher())
        return CliRunner().invoke(cli, ["--config", config or default, *args], input=input, prog_name="crm")

    return run


def ok(result: Result) -> str:
    assert result.exit_code == 0, result.output
    return result.stdout


def user_error(result: Result, *fragments: str) -> str:
    """Assert exit code 1 with exactly one ``crm: error:`` line naming every fragment."""
    assert result.exit_code == 1, result.output
    assert isinstance(result.exception, SystemExit), result.exception
    assert "Traceback" not in result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("crm: error: "), result.stderr
    for fragment in fragments:
        assert fragment in lines[0]
    return lines[0]


def table(output: str) -> dict[str, list[str]]:
    """A printed table's rows keyed by their first column."""
    return {line.split()[0]: line.split() for line in output.strip().splitlines()[1:]}


# -- init and users ---------------------------------------------------------------------


def test_init_with_options_creates_the_admin(crm: Any) -> None:
    out = ok(crm("init", "--admin-email", "boss@example.com", "--admin-password", "s3cret-pass"))
    assert "admin created: boss@example.com" in out
    assert "password" not in out.split("admin created")[1]
    users = table(ok(crm("users", "list")))
    assert users["1"][1:4] == ["boss@example.com", "Administrator", "admin"]


def test_init_without_password_prints_a_working_one(crm: Any, make_site: Any) -> None:
    out = ok(crm("init"))
    printed = next(line for line in out.splitlines() if line.startswith("admin password: "))
    password = printed.split()[2]
    assert len(password) >= 16
    site = make_site(notes_plugin)
    assert login(site, DEMO_ADMIN_EMAIL, password).role == "admin"


def test_init_again_keeps_the_existing_admin(crm: Any) -> None:
    ok(crm("init", "--admin-password", "first-password"))
    out = ok(crm("init", "--admin-email", "ADMIN@example.com", "--admin-password", "other-password"))
    assert "already exists" in out
    assert len(table(ok(crm("users", "list")))) == 1


def test_users_add_and_set_role(crm: Any, make_site: Any) -> None:
    ok(crm("init", "--admin-password", "first-password"))
    site = make_site(notes_plugin)
    site.records.create(ADMIN, "teams", {"name": "华东销售部"})
    out = ok(crm("users", "add", "Rep@Example.com", "--password", "rep-password", "--role", "sales_rep", "--team", "华东销售部"))
    assert "user added: rep@example.com (sales_rep)" in out
    assert table(ok(crm("users", "list")))["2"][1:5] == ["rep@example.com", "-", "sales_rep", "华东销售部"]

    ok(crm("users", "set-role", "rep@example.com", "sales_manager"))
    assert table(ok(crm("users", "list")))["2"][3] == "sales_manager"

    user_error(crm("users", "set-role", "rep@example.com", "pilot"), "role", "unknown role 'pilot'")
    user_error(crm("users", "set-role", "nobody@example.com", "admin"), "nobody@example.com")
    user_error(crm("users", "add", "x@example.com", "--password", "long-enough", "--role", "pilot"), "role", "pilot")
    user_error(crm("users", "add", "x@example.com", "--password", "long-enough", "--role", "sales_rep", "--team", "Nope"), "--team", "Nope")
    user_error(crm("users", "add", "rep@example.com", "--password", "long-enough", "--role", "sales_rep"), "already exists")
    user_error(crm("users", "add", "y@example.com", "--password", "short", "--role", "sales_rep"), "password")
    assert len(table(ok(crm("users", "list")))) == 2


# -- start-up errors ------------------------------------------------------------------------


START_UP_ERRORS = {
    "broken TOML": (dict(text="[crm\nplugins = 1"), ["crm.toml", "not valid TOML"]),
    "unknown plugin": (dict(plugins=("notes", "nope")), ["crm.toml", "crm.plugins", "'nope'"]),
    "missing requirement": (dict(plugins=("greeter",)), ["crm.plugins", "'greeter'", "'notes'"]),
    "cycle": (dict(plugins=("cycle_a", "cycle_b")), ["crm.plugins", "cycle", "cycle_a"]),
    "unknown plugin key": (dict(extra="[plugins.notes]\nstale_dayz = 3\n"), ["crm.toml", "plugins.notes.stale_dayz", "unknown key"]),
    "wrong plugin value": (dict(extra='[plugins.notes]\nstale_days = "soon"\n'), ["plugins.notes.stale_days", "integer"]),
    "settings of an unknown plugin": (dict(extra="[plugins.nope]\nx = 1\n"), ["plugins.nope", "not installed"]),
}
COMMANDS = [
    ("init",),
    ("serve",),
    ("worker",),
    ("jobs", "run"),
    ("db", "upgrade"),
    ("plugins", "list"),
    ("fields", "list", "notes"),
    ("users", "list"),
    ("greet", "you"),
]


@pytest.mark.parametrize("case", START_UP_ERRORS)
def test_every_start_up_error_is_one_line_for_every_command(case: str, crm: Any, write_config: Any) -> None:
    options, fragments = START_UP_ERRORS[case]
    config = write_config(**options)
    for command in COMMANDS:
        user_error(crm(*command, config=config), *fragments)


def test_a_missing_config_file_or_bad_database_url_is_one_line(crm: Any, tmp_path: Path, write_config: Any) -> None:
    user_error(crm("plugins", "list", config=str(tmp_path / "absent.toml")), "absent.toml", "file not found")
    bad_url = write_config(text='[crm]\ndatabase_url = "nonsense://"\nplugins = []\n')
    user_error(crm("plugins", "list", config=bad_url), "crm.database_url")


def test_uninitialized_database_is_one_line(crm: Any) -> None:
    for command in (("serve",), ("worker",), ("users", "list"), ("jobs", "run"), ("plugins", "list")):
        user_error(crm(*command), "not initialized", "crm init")


# -- plugins -----------------------------------------------------------------------------------


def test_plugins_list_shows_state(crm: Any) -> None:
    ok(crm("db", "upgrade"))
    plugins = table(ok(crm("plugins", "list")))
    assert plugins["core"][1:3] == ["enabled", "(essential)"]
    assert plugins["notes"][1] == "enabled"
    assert plugins["greeter"][1:3] == ["disabled", "notes"]


def test_disable_and_enable(crm: Any, write_config: Any) -> None:
    config = write_config(("notes", "greeter"))
    ok(crm("db", "upgrade", config=config))
    user_error(crm("plugins", "disable", "notes", config=config), "'notes'", "required by greeter")
    ok(crm("plugins", "disable", "greeter", config=config))
    ok(crm("plugins", "disable", "notes", config=config))
    assert table(ok(crm("plugins", "list", config=config)))["notes"][1] == "disabled"
    user_error(crm("fields", "list", "notes", config=config), "'notes'")

    user_error(crm("plugins", "enable", "greeter", config=config), "'greeter'", "requires notes")
    user_error(crm("plugins", "disable", "core", config=config), "'core'", "cannot be disabled")
    user_error(crm("plugins", "enable", "nope", config=config), "'nope'")

    ok(crm("plugins", "enable", "notes", config=config))
    plugins = table(ok(crm("plugins", "list", config=config)))
    assert (plugins["notes"][1], plugins["greeter"][1]) == ("enabled", "disabled")


def test_a_plugin_adds_a_command(crm: Any, write_config: Any, make_site: Any) -> None:
    config = write_config(("notes", "greeter"))
    assert "greet" in ok(crm("--help", config=config))
    ok(crm("db", "upgrade", config=config))
    make_site(notes_plugin).records.create(ADMIN, "notes", {"title": "one"})
    assert ok(crm("greet", "李娜", config=config)).strip() == "hello 李娜, there are 1 notes"

    ok(crm("plugins", "disable", "greeter", config=config))
    assert crm("greet", "you", config=config).exit_code == 2
    assert "greet" not in ok(crm("--help", config=config))


def test_help_works_on_an_uninitialized_database(crm: Any, write_config: Any) -> None:
    out = ok(crm("--help", config=write_config(("notes", "greeter"))))
    assert "init" in out and "greet" in out


# -- custom fields -------------------------------------------------------------------------------


def has_index(site: Any, name: str) -> bool:
    if site.engine.dialect.name == "sqlite":
        query = "SELECT 1 FROM sqlite_master WHERE type = 'index' AND name = :name"
    else:
        query = "SELECT 1 FROM pg_indexes WHERE schemaname = current_schema() AND indexname = :name"
    with site.engine.connect() as conn:
        return conn.scalar(sa.text(query), {"name": name}) is not None


def test_fields_add_list_index_remove(crm: Any, make_site: Any) -> None:
    ok(crm("db", "upgrade"))
    out = ok(crm("fields", "add", "notes", "mood", "--schema", '{"type": "string", "enum": ["calm", "busy"]}', "--label", "Mood", "--label-zh", "心情", "--indexed"))
    assert "added notes.mood (enum, indexed)" in out
    ok(crm("fields", "add", "notes", "points", "--schema", '{"type": "integer"}'))
    fields = table(ok(crm("fields", "list", "notes")))
    assert fields["mood"] == ["mood", "enum", "yes", "Mood", "心情"]
    assert fields["points"][1:3] == ["integer", "no"]
    site = make_site(notes_plugin)
    assert has_index(site, "cfx_notes_notes_mood")

    ok(crm("fields", "index", "notes", "mood", "--drop"))
    assert table(ok(crm("fields", "list", "notes")))["mood"][2] == "no"
    assert not has_index(site, "cfx_notes_notes_mood")

    note = site.records.create(ADMIN, "notes", {"title": "t", "custom": {"points": 5}})
    ok(crm("fields", "remove", "notes", "points"))
    assert "points" not in table(ok(crm("fields", "list", "notes")))
    assert site.records.get(ADMIN, "notes", note["id"])["custom"] == {"points": 5}

    aborted = crm("fields", "remove", "notes", "points", "--purge", input="n\n")
    assert aborted.exit_code == 1 and site.records.get(ADMIN, "notes", note["id"])["custom"] == {"points": 5}
    ok(crm("fields", "remove", "notes", "points", "--purge", "--yes"))
    assert site.records.get(ADMIN, "notes", note["id"])["custom"] == {}


def test_fields_errors(crm: Any) -> None:
    ok(crm("db", "upgrade"))
    user_error(crm("fields", "add", "notes", "x", "--schema", '{"type": "strin"}'), "schema.type")
    user_error(crm("fields", "add", "notes", "x", "--schema", "{type"), "--schema", "not valid JSON")
    user_error(crm("fields", "add", "notes", "X-1", "--schema", '{"type": "string"}'), "name")
    user_error(crm("fields", "add", "nothing", "x", "--schema", '{"type": "string"}'), "'nothing'")
    user_error(crm("fields", "remove", "notes", "ghost"), "ghost")
    assert crm("fields", "add", "notes", "x").exit_code == 2


# -- jobs and migrations ------------------------------------------------------------------------


def test_jobs_run_as_of_a_given_time(crm: Any, make_site: Any) -> None:
    site = make_site(notes_plugin)
    note = site.records.create(ADMIN, "notes", {"title": "old"})
    as_of = lambda days: (START + timedelta(days=days)).isoformat().replace("+00:00", "Z")  # noqa: E731

    early = table(ok(crm("jobs", "run", "--now", as_of(10))))
    assert early["notes.archive_stale"][2:4] == ["done", "0"]
    assert site.records.get(ADMIN, "notes", note["id"])["status"] == "open"

    late = table(ok(crm("jobs", "run", "--now", as_of(40))))
    assert late["notes.archive_stale"][1] == "2026-02-14T00:00:00+00:00"
    assert late["notes.archive_stale"][2:4] == ["done", "1"]
    archived = site.records.get(ADMIN, "notes", note["id"])
    assert archived["status"] == "archived"
    assert archived["updated_at"] == START + timedelta(days=40)

    again = table(ok(crm("jobs", "run", "--now", as_of(40))))
    assert again["notes.archive_stale"][2] == "skipped"


def test_jobs_list_and_bad_arguments(crm: Any) -> None:
    ok(crm("db", "upgrade"))
    assert table(ok(crm("jobs", "list")))["notes.archive_stale"][1:3] == ["1d", "Archive"]
    user_error(crm("jobs", "run", "--job", "notes.nope"), "--job", "notes.nope")
    assert crm("jobs", "run", "--now", "yesterday").exit_code == 2
    edge = crm("jobs", "run", "--now", "0001-01-01T00:00:00+14:00")  # used to end in an OverflowError traceback
    assert edge.exit_code == 2 and "must be between 0001-01-02T00:00:00Z" in edge.output


def test_db_upgrade_is_idempotent(crm: Any) -> None:
    first = ok(crm("db", "upgrade"))
    assert first.strip() == "upgraded: core, notes"
    assert ok(crm("db", "upgrade")) == first
    assert "notes" in table(ok(crm("plugins", "list")))


def test_db_revision_names_a_plugin_without_migrations(crm: Any) -> None:
    user_error(crm("db", "revision", "greeter", "-m", "first"), "'greeter'", "migrations")


# -- demo data ------------------------------------------------------------------------------------


def test_demo_seeding_is_idempotent(make_site: Any) -> None:
    site = make_site(notes_plugin)
    first = seed_demo(site)
    assert first.admin_email == DEMO_ADMIN_EMAIL and first.admin_password
    assert login(site, DEMO_ADMIN_EMAIL, first.admin_password).role == "admin"
    assert (first.teams_added, first.users_added) == (3, len(DEMO_USERS))
    users = {u["email"]: u for u in site.records.list(ADMIN, "users", limit=50).items}
    assert users["zhang.wei@example.com"]["name"] == "张伟"
    assert users["emily.carter@example.com"]["team_id"] is not None

    second = seed_demo(site)
    assert (second.admin_password, second.teams_added, second.users_added) == (None, 0, 0)
    assert site.records.list(ADMIN, "users").total == len(DEMO_USERS) + 1


def test_demo_command_prints_the_admin_login(crm: Any) -> None:
    out = ok(crm("demo"))
    assert f"admin login: {DEMO_ADMIN_EMAIL} / " in out
    assert "demo data ready: 3 teams and 6 users added" in out
    assert "李娜" in ok(crm("users", "list"))
    again = ok(crm("demo"))
    assert "password unchanged" in again and "demo data ready: 0 teams and 0 users added" in again


def test_demo_prints_every_demo_users_password_once_and_resets_them_on_request(crm: Any, make_site: Any) -> None:
    out = ok(crm("demo"))
    printed = dict(re.findall(r"^  (\S+@example\.com)\s+(\S+)\s+\w+$", out, re.M))
    assert set(printed) == {user["email"] for user in DEMO_USERS}
    site = make_site(notes_plugin)
    assert login(site, "li.na@example.com", printed["li.na@example.com"]).role == "sales_rep"
    again = ok(crm("demo"))
    assert "password unchanged" in again and "crm demo --reset-passwords" in again
    assert not any(password in again for password in printed.values())  # shown once
    reset = ok(crm("demo", "--reset-passwords"))
    admin_password = re.search(rf"admin login: {re.escape(DEMO_ADMIN_EMAIL)} / (\S+)", reset).group(1)
    fresh = dict(re.findall(r"^  (\S+@example\.com)\s+(\S+)\s+\w+$", reset, re.M))
    assert set(fresh) == set(printed) and all(fresh[email] != printed[email] for email in printed)
    assert login(site, DEMO_ADMIN_EMAIL, admin_password).role == "admin"
    assert login(site, "li.na@example.com", fresh["li.na@example.com"]).role == "sales_rep"


def test_users_set_password_ends_old_credentials_and_applies_the_policy(crm: Any, make_site: Any) -> None:
    ok(crm("init", "--admin-password", "first-password"))
    ok(crm("users", "add", "rep@example.com", "--password", "rep-password", "--role", "sales_rep"))
    site = make_site(notes_plugin)
    out = ok(crm("users", "set-password", "rep@example.com", "--password", "a-fresh-passphrase"))
    assert "password changed" in out
    assert login(site, "rep@example.com", "a-fresh-passphrase").email == "rep@example.com"
    prompted = ok(crm("users", "set-password", "rep@example.com", input="prompted-passphrase\nprompted-passphrase\n"))
    assert "prompted-passphrase" not in prompted
    assert login(site, "rep@example.com", "prompted-passphrase").email == "rep@example.com"
    user_error(crm("users", "set-password", "rep@example.com", "--password", "1234567890"), "password", "digits")
    user_error(crm("users", "set-password", "nobody@example.com", "--password", "a-fresh-passphrase"), "nobody@example.com")
    user_error(crm("users", "add", "z@example.com", "--password", "12345678", "--role", "sales_rep"), "password", "10 characters")


def test_serve_runs_on_uvloop_and_httptools_and_says_so(crm: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    import uvicorn

    ran: list[dict[str, Any]] = []
    monkeypatch.setattr(uvicorn, "run", lambda app, **options: ran.append(options))
    ok(crm("db", "upgrade"))
    output = ok(crm("serve", "--port", "12001"))
    assert "on uvloop + httptools, 8 request threads each" in output
    assert ran and ran[0]["loop"] == "uvloop" and ran[0]["http"] == "httptools"


def test_db_reindex_rebuilds_search_documents(crm, make_site):
    ok(crm("db", "upgrade"))
    assert "6 roles" in ok(crm("db", "reindex"))
    assert ok(crm("db", "reindex", "roles")).strip() == "reindexed: 6 roles"
    make_site(notes_plugin).records.create(ADMIN, "teams", {"name": "North"})
    assert ok(crm("db", "reindex", "teams")).strip() == "reindexed: 1 team"
    user_error(crm("db", "reindex", "nope"), "nope")
