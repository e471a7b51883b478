"""Numbering sequences: unique, gap-free numbers taken in the write transaction, and their admin API."""

from __future__ import annotations

import threading
from datetime import datetime, timezone
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy.orm import Mapped, mapped_column

from kernel import Actor, Base, Entity, NumberSequence, RecordMixin, ValidationError, Vetoed
from kernel.models import AuditEntry
from kernel.testing import create_app, issue_token, plugin_module

SYSTEM = Actor.system("cli")
ORDER_NUMBERS = NumberSequence("seqtest_docs", prefix="SO-{year}-", padding=6, reset="yearly")


class SeqDoc(RecordMixin, Base):
    __tablename__ = "seqtest_docs"
    title: Mapped[str] = mapped_column(sa.String(200), nullable=False)
    number: Mapped[str] = mapped_column(sa.String(64), nullable=False, unique=True)


class SeqDocFields(BaseModel):
    model_config = ConfigDict(extra="forbid")
    title: str = Field(min_length=1, max_length=200)


def documents(**overrides: Any) -> Entity:
    options: dict[str, Any] = {
        "name": "seqtest_docs",
        "label": {"en": "Document", "zh_CN": "单据"},
        "label_plural": {"en": "Documents", "zh_CN": "单据"},
        "model": SeqDoc,
        "fields": SeqDocFields,
        "numbered": {"number": ORDER_NUMBERS},
    }
    return Entity(**{**options, **overrides})


def refuse_boom(site, conn, actor, entity, record):
    if entity == "seqtest_docs" and record["title"] == "boom":
        raise Vetoed("boom is refused after the insert")


@pytest.fixture
def site(make_site):
    plugin = plugin_module("seqtest", register_entities=lambda: [documents()], after_create=refuse_boom)
    # refresh_seconds: with 0 (the tests' default) every site.view reads the registry version on a
    # second connection, inside the write transaction; 20 writers waiting for SQLite's lock would
    # then hold the whole pool (16) and the one holding the lock could not get its second connection.
    site = make_site(plugin, refresh_seconds=3600)
    SeqDoc.__table__.create(site.engine)
    return site


def numbers(site) -> list[str]:
    with site.engine.connect() as conn:
        return list(conn.scalars(sa.select(SeqDoc.__table__.c.number).order_by(SeqDoc.__table__.c.number)))


def test_twenty_parallel_creates_get_twenty_consecutive_numbers(site):
    errors: list[BaseException] = []
    start = threading.Barrier(20)

    def create(index: int) -> None:
        try:
            start.wait(timeout=10)
            site.records.create(SYSTEM, "seqtest_docs", {"title": f"doc {index}"})
        except BaseException as exc:  # noqa: BLE001 - collected for the assertion
            errors.append(exc)

    threads = [threading.Thread(target=create, args=(i,)) for i in range(20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert errors == []
    assert numbers(site) == [f"SO-2026-{n:06d}" for n in range(1, 21)]


def test_a_rolled_back_create_gives_its_number_back(site):
    assert site.records.create(SYSTEM, "seqtest_docs", {"title": "first"})["number"] == "SO-2026-000001"
    with pytest.raises(Vetoed):  # refused after the row (and its number) was written
        site.records.create(SYSTEM, "seqtest_docs", {"title": "boom"})
    with pytest.raises(RuntimeError):
        with site.write() as conn:
            site.records.create(SYSTEM, "seqtest_docs", {"title": "in a larger transaction"}, conn=conn)
            raise RuntimeError("the caller gives up")
    assert site.records.create(SYSTEM, "seqtest_docs", {"title": "second"})["number"] == "SO-2026-000002"
    assert numbers(site) == ["SO-2026-000001", "SO-2026-000002"]


def test_create_many_numbers_rows_in_order(site):
    ids = site.records.create_many(SYSTEM, "seqtest_docs", [{"title": t} for t in ("a", "b", "c")])
    records = [site.records.get(SYSTEM, "seqtest_docs", id_) for id_ in ids]
    assert [(r["title"], r["number"]) for r in records] == [("a", "SO-2026-000001"), ("b", "SO-2026-000002"), ("c", "SO-2026-000003")]
    made = site.records.create_many(SYSTEM, "seqtest_docs", [{"title": "d"}, {"title": "e"}], return_records=True)
    assert [r["number"] for r in made] == ["SO-2026-000004", "SO-2026-000005"]


def test_a_yearly_sequence_starts_again_in_a_new_year(site, clock):
    site.records.create_many(SYSTEM, "seqtest_docs", [{"title": "a"}, {"title": "b"}])
    clock.set(datetime(2026, 12, 31, 23, 59, tzinfo=timezone.utc))
    assert site.records.create(SYSTEM, "seqtest_docs", {"title": "late"})["number"] == "SO-2026-000003"
    clock.set(datetime(2027, 1, 1, 0, 1, tzinfo=timezone.utc))
    assert site.records.create(SYSTEM, "seqtest_docs", {"title": "new year"})["number"] == "SO-2027-000001"
    assert site.records.create(SYSTEM, "seqtest_docs", {"title": "next"})["number"] == "SO-2027-000002"


def test_a_sent_number_is_refused_on_create_and_update(site):
    with pytest.raises(ValidationError) as refused:
        site.records.create(SYSTEM, "seqtest_docs", {"title": "x", "number": "SO-2026-999999"})
    assert refused.value.details[0]["loc"] == ["number"] and "read-only" in refused.value.details[0]["msg"]
    with pytest.raises(ValidationError) as in_batch:
        site.records.create_many(SYSTEM, "seqtest_docs", [{"title": "ok"}, {"title": "x", "number": "1"}])
    assert in_batch.value.details[0]["loc"] == [1, "number"]
    record = site.records.create(SYSTEM, "seqtest_docs", {"title": "x"})
    with pytest.raises(ValidationError) as changed:
        site.records.update(SYSTEM, "seqtest_docs", record["id"], {"number": "SO-2026-000777"})
    assert changed.value.details[0]["loc"] == ["number"]
    assert numbers(site) == ["SO-2026-000001"]


@pytest.mark.parametrize(
    ("overrides", "reason"),
    [
        ({"numbered": {"number": NumberSequence("seqtest_docs", prefix="SO-", reset="yearly")}}, "needs {year}"),
        ({"numbered": {"number": NumberSequence("seqtest_docs", prefix="SO-{day}-")}}, "placeholders"),
        ({"numbered": {"number": NumberSequence("seqtest_docs", padding=0)}}, "padding"),
        ({"numbered": {"number": NumberSequence("seqtest_docs", time_zone="Mars/Base")}}, "time_zone"),
        ({"numbered": {"title": ORDER_NUMBERS}}, "input fields"),
        ({"numbered": {"missing": ORDER_NUMBERS}}, "text column"),
    ],
)
def test_a_declaration_the_kernel_cannot_honour_is_refused_at_start_up(overrides, reason):
    from kernel.entities import check_entity

    with pytest.raises(TypeError, match=reason.replace("{", r"\{").replace("}", r"\}")):
        check_entity(documents(**overrides))


# -- the admin API -----------------------------------------------------------------------


@pytest.fixture
def anyio_backend():
    return "asyncio"


def client_for(site, email: str, role: str) -> httpx.AsyncClient:
    user = site.records.create(SYSTEM, "users", {"email": email, "password": "s3cret-pass", "role": role})
    token = issue_token(site, user["id"])["token"]
    transport = httpx.ASGITransport(app=create_app(site=site), raise_app_exceptions=False)
    return httpx.AsyncClient(transport=transport, base_url="http://testserver", headers={"Authorization": f"Bearer {token}"})


def error_locs(response) -> list[list[Any]]:
    assert response.status_code == 422, response.text
    return [d["loc"] for d in response.json()["error"]["details"]]


@pytest.mark.anyio
async def test_admins_list_and_change_a_sequence_and_the_change_is_audited(site, clock):
    site.records.create_many(SYSTEM, "seqtest_docs", [{"title": "a"}, {"title": "b"}])
    async with client_for(site, "admin@example.com", "admin") as admin:
        [listed] = (await admin.get("/api/v1/meta/sequences")).json()["items"]
        assert listed == {
            "name": "seqtest_docs", "entities": ["seqtest_docs"], "prefix": "SO-{year}-", "padding": 6, "reset": "yearly",
            "time_zone": "UTC", "changed": False, "period": "2026", "next": 3, "last_used": 2, "next_number": "SO-2026-000003",
        }
        changed = await admin.patch("/api/v1/meta/sequences/seqtest_docs", json={"prefix": "ORD{year}{month}-", "padding": 4, "next": 100})
        assert changed.status_code == 200, changed.text
        assert changed.json()["next_number"] == "ORD202601-0100" and changed.json()["changed"] is True
        back = await admin.patch("/api/v1/meta/sequences/seqtest_docs", json={"prefix": "SO-{year}-", "padding": 6})
        assert back.json()["changed"] is False and back.json()["next_number"] == "SO-2026-000100"  # the count stays
        await admin.patch("/api/v1/meta/sequences/seqtest_docs", json={"prefix": "ORD{year}{month}-", "padding": 4})
        described = (await admin.get("/api/v1/meta/entities/seqtest_docs")).json()
        assert described["numbered"] == {"number": "seqtest_docs"} and "number" not in described["fields"]["properties"]
        paths = (await admin.get("/api/v1/openapi.json")).json()["paths"]
        assert "get" in paths["/api/v1/meta/sequences"] and "patch" in paths["/api/v1/meta/sequences/{name}"]
    assert site.records.create(SYSTEM, "seqtest_docs", {"title": "c"})["number"] == "ORD202601-0100"
    audit = AuditEntry.__table__
    with site.engine.connect() as conn:
        entries = conn.execute(sa.select(audit).where(audit.c.entity == "sequences").order_by(audit.c.id)).all()
    assert len(entries) == 3
    entry = entries[0]
    assert entry.action == "update" and entry.actor == "admin@example.com"
    assert entry.changes == {"seqtest_docs.prefix": ["SO-{year}-", "ORD{year}{month}-"], "seqtest_docs.padding": [6, 4], "seqtest_docs.next": [3, 100]}


@pytest.mark.anyio
async def test_changing_the_reset_carries_the_count_on_and_a_time_zone_moves_the_period(site, clock):
    site.records.create_many(SYSTEM, "seqtest_docs", [{"title": "a"}, {"title": "b"}])
    async with client_for(site, "admin@example.com", "admin") as admin:
        never = await admin.patch("/api/v1/meta/sequences/seqtest_docs", json={"reset": "never"})
        assert never.json()["period"] == "" and never.json()["next_number"] == "SO-2026-000003"
        assert error_locs(await admin.patch("/api/v1/meta/sequences/seqtest_docs", json={"next": 2})) == [["body", "next"]]
        await admin.patch("/api/v1/meta/sequences/seqtest_docs", json={"reset": "yearly", "time_zone": "Asia/Shanghai"})
    assert site.records.create(SYSTEM, "seqtest_docs", {"title": "c"})["number"] == "SO-2026-000003"
    clock.set(datetime(2026, 12, 31, 17, 0, tzinfo=timezone.utc))  # already 1 January 2027 in Shanghai
    assert site.records.create(SYSTEM, "seqtest_docs", {"title": "d"})["number"] == "SO-2027-000001"


@pytest.mark.anyio
async def test_bad_changes_are_refused_naming_the_field_and_nothing_is_stored(site):
    site.records.create_many(SYSTEM, "seqtest_docs", [{"title": "a"}, {"title": "b"}])
    url = "/api/v1/meta/sequences/seqtest_docs"
    async with client_for(site, "admin@example.com", "admin") as admin:
        assert error_locs(await admin.patch(url, json={"prefix": "SO-{day}-"})) == [["body", "prefix"]]
        assert error_locs(await admin.patch(url, json={"prefix": "SO-"})) == [["body", "prefix"]]  # yearly needs {year}
        assert error_locs(await admin.patch(url, json={"reset": "weekly"})) == [["body", "reset"]]
        assert error_locs(await admin.patch(url, json={"padding": "6"})) == [["body", "padding"]]
        assert error_locs(await admin.patch(url, json={"padding": 13})) == [["body", "padding"]]
        assert error_locs(await admin.patch(url, json={"time_zone": "Mars/Base"})) == [["body", "time_zone"]]
        assert error_locs(await admin.patch(url, json={"next": 2})) == [["body", "next"]]  # 2 was handed out
        assert error_locs(await admin.patch(url, json={"next": True})) == [["body", "next"]]
        assert error_locs(await admin.patch(url, json={"prefix": "X-{year}-", "colour": "red"})) == [["body", "colour"]]
        assert error_locs(await admin.patch(url, json={})) == [["body"]]
        assert error_locs(await admin.patch(url, json=["prefix"])) == [["body"]]
        missing = await admin.patch("/api/v1/meta/sequences/planets", json={"padding": 4})
        assert missing.status_code == 404 and missing.json()["error"]["details"][0]["loc"] == ["path", "name"]
        [listed] = (await admin.get("/api/v1/meta/sequences")).json()["items"]
    assert (listed["prefix"], listed["padding"], listed["next"], listed["changed"]) == ("SO-{year}-", 6, 3, False)
    with site.engine.connect() as conn:
        assert conn.scalar(sa.select(sa.func.count()).select_from(AuditEntry.__table__).where(AuditEntry.__table__.c.entity == "sequences")) == 0


@pytest.mark.anyio
async def test_only_admins_see_or_change_sequences(site):
    async with client_for(site, "rep@example.com", "sales_rep") as rep:
        assert (await rep.get("/api/v1/meta/sequences")).status_code == 403
        assert (await rep.patch("/api/v1/meta/sequences/seqtest_docs", json={"next": 50})).status_code == 403
    assert site.records.create(SYSTEM, "seqtest_docs", {"title": "a"})["number"] == "SO-2026-000001"


def test_a_create_that_waited_for_an_admin_changing_the_reset_never_repeats_a_number(site, monkeypatch):
    """The create read the old settings, then waited for the counter row the admin's change holds."""
    from kernel import sequences
    from kernel.site import WriteClash

    site.records.create_many(SYSTEM, "seqtest_docs", [{"title": "a"}, {"title": "b"}])
    locked, release = threading.Event(), threading.Event()
    really_read = sequences._counter

    def read_and_wait(conn, name, period, *, lock=False):
        row = really_read(conn, name, period, lock=lock)
        if lock and period == "2026":  # the change holds the old period's counter, whose count it carries on
            locked.set()
            release.wait(timeout=10)
        return row

    monkeypatch.setattr(sequences, "_counter", read_and_wait)
    admin = threading.Thread(target=sequences.change, args=(site, SYSTEM, "seqtest_docs", {"reset": "never"}))
    admin.start()
    assert locked.wait(timeout=10)
    outcome: list[Any] = []
    creator = threading.Thread(target=lambda: outcome.append(_create_or_clash(site, "c")))
    creator.start()
    creator.join(timeout=1)  # it waits: for the counter row (PostgreSQL) or the write lock (SQLite)
    assert outcome == []
    release.set()
    admin.join(timeout=10)
    creator.join(timeout=10)
    if site.engine.dialect.name == "postgresql":  # it had read the yearly settings: sent back, nothing written
        assert len(outcome) == 1 and isinstance(outcome[0], WriteClash)
    else:  # it read the settings after the change
        assert outcome[0]["number"] == "SO-2026-000003"
    site.records.create(SYSTEM, "seqtest_docs", {"title": "d"})
    assert numbers(site) == sorted(set(numbers(site))) and len(numbers(site)) == (3 if isinstance(outcome[0], WriteClash) else 4)


def _create_or_clash(site, title: str) -> Any:
    try:
        return site.records.create(SYSTEM, "seqtest_docs", {"title": title})
    except Exception as exc:  # noqa: BLE001 - the outcome is the point
        return exc
