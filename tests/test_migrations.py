"""Migrations and models agree, for the kernel and for a plugin branch."""

import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from kernel import migrations
from kernel.db import Base
from kernel.search import FTS_PREFIX, TOKENS_INDEX
from tests.example import plugin as notes_plugin


def model_differences(site, prefixes):
    def include(obj, name, type_, reflected, compare_to):
        table = name if type_ == "table" else getattr(getattr(obj, "table", None), "name", "")
        if type_ == "index" and name and name.startswith("cfx_"):
            return False
        if name and (name.startswith(FTS_PREFIX) or name == TOKENS_INDEX):
            return False
        return bool(table) and table.startswith(prefixes)

    with site.engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"include_object": include, "compare_type": True})
        return compare_metadata(context, Base.metadata)


def test_kernel_and_plugin_migrations_match_the_models(make_site):
    site = make_site(notes_plugin)
    assert model_differences(site, ("kernel_", "notes_")) == []


def test_upgrade_is_idempotent_and_branch_by_branch(make_site):
    site = make_site(notes_plugin, plugins=())
    tables = set(sa.inspect(site.engine).get_table_names())
    assert "kernel_users" in tables and "notes_notes" not in tables
    assert migrations.upgrade(site) == ["core"]
    assert migrations.upgrade(site, ["notes"]) == ["core", "notes"]
    assert "notes_notes" in sa.inspect(site.engine).get_table_names()
    with site.engine.connect() as conn:
        heads = set(conn.scalars(sa.text("SELECT version_num FROM alembic_version")))
    assert len(heads) == 2


def test_builtin_roles_are_seeded(make_site):
    site = make_site()
    page = site.records.list(__import__("kernel").Actor.system(), "roles", sort="name")
    assert [r["name"] for r in page.items] == ["admin", "executive", "marketer", "sales_manager", "sales_rep", "service_agent"]
    assert next(r for r in page.items if r["name"] == "sales_rep")["label"]["zh_CN"] == "销售代表"


def test_pending_names_branches_not_yet_upgraded(make_site):
    make_site(notes_plugin, plugins=())  # initialized while notes was off
    site = make_site(notes_plugin, migrate=False)  # notes now on by crm.toml, as after installing it
    assert migrations.pending(site) == ["notes"]
    migrations.upgrade(site)
    assert migrations.pending(site) == []


def test_sqlite_new_search_documents_are_indexed_without_a_trigger_from_0030(make_site):
    """0030 drops the FTS5 insert trigger (``kernel.search.write`` indexes a batch itself); its downgrade makes it again."""
    site = make_site(notes_plugin)
    if site.engine.dialect.name != "sqlite":
        return
    from alembic import command

    def trigger() -> bool:
        with site.engine.connect() as conn:
            return conn.exec_driver_sql("SELECT 1 FROM sqlite_master WHERE type = 'trigger' AND name = 'kernel_search_inserted'").first() is not None

    assert not trigger()
    with site.write() as conn:
        command.downgrade(migrations.alembic_config(site, conn), "7a3f9c2e5b81")
    assert trigger()
    with site.write() as conn:
        command.upgrade(migrations.alembic_config(site, conn), "core@head")
    assert not trigger()


def test_0031_remakes_the_sqlite_fts_tables_without_sizes_and_keeps_every_document_found(make_site):
    """0031 makes both FTS5 tables again with ``columnsize=0`` and rebuilds them from the documents;
    its downgrade makes them as they were. On PostgreSQL it changes nothing (a GIN index). On either
    database, records written before each step are found after it."""
    from alembic import command

    from kernel import Actor, search

    site = make_site(notes_plugin)
    sqlite = site.engine.dialect.name == "sqlite"

    def made_with() -> set[str]:
        with site.engine.connect() as conn:
            return {row.sql for row in conn.exec_driver_sql(
                f"SELECT sql FROM sqlite_master WHERE name IN ('{search.FTS_TRIGRAM}', '{search.FTS_WORDS}')")}

    def found(q: str) -> list[str]:
        return [r["title"] for r in site.records.list(Actor.system(), "notes", q=q, sort="title").items]

    def sound() -> None:
        with site.engine.connect() as conn:
            if not sqlite:
                assert conn.scalar(sa.text("SELECT count(*) FROM pg_indexes WHERE schemaname = current_schema() AND indexname = :name"), {"name": search.TOKENS_INDEX}) == 1
                return
            for table in (search.FTS_TRIGRAM, search.FTS_WORDS):  # raises if an index differs from kernel_search
                conn.exec_driver_sql(f"INSERT INTO {table}({table}, rank) VALUES ('integrity-check', 1)")

    site.records.create_many(Actor.system(), "notes", [{"title": "李娜的退款流程"}, {"title": "王芳"}])
    if sqlite:
        assert len(made_with()) == 2 and all("columnsize=0" in sql for sql in made_with())
    with site.write() as conn:
        command.downgrade(migrations.alembic_config(site, conn), "3c8e1f7a9d20")
    if sqlite:
        assert not any("columnsize" in sql for sql in made_with())
    sound()
    assert found("退款") == ["李娜的退款流程"] and found("王") == ["王芳"]
    site.records.create(Actor.system(), "notes", {"title": "张伟退款"})
    with site.write() as conn:
        command.upgrade(migrations.alembic_config(site, conn), "core@head")
    if sqlite:
        assert len(made_with()) == 2 and all("columnsize=0" in sql for sql in made_with())
    sound()
    assert found("退款") == ["张伟退款", "李娜的退款流程"] and found("芳") == ["王芳"] and found("流程") == ["李娜的退款流程"]


def test_0032_sets_the_sqlite_fts_merge_width_and_its_downgrade_the_default(make_site):
    """0032 sets FTS5's ``automerge`` to 8 on both tables (kept in their ``%_config``); its downgrade
    sets FTS5's default, 4. Records written before each step are still found after it."""
    from alembic import command

    from kernel import Actor, search

    site = make_site(notes_plugin)
    sqlite = site.engine.dialect.name == "sqlite"

    def automerge() -> set[int]:
        with site.engine.connect() as conn:
            return {conn.exec_driver_sql(f"SELECT v FROM {table}_config WHERE k = 'automerge'").scalar_one() for table in (search.FTS_TRIGRAM, search.FTS_WORDS)}

    def found(q: str) -> list[str]:
        return [r["title"] for r in site.records.list(Actor.system(), "notes", q=q, sort="title").items]

    site.records.create_many(Actor.system(), "notes", [{"title": "李娜的退款流程"}, {"title": "王芳"}])
    if sqlite:
        assert automerge() == {search.FTS_AUTOMERGE} == {8}
    with site.write() as conn:
        command.downgrade(migrations.alembic_config(site, conn), "9b4d2e6f1a37")
    if sqlite:
        assert automerge() == {4}
    assert found("退款") == ["李娜的退款流程"]
    site.records.create(Actor.system(), "notes", {"title": "张伟退款"})
    with site.write() as conn:
        command.upgrade(migrations.alembic_config(site, conn), "core@head")
    if sqlite:
        assert automerge() == {8}
    assert found("退款") == ["张伟退款", "李娜的退款流程"] and found("芳") == ["王芳"]
