"""The recycle bin: delete → bin → restore with the rows that go along, who may restore, unique
conflicts, the purge job, set-based ``delete_many``, and system actions in the audit log."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy.orm import Mapped, mapped_column

from kernel import Actor, Base, Conflict, Entity, Forbidden, Money, NotFound, RecordMixin, ValidationError, Vetoed
from kernel.entities import check_entity
from kernel.models import AuditEntry, TrashEntry
from kernel.testing import create_app, issue_token, plugin_module, run_due_jobs

SYSTEM = Actor.system("cli")
AUDIT = AuditEntry.__table__
TRASH = TrashEntry.__table__


class Folder(RecordMixin, Base):
    __tablename__ = "bintest_folders"
    name: Mapped[str] = mapped_column(sa.String(200), nullable=False)
    code: Mapped[str | None] = mapped_column(sa.String(20), nullable=True, unique=True)
    owner_id: Mapped[int | None] = mapped_column(sa.BigInteger, nullable=True, index=True)


class Item(RecordMixin, Base):
    __tablename__ = "bintest_items"
    folder_id: Mapped[int] = mapped_column(sa.ForeignKey("bintest_folders.id"), nullable=False, index=True)
    title: Mapped[str] = mapped_column(sa.String(200), nullable=False)
    amount: Mapped[Decimal | None] = mapped_column(Money(), nullable=True)
    due: Mapped[date | None] = mapped_column(sa.Date, nullable=True)


class Tag(RecordMixin, Base):
    __tablename__ = "bintest_tags"
    entity: Mapped[str] = mapped_column(sa.String(80), nullable=False)
    record_id: Mapped[int] = mapped_column(sa.BigInteger, nullable=False)
    label: Mapped[str] = mapped_column(sa.String(80), nullable=False)


class FolderFields(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = Field(min_length=1)
    code: str | None = None
    owner_id: int | None = None


class ItemFields(BaseModel):
    model_config = ConfigDict(extra="forbid")
    folder_id: int
    title: str
    amount: Decimal | None = None
    due: date | None = None


class TagFields(BaseModel):
    model_config = ConfigDict(extra="forbid")
    entity: str
    record_id: int
    label: str


def entities() -> list[Entity]:
    def labels(word: str) -> dict[str, str]:
        return {"en": word, "zh_CN": word}

    return [
        Entity("bintest_folders", labels("Folder"), labels("Folders"), Folder, FolderFields, searchable=("name",), owner_field="owner_id"),
        Entity("bintest_items", labels("Item"), labels("Items"), Item, ItemFields, searchable=("title",),
               parent=("folder_id", "bintest_folders"), deleted_with_parent=True),
        Entity("bintest_tags", labels("Tag"), labels("Tags"), Tag, TagFields, parent=("entity", "record_id"), deleted_with_parent=True),
    ]


class Calls:
    """What the hooks saw."""

    def __init__(self) -> None:
        self.batches: list[tuple[str, int]] = []  # before_delete_many: (entity, size)
        self.single: list[tuple[str, int]] = []  # after_delete of a plugin with only the single hook
        self.restored: list[tuple[str, list[int]]] = []


@pytest.fixture
def anyio_backend():
    return "asyncio"


@pytest.fixture
def calls() -> Calls:
    return Calls()


@pytest.fixture
def site(make_site, calls):
    def before_delete_many(entity, records):
        if entity.startswith("bintest_"):
            calls.batches.append((entity, len(records)))
            if any(r.get("name") == "keep me" for r in records):
                raise Vetoed.at(["name"], "this folder is kept")

    def after_restore(entity, records):
        calls.restored.append((entity, [r["id"] for r in records]))

    def after_delete(entity, record):
        calls.single.append((entity, record["id"]))

    bins = plugin_module("bintest", register_entities=entities, before_delete_many=before_delete_many, after_restore=after_restore)
    watcher = plugin_module("binwatch", after_delete=after_delete)
    site = make_site(bins, watcher, refresh_seconds=3600)  # the statement count is the write's, not the view's polling
    Base.metadata.create_all(site.engine, tables=[Folder.__table__, Item.__table__, Tag.__table__])
    return site


def people(site) -> dict[str, Actor]:
    team = site.records.create(SYSTEM, "teams", {"name": "North"})
    found = {}
    for key, role in (("boss", "sales_manager"), ("other", "sales_manager"), ("rep", "sales_rep"), ("admin", "admin")):
        user = site.records.create(SYSTEM, "users", {"email": f"{key}@example.com", "role": role, "team_id": team["id"] if key == "boss" else None})
        found[key] = Actor(user_id=user["id"], label=user["email"], role=role, team_id=user["team_id"])
    return found


def http(site, actor: Actor):
    app = create_app(site=site)
    token = issue_token(site, actor.user_id)["token"]
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    return httpx.AsyncClient(transport=transport, base_url="http://testserver", headers={"Authorization": f"Bearer {token}"})


async def call(site, actor, method, url, **kwargs) -> httpx.Response:
    async with http(site, actor) as client:
        return await client.request(method, url, **kwargs)


def a_folder(site, actor, name="Plans", code="P1", items=2) -> tuple[dict[str, Any], list[dict[str, Any]], dict[str, Any]]:
    folder = site.records.create(actor, "bintest_folders", {"name": name, "code": code})
    made = [
        site.records.create(SYSTEM, "bintest_items", {"folder_id": folder["id"], "title": f"item {i}", "amount": Decimal("1234.50"), "due": date(2026, 3, i + 1)})
        for i in range(items)
    ]
    tag = site.records.create(SYSTEM, "bintest_tags", {"entity": "bintest_items", "record_id": made[0]["id"], "label": "urgent"})
    return folder, made, tag


def table_ids(site, table) -> list[int]:
    with site.engine.connect() as conn:
        return sorted(conn.scalars(sa.select(table.c.id)))


@pytest.mark.anyio
async def test_delete_goes_to_the_bin_with_its_children_and_restore_brings_all_back(site, calls, clock):
    who = people(site)
    folder, items, tag = a_folder(site, who["boss"])
    assert (await call(site, who["boss"], "DELETE", f"/api/v1/bintest_folders/{folder['id']}")).status_code == 204
    assert table_ids(site, Folder.__table__) == table_ids(site, Item.__table__) == table_ids(site, Tag.__table__) == []
    assert site.records.list(SYSTEM, "bintest_items", q="item").total == 0
    assert calls.batches == [("bintest_folders", 1), ("bintest_items", 2), ("bintest_tags", 1)]
    assert sorted(calls.single) == sorted([("bintest_folders", folder["id"]), *(("bintest_items", i["id"]) for i in items), ("bintest_tags", tag["id"])])

    listed = (await call(site, who["boss"], "GET", "/api/v1/trash?entity=bintest_folders")).json()
    item = listed["items"][0]
    assert listed["total"] == 1 and (item["record_id"], item["title"]) == (folder["id"], "Plans")
    assert item["children"] == {"bintest_items": 2, "bintest_tags": 1}
    assert item["deleted_by"] == who["boss"].user_id and item["expires_at"].startswith((clock.now() + timedelta(days=30)).date().isoformat())
    assert (await call(site, who["other"], "GET", "/api/v1/trash")).json()["total"] == 0  # not theirs
    assert (await call(site, who["admin"], "GET", "/api/v1/trash")).json()["total"] == 1  # an admin sees all
    child = await call(site, who["boss"], "POST", f"/api/v1/bintest_items/{items[0]['id']}/restore")
    assert child.status_code == 404 and f"restore bintest_folders record {folder['id']}" in child.json()["error"]["details"][0]["msg"]

    clock.advance(hours=1)
    answer = await call(site, who["boss"], "POST", f"/api/v1/bintest_folders/{folder['id']}/restore")
    assert answer.status_code == 200, answer.text
    assert answer.json()["name"] == "Plans" and answer.json()["updated_at"].startswith(clock.now().isoformat()[:19])
    back = site.records.get(SYSTEM, "bintest_items", items[0]["id"])
    assert (back["amount"], back["due"], back["created_at"]) == (Decimal("1234.50"), date(2026, 3, 1), items[0]["created_at"])
    assert site.records.get(SYSTEM, "bintest_tags", tag["id"])["label"] == "urgent"
    assert site.records.list(SYSTEM, "bintest_items", q="item").total == 2  # searchable again
    assert calls.restored == [("bintest_folders", [folder["id"]]), ("bintest_items", [i["id"] for i in items]), ("bintest_tags", [tag["id"]])]
    history = (await call(site, who["boss"], "GET", f"/api/v1/bintest_folders/{folder['id']}/history")).json()["items"]
    assert [e["action"] for e in history] == ["restore", "delete", "create"]
    assert history[0]["changes"]["code"] == [None, "P1"]
    with site.engine.connect() as conn:
        assert conn.scalar(sa.select(sa.func.count()).select_from(TRASH)) == 0


def test_only_the_deleter_or_an_admin_restores(site):
    who = people(site)
    folder, _, _ = a_folder(site, who["boss"])
    site.records.delete(who["boss"], "bintest_folders", folder["id"])
    with pytest.raises(NotFound):
        site.records.restore(who["other"], "bintest_folders", folder["id"])  # a record they may not see: 404
    with pytest.raises(NotFound):
        site.records.restore(who["rep"], "bintest_folders", folder["id"])
    assert site.records.restore(who["admin"], "bintest_folders", folder["id"])["id"] == folder["id"]
    with pytest.raises(NotFound):
        site.records.restore(who["admin"], "bintest_folders", folder["id"])  # out of the bin already


@pytest.mark.anyio
async def test_a_unique_value_taken_meanwhile_is_a_409_naming_the_field(site):
    who = people(site)
    folder, _, _ = a_folder(site, who["boss"], code="P1")
    site.records.delete(who["boss"], "bintest_folders", folder["id"])
    site.records.create(who["boss"], "bintest_folders", {"name": "Newer", "code": "P1"})  # free again: the row left its table
    answer = await call(site, who["boss"], "POST", f"/api/v1/bintest_folders/{folder['id']}/restore")
    assert answer.status_code == 409
    assert answer.json()["error"]["details"] == [{"loc": ["code"], "msg": "already taken by another record"}]
    assert table_ids(site, Item.__table__) == []  # nothing came back
    with pytest.raises(Conflict):
        site.records.restore(who["boss"], "bintest_folders", folder["id"])


def test_a_record_whose_parent_is_gone_is_a_409(site):
    who = people(site)
    folder, items, _ = a_folder(site, who["admin"], items=1)
    site.records.delete(who["admin"], "bintest_items", items[0]["id"])  # on its own: its tag goes with it
    site.records.delete(who["admin"], "bintest_folders", folder["id"])
    with pytest.raises(Conflict, match="folder_id"):
        site.records.restore(who["admin"], "bintest_items", items[0]["id"])
    site.records.restore(who["admin"], "bintest_folders", folder["id"])
    assert site.records.restore(who["admin"], "bintest_items", items[0]["id"])["folder_id"] == folder["id"]
    assert len(table_ids(site, Tag.__table__)) == 1


def test_the_purge_job_removes_what_waited_longer_than_trash_days(site, clock):
    who = people(site)
    first, _, _ = a_folder(site, who["boss"], code="A")
    second, _, _ = a_folder(site, who["boss"], code="B")
    site.records.delete(who["boss"], "bintest_folders", first["id"])
    clock.advance(days=10)
    site.records.delete(who["boss"], "bintest_folders", second["id"])
    clock.advance(days=20, minutes=1)  # the first has waited 30 days and a minute
    outcome = [o for o in run_due_jobs(site) if o.job == "kernel.purge_trash"]
    assert [(o.status, o.result) for o in outcome] == [("done", 4)]  # the folder, two items, a tag
    with pytest.raises(NotFound):
        site.records.restore(who["boss"], "bintest_folders", first["id"])
    assert site.records.restore(who["boss"], "bintest_folders", second["id"])["id"] == second["id"]
    site.records.delete(who["boss"], "bintest_folders", second["id"])
    from kernel import systemsettings

    systemsettings.change(site, who["admin"], "crm", {"trash_days": 1})  # an admin shortens it at run time
    clock.advance(days=1, minutes=1)
    assert [o.result for o in run_due_jobs(site) if o.job == "kernel.purge_trash"] == [4]


def test_delete_many_is_set_based_audited_per_record_and_goes_to_the_bin(site, calls):
    who = people(site)
    boss = who["boss"]
    ids = site.records.create_many(boss, "bintest_folders", [{"name": f"f{i}"} for i in range(2000)])
    for folder_id in ids[:3]:
        site.records.create(SYSTEM, "bintest_items", {"folder_id": folder_id, "title": "x"})
    statements: list[str] = []

    def count(conn, cursor, statement, parameters, context, executemany):
        statements.append(statement)

    sa.event.listen(site.engine, "before_cursor_execute", count)
    try:
        deleted = site.records.delete_many(boss, "bintest_folders", ids=ids)
    finally:
        sa.event.remove(site.engine, "before_cursor_execute", count)
    assert deleted == ids
    assert len(statements) <= 15, statements  # 10-11 today: a handful, not one per record
    assert calls.batches == [("bintest_folders", 2000), ("bintest_items", 3)]
    assert len(calls.single) == 2003  # a plugin with only after_delete: called per record
    with site.engine.connect() as conn:
        audited = conn.scalar(sa.select(sa.func.count()).select_from(AUDIT).where(AUDIT.c.action == "delete", AUDIT.c.entity == "bintest_folders"))
        binned = conn.scalar(sa.select(sa.func.count()).select_from(TRASH).where(TRASH.c.with_entity.is_(None)))
    assert (audited, binned) == (2000, 2000)
    assert table_ids(site, Folder.__table__) == []


def test_delete_many_checks_rights_and_refuses_the_batch_as_a_whole(site):
    who = people(site)
    mine = site.records.create_many(who["boss"], "bintest_folders", [{"name": "a"}, {"name": "b"}, {"name": "keep me"}])
    theirs = site.records.create(who["other"], "bintest_folders", {"name": "c"})
    with pytest.raises(NotFound) as caught:
        site.records.delete_many(who["boss"], "bintest_folders", ids=[mine[0], theirs["id"]])
    assert caught.value.details == [{"loc": ["ids", 1], "msg": "not found"}]
    with pytest.raises(Forbidden):
        site.records.delete_many(who["rep"], "bintest_folders", ids=[mine[0]])  # no bintest_folders.delete
    with pytest.raises(Vetoed):
        site.records.delete_many(who["boss"], "bintest_folders", where={"name__gte": "a"})  # the batch holds "keep me"
    with pytest.raises(ValidationError):
        site.records.delete_many(who["boss"], "bintest_folders", ids=[1], where={"name": "a"})
    assert table_ids(site, Folder.__table__) == sorted([*mine, theirs["id"]])
    assert site.records.delete_many(who["boss"], "bintest_folders", where={"name": "b"}) == [mine[1]]
    assert site.records.delete_many(who["admin"], "bintest_folders", where=Folder.__table__.c.name == "c") == [theirs["id"]]


def test_system_actions_raise_rights_and_the_audit_names_the_real_user_or_job(site):
    who = people(site)
    theirs = site.records.create(who["other"], "bintest_folders", {"name": "theirs"})
    with pytest.raises(NotFound):
        site.records.update(who["rep"], "bintest_folders", theirs["id"], {"name": "moved"})
    elevated = who["rep"].elevated("bintest.move")
    assert (elevated.role, elevated.user_id, who["rep"].role) == ("admin", who["rep"].user_id, "sales_rep")
    site.records.update(elevated, "bintest_folders", theirs["id"], {"name": "moved"})
    job = Actor.system(job="bintest.sweep")
    site.records.update(job, "bintest_folders", theirs["id"], {"name": "swept"})
    for_user = Actor.system(job="bintest.import", on_behalf_of=who["rep"])
    site.records.update(for_user, "bintest_folders", theirs["id"], {"name": "imported"})
    with site.engine.connect() as conn:
        rows = conn.execute(
            sa.select(AUDIT.c.actor_id, AUDIT.c.actor, AUDIT.c.channel, AUDIT.c.raised_for)
            .where(AUDIT.c.entity == "bintest_folders", AUDIT.c.action == "update").order_by(AUDIT.c.id)
        ).all()
    assert [tuple(r) for r in rows] == [
        (who["rep"].user_id, "rep@example.com", "api", "bintest.move"),
        (None, "job:bintest.sweep", "job", "job:bintest.sweep"),
        (who["rep"].user_id, "rep@example.com", "job", "job:bintest.import"),
    ]
    with pytest.raises(ValueError):
        who["rep"].elevated(" ")


def test_trash_and_restore_are_reserved(site):
    folders = entities()[0]
    from dataclasses import replace

    from kernel import Action

    for name in ("trash", "restore"):
        with pytest.raises(TypeError, match="plural snake_case"):
            check_entity(replace(folders, name=name))
        with pytest.raises(TypeError, match="the kernel's own"):
            check_entity(replace(folders, actions=(Action(name, {"en": name}, lambda **_: {}),)))
    with pytest.raises(TypeError, match="deleted_with_parent needs a parent"):
        check_entity(replace(folders, deleted_with_parent=True))


@pytest.mark.anyio
async def test_the_bin_api_refuses_an_unknown_entity(site):
    who = people(site)
    answer = await call(site, who["boss"], "GET", "/api/v1/trash?entity=nope")
    assert answer.status_code == 422 and answer.json()["error"]["details"][0]["loc"] == ["query", "entity"]


def test_trash_days_is_a_setting_with_bounds():
    from kernel import ConfigError
    from kernel.settings import parse_settings

    assert parse_settings({}).trash_days == 30
    assert parse_settings({"crm": {"trash_days": 7}}).trash_days == 7
    for wrong in (0, "30", 40000):
        with pytest.raises(ConfigError, match="trash_days"):
            parse_settings({"crm": {"trash_days": wrong}})
