"""State machines as data: fixed and admin-edited states, guards, state events, editing sets in use."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from openapi_spec_validator import validate
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy.orm import Mapped, mapped_column

from kernel import (
    Action,
    Actor,
    Base,
    Conflict,
    Entity,
    Forbidden,
    Money,
    RecordMixin,
    State,
    StateMachine,
    ValidationError,
    Vetoed,
    state_events,
    state_events_table,
)
from kernel.models import AuditEntry
from kernel.testing import create_app, issue_token, plugin_module

SYSTEM = Actor.system("cli")
REP = Actor(user_id=None, label="rep@example.com", role="sales_rep")
MANAGER = Actor(user_id=None, label="boss@example.com", role="sales_manager")
EVENTS = state_events_table()


def label(en: str, zh: str) -> dict[str, str]:
    return {"en": en, "zh_CN": zh}


TASK_STATES = (
    State("todo", label("To do", "待办"), to=("doing", "dropped")),
    State("doing", label("Doing", "进行中"), to=("review", "todo", "dropped")),
    State("review", label("Review", "审核"), requires=("reviewer",), to=("done", "doing")),
    State("done", label("Done", "完成"), kind="won", to=()),
    State("dropped", label("Dropped", "放弃"), kind="closed", permission="sttest_tasks.drop"),
)


class Task(RecordMixin, Base):
    __tablename__ = "sttest_tasks"
    title: Mapped[str] = mapped_column(sa.String(200), nullable=False)
    status: Mapped[str] = mapped_column(sa.String(40), nullable=False)
    outcome: Mapped[str | None] = mapped_column(sa.String(10), nullable=True)
    reviewer: Mapped[str | None] = mapped_column(sa.String(100), nullable=True)
    amount: Mapped[Decimal | None] = mapped_column(Money(), nullable=True)


class TaskFields(BaseModel):
    model_config = ConfigDict(extra="forbid")
    title: str = Field(min_length=1, max_length=200)
    status: str | None = None
    reviewer: str | None = None
    amount: Decimal | None = None


class Deal(RecordMixin, Base):
    __tablename__ = "sttest_deals"
    name: Mapped[str] = mapped_column(sa.String(200), nullable=False)
    board_id: Mapped[int] = mapped_column(sa.BigInteger, nullable=False)
    stage: Mapped[str] = mapped_column(sa.String(40), nullable=False, index=True)
    outcome: Mapped[str | None] = mapped_column(sa.String(10), nullable=True)
    amount: Mapped[Decimal | None] = mapped_column(Money(), nullable=True)


class DealFields(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = Field(min_length=1, max_length=200)
    board_id: int = Field(ge=1)
    stage: str | None = None
    amount: Decimal | None = None


class Plain(RecordMixin, Base):
    __tablename__ = "sttest_plain"
    title: Mapped[str] = mapped_column(sa.String(200), nullable=False)


class PlainFields(BaseModel):
    model_config = ConfigDict(extra="forbid")
    title: str


def finish(site, conn, actor, entity, record, body):
    """An action moving the record through the write path, in the action's transaction."""
    return site.records.update(actor, entity.name, record["id"], {"status": "done"}, conn=conn)


def entities() -> list[Entity]:
    return [
        Entity(
            "sttest_tasks", label("Task", "任务"), label("Tasks", "任务"), Task, TaskFields,
            states=StateMachine("status", states=TASK_STATES, outcome="outcome", snapshot=("amount", "title")),
            actions=(Action("finish", label("Finish", "完成"), finish),),
        ),
        Entity(
            "sttest_deals", label("Deal", "交易"), label("Deals", "交易"), Deal, DealFields,
            states=StateMachine("stage", set_by="board_id", outcome="outcome", snapshot=("amount",)),
        ),
        Entity("sttest_plain", label("Plain", "普通"), label("Plain", "普通"), Plain, PlainFields),
    ]


def permissions() -> list[dict[str, Any]]:
    both = ["sales_manager", "sales_rep"]
    return [
        {"name": "sttest_tasks.update", "roles": both},
        {"name": "sttest_tasks.create", "roles": both},
        {"name": "sttest_tasks.drop", "label": label("Tasks: drop", "任务：放弃"), "roles": ["sales_manager"]},
    ]


SEEN: list[dict[str, Any]] = []


def refuse_blocked(site, conn, actor, entity, record, from_state, to_state):
    if entity == "sttest_tasks" and record["title"] == "blocked" and to_state == "done":
        raise Vetoed("blocked tasks wait for an approver", [{"loc": ["status"], "msg": "waiting for an approver"}])


def remember(site, conn, actor, entity, event):
    SEEN.append(event)


@pytest.fixture
def site(make_site):
    SEEN.clear()
    plugin = plugin_module(
        "sttest",
        register_entities=entities,
        register_permissions=permissions,
        before_transition=refuse_blocked,
        record_transition=remember,
    )
    site = make_site(plugin)
    for model in (Task, Deal, Plain):
        model.__table__.create(site.engine)
    return site


def events(site, entity: str, record_id: int) -> list[tuple[Any, ...]]:
    with site.engine.connect() as conn:
        return [(e["from_state"], e["to_state"], e["seconds"]) for e in state_events(conn, entity, record_id)]


def event_count(site) -> int:
    with site.engine.connect() as conn:
        return conn.scalar(sa.select(sa.func.count()).select_from(EVENTS))


# -- fixed list ----------------------------------------------------------------------------


def test_a_fixed_list_starts_records_in_the_first_state_and_times_every_move(site, clock):
    task = site.records.create(SYSTEM, "sttest_tasks", {"title": "write", "amount": "10.00"})
    assert (task["status"], task["outcome"]) == ("todo", "open")
    clock.advance(hours=2)
    site.records.update(SYSTEM, "sttest_tasks", task["id"], {"status": "doing", "amount": "12.50"})
    clock.advance(minutes=30)
    site.records.update(SYSTEM, "sttest_tasks", task["id"], {"status": "review"})
    clock.advance(days=1)
    with pytest.raises(ValidationError) as missing:
        site.records.update(SYSTEM, "sttest_tasks", task["id"], {"status": "done"})
    assert missing.value.details == [{"loc": ["reviewer"], "msg": "required to leave 'review'"}]
    done = site.records.update(SYSTEM, "sttest_tasks", task["id"], {"status": "done", "reviewer": "Li Lei"})  # filled in the same write
    assert (done["status"], done["outcome"]) == ("done", "won")
    assert events(site, "sttest_tasks", task["id"]) == [
        (None, "todo", None), ("todo", "doing", 7200), ("doing", "review", 1800), ("review", "done", 86400)
    ]
    with site.engine.connect() as conn:
        stored = state_events(conn, "sttest_tasks", task["id"])
    assert [e["snapshot"] for e in stored] == [
        {"amount": "10.00", "title": "write"}, {"amount": "12.50", "title": "write"},
        {"amount": "12.50", "title": "write"}, {"amount": "12.50", "title": "write"},
    ]
    assert [e["kind"] for e in stored] == ["open", "open", "open", "won"] and stored[-1]["actor"] == "cli"
    assert [(e["record_id"], e["to_state"]) for e in SEEN] == [(task["id"], s) for s in ("todo", "doing", "review", "done")]
    # a write that leaves the state alone writes no event
    site.records.update(SYSTEM, "sttest_tasks", task["id"], {"title": "written"})
    assert len(events(site, "sttest_tasks", task["id"])) == 4


def test_a_forbidden_move_is_a_409_naming_the_allowed_ones_and_an_unknown_state_a_422(site):
    task = site.records.create(SYSTEM, "sttest_tasks", {"title": "t"})
    with pytest.raises(Conflict) as forbidden:
        site.records.update(SYSTEM, "sttest_tasks", task["id"], {"status": "done"})
    assert forbidden.value.details == [
        {"loc": ["status"], "msg": "cannot move from 'todo' to 'done'; allowed: doing, dropped", "allowed": ["doing", "dropped"]}
    ]
    with pytest.raises(ValidationError) as unknown:
        site.records.update(SYSTEM, "sttest_tasks", task["id"], {"status": "nope"})
    assert unknown.value.details[0]["loc"] == ["status"] and "todo, doing, review, done, dropped" in unknown.value.details[0]["msg"]
    with pytest.raises(ValidationError):
        site.records.update(SYSTEM, "sttest_tasks", task["id"], {"status": None})
    with pytest.raises(ValidationError) as on_create:
        site.records.create(SYSTEM, "sttest_tasks", {"title": "t", "status": "nope"})
    assert on_create.value.details[0]["loc"] == ["status"]
    # a terminal state allowing nothing: every move out is refused
    site.records.update(SYSTEM, "sttest_tasks", task["id"], {"status": "doing"})
    site.records.update(SYSTEM, "sttest_tasks", task["id"], {"status": "review", "reviewer": "x"})
    site.records.update(SYSTEM, "sttest_tasks", task["id"], {"status": "done"})
    with pytest.raises(Conflict) as final:
        site.records.update(SYSTEM, "sttest_tasks", task["id"], {"status": "doing"})
    assert final.value.details[0]["allowed"] == []
    assert site.records.get(SYSTEM, "sttest_tasks", task["id"])["status"] == "done"
    assert [to for _, to, _ in events(site, "sttest_tasks", task["id"])] == ["todo", "doing", "review", "done"]


def test_guards_a_permission_to_enter_and_a_plugins_veto(site):
    task = site.records.create(REP, "sttest_tasks", {"title": "t"})
    with pytest.raises(Forbidden) as refused:
        site.records.update(REP, "sttest_tasks", task["id"], {"status": "dropped"})
    assert "sttest_tasks.drop" in refused.value.message
    with pytest.raises(Forbidden):  # entering it on create needs the permission too
        site.records.create(REP, "sttest_tasks", {"title": "t", "status": "dropped"})
    dropped = site.records.update(MANAGER, "sttest_tasks", task["id"], {"status": "dropped"})
    assert (dropped["status"], dropped["outcome"]) == ("dropped", "closed")
    assert site.records.update(REP, "sttest_tasks", task["id"], {"status": "todo"})["outcome"] == "open"  # to=None: any move out

    with pytest.raises(Vetoed):  # the hook is asked on create too (from_state None)
        site.records.create(SYSTEM, "sttest_tasks", {"title": "blocked", "status": "done"})
    blocked = site.records.create(SYSTEM, "sttest_tasks", {"title": "blocked", "status": "review", "reviewer": "x"})
    before = event_count(site)
    with pytest.raises(Vetoed) as vetoed:
        site.records.update(SYSTEM, "sttest_tasks", blocked["id"], {"status": "done"})
    assert vetoed.value.details == [{"loc": ["status"], "msg": "waiting for an approver"}]
    assert site.records.get(SYSTEM, "sttest_tasks", blocked["id"])["status"] == "review" and event_count(site) == before


def test_a_batch_create_writes_one_event_per_record(site):
    ids = site.records.create_many(SYSTEM, "sttest_tasks", [{"title": "a"}, {"title": "b", "status": "doing"}, {"title": "c"}])
    assert [events(site, "sttest_tasks", i) for i in ids] == [[(None, "todo", None)], [(None, "doing", None)], [(None, "todo", None)]]


# -- admin-edited sets chosen per record --------------------------------------------------------


def board(site, board_id: int, *keys: str, **to: tuple[str, ...]) -> None:
    kinds = {"won": "won", "lost": "lost"}
    site.states.define(
        SYSTEM, "sttest_deals", board_id,
        [State(k, label(k.title(), k), kind=kinds.get(k, "open"), to=to.get(k)) for k in keys],
    )


def test_each_record_takes_the_states_of_the_set_its_key_field_names(site, clock):
    board(site, 1, "lead", "quote", "won", "lost", lead=("quote", "lost"))
    board(site, 2, "intake", "won")
    first = site.records.create(SYSTEM, "sttest_deals", {"name": "a", "board_id": 1, "amount": "5.00"})
    assert first["stage"] == "lead"
    assert site.records.create(SYSTEM, "sttest_deals", {"name": "b", "board_id": 2})["stage"] == "intake"
    with pytest.raises(ValidationError) as other_board:
        site.records.create(SYSTEM, "sttest_deals", {"name": "c", "board_id": 1, "stage": "intake"})
    assert other_board.value.details[0]["msg"] == "unknown state 'intake' of set '1'; one of: lead, quote, won, lost"
    with pytest.raises(ValidationError) as empty:
        site.records.create(SYSTEM, "sttest_deals", {"name": "d", "board_id": 3})
    assert "has no states" in empty.value.message
    with pytest.raises(Conflict) as forbidden:
        site.records.update(SYSTEM, "sttest_deals", first["id"], {"stage": "won"})
    assert forbidden.value.details[0]["allowed"] == ["quote", "lost"]
    clock.advance(seconds=90)
    moved = site.records.update(SYSTEM, "sttest_deals", first["id"], {"board_id": 2, "stage": "won"})  # another board: its states
    assert moved["stage"] == "won"
    with site.engine.connect() as conn:
        last = state_events(conn, "sttest_deals", first["id"])[-1]
    assert (last["set_key"], last["from_state"], last["to_state"], last["seconds"], last["snapshot"]) == ("2", "lead", "won", 90, {"amount": "5.00"})
    with pytest.raises(ValidationError) as stale:  # moving to a board without the record's state needs a state of it
        site.records.update(SYSTEM, "sttest_deals", first["id"], {"board_id": 1, "stage": "intake"})
    assert stale.value.details[0]["loc"] == ["stage"]


def client_for(site, email: str, role: str) -> httpx.AsyncClient:
    user = site.records.create(SYSTEM, "users", {"email": email, "password": "s3cret-pass", "role": role})
    token = issue_token(site, user["id"])["token"]
    transport = httpx.ASGITransport(app=create_app(site=site), raise_app_exceptions=False)
    return httpx.AsyncClient(transport=transport, base_url="http://testserver", headers={"Authorization": f"Bearer {token}"})


@pytest.fixture
def anyio_backend():
    return "asyncio"


def stage_keys(described: dict[str, Any]) -> list[str]:
    [one] = described["sets"]
    return [s["key"] for s in one["states"]]


@pytest.mark.anyio
async def test_admins_edit_states_while_records_use_them(site, clock):
    base = "/api/v1/meta/entities/sttest_deals/states"
    async with client_for(site, "admin@example.com", "admin") as admin, client_for(site, "rep@example.com", "sales_rep") as rep:
        for key, kind in (("new", "open"), ("quote", "open"), ("won", "won")):
            added = await admin.post(f"{base}?set=1", json={"key": key, "label": label(key.title(), key), "kind": kind})
            assert added.status_code == 201, added.text
        await admin.post(f"{base}?set=2", json={"key": "quote", "label": label("Quote", "报价")})
        await admin.post(f"{base}?set=2", json={"key": "won", "label": label("Won", "赢单"), "kind": "won"})
        taken = await admin.post(f"{base}?set=1", json={"key": "new", "label": label("x", "x")})
        assert taken.status_code == 409
        bad = await admin.post(f"{base}?set=1", json={"key": "Bad Key", "label": {"en": "x"}, "kind": "maybe", "requires": ["nofield"]})
        assert bad.status_code == 422 and [d["loc"] for d in bad.json()["error"]["details"]] == [
            ["body", "key"], ["body", "label"], ["body", "kind"], ["body", "requires"]
        ]
        assert (await rep.post(f"{base}?set=1", json={"key": "x", "label": label("x", "x")})).status_code == 403

        ids = [site.records.create(SYSTEM, "sttest_deals", {"name": n, "board_id": 1, "stage": "quote", "amount": "7.00"})["id"] for n in "abc"]
        other = site.records.create(SYSTEM, "sttest_deals", {"name": "d", "board_id": 2, "stage": "quote"})["id"]
        site.records.update(SYSTEM, "sttest_deals", ids[0], {"stage": "new"})

        renamed = await admin.patch(f"{base}/quote?set=1", json={"label": label("Quotation", "报价单"), "requires": ["amount"]})
        assert renamed.status_code == 200 and renamed.json()["label"] == label("Quotation", "报价单")
        reordered = await admin.put(f"{base}?set=1", json={"order": ["quote", "new", "won"]})
        assert stage_keys(reordered.json()) == ["quote", "new", "won"]
        assert (await admin.put(f"{base}?set=1", json={"order": ["quote", "new"]})).status_code == 422
        shown = (await rep.get(f"{base}?set=1")).json()  # what a kanban reads: columns in order, with labels
        assert [(s["key"], s["label"]["en"], s["position"]) for s in shown["sets"][0]["states"]] == [
            ("quote", "Quotation", 0), ("new", "New", 1), ("won", "Won", 2)
        ]
        assert [r["stage"] for r in (site.records.get(SYSTEM, "sttest_deals", i) for i in ids)] == ["new", "quote", "quote"]
        late = site.records.create(SYSTEM, "sttest_deals", {"name": "e", "board_id": 1})
        assert late["stage"] == "quote"  # the new first state

        clock.advance(hours=1)
        refused = await admin.delete(f"{base}/quote?set=1")
        assert refused.status_code == 409
        assert refused.json()["error"]["details"][0]["count"] == 3
        assert "3 sttest_deals records are in 'quote'" in refused.json()["error"]["message"]
        assert (await admin.delete(f"{base}/quote?set=1&move_to=quote")).status_code == 422
        removed = await admin.delete(f"{base}/quote?set=1&move_to=won")
        assert removed.status_code == 200 and removed.json() == {"moved": 3}
        assert stage_keys((await rep.get(f"{base}?set=1")).json()) == ["new", "won"]

        assert [site.records.get(SYSTEM, "sttest_deals", i)["stage"] for i in ids] == ["new", "won", "won"]
        assert site.records.get(SYSTEM, "sttest_deals", other)["stage"] == "quote"  # another board's state of the same key
        assert events(site, "sttest_deals", ids[1]) == [(None, "quote", None), ("quote", "won", 3600)]
        moved_events = [e for e in SEEN if e["from_state"] == "quote" and e["to_state"] == "won"]
        assert sorted(e["record_id"] for e in moved_events) == sorted([ids[1], ids[2], late["id"]])
        assert moved_events[0]["snapshot"] == {"amount": "7.00"}
        unused = await admin.delete(f"{base}/new?set=1")  # in use by ids[0]
        assert unused.status_code == 409 and unused.json()["error"]["details"][0]["count"] == 1

        history = (await admin.get(f"/api/v1/sttest_deals/{ids[1]}/history")).json()["items"]
        assert history[0]["changes"]["stage"] == ["quote", "won"]
        transitions = (await rep.get(f"/api/v1/sttest_deals/{ids[1]}/transitions")).json()["items"]
        assert [(t["from_state"], t["to_state"], t["seconds"], t["set_key"]) for t in transitions] == [
            (None, "quote", None, "1"), ("quote", "won", 3600, "1")
        ]
        assert transitions[1]["actor"] == "admin@example.com"
    audit = AuditEntry.__table__
    with site.engine.connect() as conn:
        actions = list(conn.scalars(sa.select(audit.c.action).where(audit.c.entity == "states").order_by(audit.c.id)))
    assert actions == ["create"] * 5 + ["update", "update", "delete"]


@pytest.mark.anyio
async def test_the_api_answers_moves_with_the_contracts_errors(site):
    task = site.records.create(SYSTEM, "sttest_tasks", {"title": "t"})
    async with client_for(site, "rep@example.com", "sales_rep") as rep:
        forbidden = await rep.patch(f"/api/v1/sttest_tasks/{task['id']}", json={"status": "done"})
        assert forbidden.status_code == 409
        assert forbidden.json()["error"]["code"] == "conflict" and forbidden.json()["error"]["details"][0]["allowed"] == ["doing", "dropped"]
        unknown = await rep.patch(f"/api/v1/sttest_tasks/{task['id']}", json={"status": "later"})
        assert unknown.status_code == 422 and unknown.json()["error"]["details"][0]["loc"] == ["status"]
        assert (await rep.patch(f"/api/v1/sttest_tasks/{task['id']}", json={"status": "dropped"})).status_code == 403
        await rep.patch(f"/api/v1/sttest_tasks/{task['id']}", json={"status": "doing"})
        await rep.patch(f"/api/v1/sttest_tasks/{task['id']}", json={"status": "review"})
        missing = await rep.patch(f"/api/v1/sttest_tasks/{task['id']}", json={"status": "done"})
        assert missing.status_code == 422 and missing.json()["error"]["details"] == [{"loc": ["reviewer"], "msg": "required to leave 'review'"}]
        fixed = (await rep.get("/api/v1/meta/entities/sttest_tasks/states")).json()
        assert fixed["editable"] is False and fixed["outcome"] == "outcome"
        assert [(s["key"], s["kind"], s["terminal"], s["to"]) for s in fixed["sets"][0]["states"]][3:] == [
            ("done", "won", True, []), ("dropped", "closed", True, None)
        ]
        described = (await rep.get("/api/v1/meta/entities/sttest_tasks")).json()
        assert described["states"] == {"field": "status", "set_by": None, "editable": False}
        transitions = (await rep.get(f"/api/v1/sttest_tasks/{task['id']}/transitions?limit=2&offset=1")).json()
        assert [t["to_state"] for t in transitions["items"]] == ["doing", "review"]
    async with client_for(site, "admin@example.com", "admin") as admin:
        fixed_edit = await admin.post("/api/v1/meta/entities/sttest_tasks/states", json={"key": "x", "label": label("x", "x")})
        assert fixed_edit.status_code == 409
        assert (await admin.post("/api/v1/meta/entities/sttest_deals/states", json={"key": "x", "label": label("x", "x")})).status_code == 422
        assert (await admin.get("/api/v1/meta/entities/sttest_deals/states?set=abc")).status_code == 422


@pytest.mark.anyio
async def test_an_entity_without_a_state_machine_is_unaffected(site):
    plain = site.records.create(SYSTEM, "sttest_plain", {"title": "a"})
    site.records.update(SYSTEM, "sttest_plain", plain["id"], {"title": "b"})
    site.records.delete(SYSTEM, "sttest_plain", plain["id"])
    assert event_count(site) == 0 and SEEN == []
    kept = site.records.create(SYSTEM, "sttest_plain", {"title": "c"})
    async with client_for(site, "admin@example.com", "admin") as admin:
        assert (await admin.get("/api/v1/meta/entities/sttest_plain/states")).status_code == 404
        assert (await admin.get(f"/api/v1/sttest_plain/{kept['id']}/transitions")).status_code == 404
        assert (await admin.get("/api/v1/meta/entities/sttest_plain")).json()["states"] is None


# -- declarations -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("machine", "reason"),
    [
        (StateMachine("missing", states=TASK_STATES), "field 'missing' is not a column"),
        (StateMachine("status", states=TASK_STATES, set_by="title"), "fixed list"),
        (StateMachine("status", states=(State("a", label("A", "甲")), State("a", label("A", "甲")))), "repeat"),
        (StateMachine("status", states=(State("A b", label("A", "甲")),)), "snake_case"),
        (StateMachine("status", states=(State("a", {"en": "A"}),)), "label"),
        (StateMachine("status", states=(State("a", label("A", "甲"), kind="maybe"),)), "kind"),
        (StateMachine("status", states=(State("a", label("A", "甲"), to=("b",)),)), "'b' is not another state"),
        (StateMachine("amount", states=TASK_STATES), "text column"),
    ],
)
def test_a_wrong_declaration_is_refused_at_start_up(machine, reason):
    from kernel.entities import check_entity

    entity = Entity("sttest_tasks", label("Task", "任务"), label("Tasks", "任务"), Task, TaskFields, states=machine)
    with pytest.raises(TypeError) as refused:
        check_entity(entity)
    assert reason in str(refused.value)


@pytest.mark.anyio
async def test_openapi_documents_the_state_routes_of_entities_with_states(site):
    async with client_for(site, "rep@example.com", "sales_rep") as rep:
        document = (await rep.get("/api/v1/openapi.json")).json()
    validate(document)
    paths = document["paths"]
    assert "get" in paths["/api/v1/sttest_tasks/{id}/transitions"]
    assert set(paths["/api/v1/meta/entities/sttest_deals/states"]) == {"get", "post", "put"}
    assert {"patch", "delete"} <= set(paths["/api/v1/meta/entities/sttest_deals/states/{key}"])
    assert "/api/v1/sttest_plain/{id}/transitions" not in paths


ODD_BODIES = [
    None, [], "x", {"key": ["a"], "label": "x"}, {"key": "a", "label": {"en": 1, "zh_CN": None}},
    {"key": "a", "label": label("A", "甲"), "kind": ["won"], "requires": {"a": 1}, "to": 5, "permission": 7},
    {"key": "a", "label": label("A", "甲"), "position": True}, {"key": "a", "label": label("A", "甲"), "position": 2**70},
    {"key": "a", "label": label("A", "甲"), "requires": [None, {}]}, {"key": "a", "label": label("A", "甲"), "to": [["b"]]},
    {"order": [{}]}, {"order": "a"}, {"label": None}, {},
]


@pytest.mark.anyio
async def test_odd_input_to_the_state_routes_answers_4xx(site):
    board(site, 1, "a", "b")
    deal = site.records.create(SYSTEM, "sttest_deals", {"name": "d", "board_id": 1})
    base = "/api/v1/meta/entities/sttest_deals/states"
    queries = ["", "?set=²", "?set=0", "?set=" + "9" * 30, "?set=1&move_to=²", "?set=1&set=2", "?set=1&other=x", "?set=1"]
    async with client_for(site, "admin@example.com", "admin") as admin:
        for query in queries:
            for body in ODD_BODIES:
                for method, path in (("POST", base), ("PUT", base), ("PATCH", f"{base}/a"), ("PATCH", f"{base}/²")):
                    answer = await admin.request(method, path + query, json=body)
                    assert 400 <= answer.status_code < 500, (method, path + query, body, answer.text)
            answer = await admin.delete(f"{base}/zzz{query}")
            assert 400 <= answer.status_code < 500, (query, answer.text)
            assert (await admin.get(base + query)).status_code < 500
        for odd in ("²", "99999999999999999999", "0"):
            assert (await admin.get(f"/api/v1/sttest_deals/{odd}/transitions")).status_code == 404
        assert (await admin.get(f"/api/v1/sttest_deals/{deal['id']}/transitions?limit=²")).status_code == 422
    assert [s.key for s in site.states.definitions("sttest_deals", 1)] == ["a", "b"]


def test_removing_a_state_waits_for_a_write_that_put_a_record_in_it(site):
    """PostgreSQL: a create holds the set's rows (FOR SHARE) until it commits, so a removal that
    started meanwhile sees the new record and moves it too (SQLite's write lock serializes them)."""
    if site.engine.dialect.name != "postgresql":
        pytest.skip("SQLite runs one writer at a time")
    import threading
    import time

    board(site, 1, "quote", "won")
    created = threading.Event()
    release = threading.Event()
    found: dict[str, Any] = {}

    def create() -> None:
        with site.write() as conn:
            found["pid"] = conn.scalar(sa.text("select pg_backend_pid()"))
            found["id"] = site.records.create(SYSTEM, "sttest_deals", {"name": "late", "board_id": 1, "stage": "quote"}, conn=conn)["id"]
            created.set()
            release.wait(timeout=30)

    def remove() -> None:
        found["moved"] = site.states.remove(SYSTEM, "sttest_deals", 1, "quote", move_to="won")

    writer = threading.Thread(target=create)
    writer.start()
    assert created.wait(timeout=30)
    remover = threading.Thread(target=remove)
    remover.start()
    deadline = time.monotonic() + 20
    query = sa.text("select count(*) from pg_stat_activity where cast(:pid as integer) = any(pg_blocking_pids(pid))")
    with site.engine.connect() as conn:
        while not conn.execute(query, {"pid": found["pid"]}).scalar() and time.monotonic() < deadline:
            release.wait(timeout=0.02)  # poll until the removal is seen waiting on the create
        blocked = conn.execute(query, {"pid": found["pid"]}).scalar()
    release.set()
    writer.join(timeout=30)
    remover.join(timeout=30)
    assert blocked == 1 and found["moved"] == 1
    assert site.records.get(SYSTEM, "sttest_deals", found["id"])["stage"] == "won"
    assert events(site, "sttest_deals", found["id"])[-1][:2] == ("quote", "won")


def test_the_board_of_a_fixed_machine_shows_its_states_and_refuses_a_forbidden_move(site):
    import re

    from starlette.testclient import TestClient

    site.records.create(SYSTEM, "users", {"email": "admin@example.com", "password": "s3cret-pass", "role": "admin"})
    client = TestClient(create_app(site=site), follow_redirects=False)
    token = re.search(r'name="csrf_token" value="([^"]+)"', client.get("/login").text).group(1)
    client.post("/login", data={"email": "admin@example.com", "password": "s3cret-pass", "next": "/", "csrf_token": token})
    task = site.records.create(SYSTEM, "sttest_tasks", {"title": "card"})
    board_page = client.get("/r/sttest_tasks/kanban", headers={"Accept-Language": "zh-CN"}).text
    assert [board_page.index(text) for text in ("待办", "进行中", "审核", "完成", "放弃")] == sorted(
        board_page.index(text) for text in ("待办", "进行中", "审核", "完成", "放弃")
    )
    csrf = client.get("/api/v1/auth/me").json()["csrf_token"]
    move = {"csrf_token": csrf, "id": str(task["id"]), "status": "done"}
    refused = client.post("/r/sttest_tasks/kanban", data=move, headers={"Accept": "application/json"})
    assert refused.status_code == 409 and refused.json()["error"]["details"][0]["allowed"] == ["doing", "dropped"]
    moved = client.post("/r/sttest_tasks/kanban", data={**move, "status": "doing"}, headers={"Accept": "application/json"})
    assert moved.status_code == 200 and moved.json()["value"] == "doing"
    assert events(site, "sttest_tasks", task["id"])[-1][:2] == ("todo", "doing")


def signed_in_admin(site) -> tuple[Any, str]:
    import re

    from starlette.testclient import TestClient

    site.records.create(SYSTEM, "users", {"email": "admin@example.com", "password": "s3cret-pass", "role": "admin"})
    client = TestClient(create_app(site=site), follow_redirects=False)
    token = re.search(r'name="csrf_token" value="([^"]+)"', client.get("/login").text).group(1)
    client.post("/login", data={"email": "admin@example.com", "password": "s3cret-pass", "next": "/", "csrf_token": token})
    return client, client.get("/api/v1/auth/me").json()["csrf_token"]


def test_the_admin_page_adds_renames_reorders_and_removes_states(site):
    client, csrf = signed_in_admin(site)
    assert "sttest_deals" in client.get("/admin/states").text
    page = "/admin/states/sttest_deals?set=4"
    for key, en, zh in (("new", "New", "新建"), ("quote", "Quote", "报价"), ("won", "Won", "赢单")):
        added = client.post(page, data={"csrf_token": csrf, "key": key, "label_en": en, "label_zh_CN": zh, "kind": "won" if key == "won" else "open"})
        assert added.status_code == 303, added.text
    refused = client.post(page, data={"csrf_token": csrf, "key": "Bad key", "label_en": "x", "label_zh_CN": "x"})
    assert refused.status_code == 422 and "snake_case" in refused.text
    client.post("/admin/states/sttest_deals/quote?set=4", data={"csrf_token": csrf, "do": "save", "label_en": "Quotation", "label_zh_CN": "报价单", "kind": "open"})
    client.post("/admin/states/sttest_deals/quote?set=4", data={"csrf_token": csrf, "do": "up"})
    deal = site.records.create(SYSTEM, "sttest_deals", {"name": "d", "board_id": 4, "stage": "quote"})
    in_use = client.post("/admin/states/sttest_deals/quote?set=4", data={"csrf_token": csrf, "do": "remove", "move_to": ""})
    assert in_use.status_code == 409 and "有 1 条记录处于此状态" in in_use.text
    described = site.states.describe("sttest_deals", "4")["sets"][0]["states"]
    assert [(s["key"], s["label"]["en"]) for s in described] == [("quote", "Quotation"), ("new", "New"), ("won", "Won")]
    removed = client.post("/admin/states/sttest_deals/quote?set=4", data={"csrf_token": csrf, "do": "remove", "move_to": "won"})
    assert removed.status_code == 303
    assert site.records.get(SYSTEM, "sttest_deals", deal["id"])["stage"] == "won"
    shown = client.get(page, headers={"Accept-Language": "zh-CN"}).text
    assert "赢单" in shown and "Quotation" not in shown


def test_changing_a_states_kind_carries_the_outcome_of_its_records_along(site):
    board(site, 5, "talk", "done")
    board(site, 6, "done")
    deal = site.records.create(SYSTEM, "sttest_deals", {"name": "a", "board_id": 5, "stage": "done"})
    elsewhere = site.records.create(SYSTEM, "sttest_deals", {"name": "b", "board_id": 6, "stage": "done"})
    assert deal["outcome"] == "open"
    site.states.change(SYSTEM, "sttest_deals", 5, "done", {"kind": "lost"})
    assert site.records.get(SYSTEM, "sttest_deals", deal["id"])["outcome"] == "lost"
    assert site.records.get(SYSTEM, "sttest_deals", elsewhere["id"])["outcome"] == "open"
    assert events(site, "sttest_deals", deal["id"]) == [(None, "done", None)]  # no transition
    assert site.records.history(SYSTEM, "sttest_deals", deal["id"])[0]["changes"] == {"outcome": ["open", "lost"]}


def test_a_custom_field_required_to_leave_a_state_is_named_under_custom(site):
    from kernel.fielddefs import add_field

    add_field(site, SYSTEM, "sttest_deals", "quote_no", {"type": "string", "maxLength": 20}, label={"en": "Quote no.", "zh_CN": "报价单号"})
    site.states.define(SYSTEM, "sttest_deals", 7, [
        State("quote", label("Quote", "报价"), requires=("quote_no", "amount")), State("won", label("Won", "赢单"), kind="won"),
    ])
    deal = site.records.create(SYSTEM, "sttest_deals", {"name": "a", "board_id": 7})
    with pytest.raises(ValidationError) as missing:
        site.records.update(SYSTEM, "sttest_deals", deal["id"], {"stage": "won"})
    assert [d["loc"] for d in missing.value.details] == [["custom", "quote_no"], ["amount"]]
    with pytest.raises(ValidationError) as blank:
        site.records.update(SYSTEM, "sttest_deals", deal["id"], {"stage": "won", "amount": "3.00", "custom": {"quote_no": "  "}})
    assert [d["loc"] for d in blank.value.details] == [["custom", "quote_no"]]
    won = site.records.update(SYSTEM, "sttest_deals", deal["id"], {"stage": "won", "amount": "3.00", "custom": {"quote_no": "Q-1"}})
    assert (won["stage"], won["outcome"]) == ("won", "won")


def test_an_action_moving_the_record_is_checked_like_an_update(site):
    task = site.records.create(SYSTEM, "sttest_tasks", {"title": "t", "status": "review", "reviewer": "x"})
    fresh = site.records.create(SYSTEM, "sttest_tasks", {"title": "u"})
    with pytest.raises(Conflict) as refused:
        site.records.act(SYSTEM, "sttest_tasks", fresh["id"], "finish", None)
    assert refused.value.details[0]["allowed"] == ["doing", "dropped"]
    assert site.records.act(SYSTEM, "sttest_tasks", task["id"], "finish", None)["status"] == "done"
    assert events(site, "sttest_tasks", task["id"])[-1][:2] == ("review", "done")
    assert events(site, "sttest_tasks", fresh["id"]) == [(None, "todo", None)]


def test_every_move_and_a_batch_move_leave_an_outbox_event_beside_the_write_s_own(site, clock):
    from kernel.outbox import events_query

    task = site.records.create(SYSTEM, "sttest_tasks", {"title": "write", "amount": "10.00"})
    other = site.records.create(SYSTEM, "sttest_tasks", {"title": "read", "amount": "1.00"})
    clock.advance(minutes=5)
    site.records.update(SYSTEM, "sttest_tasks", task["id"], {"status": "doing"})
    with pytest.raises(Conflict):  # a batch checks each record's move: todo → review is not allowed
        site.records.update_many(SYSTEM, "sttest_tasks", ids=[task["id"], other["id"]], changes={"status": "review"})
    site.records.update(SYSTEM, "sttest_tasks", other["id"], {"status": "doing"})
    assert site.records.update_many(SYSTEM, "sttest_tasks", ids=[task["id"], other["id"]], changes={"status": "review"}) == [task["id"], other["id"]]
    table = events_query().subquery()
    with site.engine.connect() as conn:
        rows = conn.execute(sa.select(table.c.name, table.c.record_id, table.c.changes).order_by(table.c.id)).all()
    moves = [(r.record_id, r.changes["from_state"], r.changes["to_state"]) for r in rows if r.name == "sttest_tasks.transition"]
    assert moves == [(task["id"], None, "todo"), (other["id"], None, "todo"), (task["id"], "todo", "doing"),
                     (other["id"], "todo", "doing"), (task["id"], "doing", "review"), (other["id"], "doing", "review")]
    assert [r.name for r in rows].count("sttest_tasks.updated") == 4
