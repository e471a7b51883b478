"""The one write path: validation, audit per write, hooks, and all-or-nothing transactions."""

import pytest
import sqlalchemy as sa

from kernel import Actor, Forbidden, NotFound, ValidationError, Vetoed, hookimpl
from kernel.audit import AUDIT
from tests.example import plugin as notes_plugin
from tests.example.plugin import Note
from tests.helpers import plugin_module as plugin

NOTES = Note.__table__


def count_notes(site):
    with site.engine.connect() as conn:
        return conn.scalar(sa.select(sa.func.count()).select_from(NOTES))


def audit_rows(site, entity="notes"):
    with site.engine.connect() as conn:
        return conn.execute(sa.select(AUDIT).where(AUDIT.c.entity == entity).order_by(AUDIT.c.id)).mappings().all()


def test_create_update_delete_each_write_one_audit_entry(site, clock):
    rep = Actor(user_id=7, label="rep@example.cn", role="admin", channel="ui", ip="10.0.0.8")
    note = site.records.create(rep, "notes", {"title": "拜访客户", "priority": 2})
    assert note["created_at"] == note["updated_at"] == clock.now()
    clock.advance(hours=1)
    updated = site.records.update(rep, "notes", note["id"], {"priority": 4, "title": "拜访客户"})
    assert updated["priority"] == 4 and updated["updated_at"] == clock.now()
    site.records.update(rep, "notes", note["id"], {"priority": 4})  # no change, no entry
    site.records.delete(rep, "notes", note["id"])

    rows = audit_rows(site)
    assert [r["action"] for r in rows] == ["create", "update", "delete"]
    assert rows[1]["changes"] == {"priority": [2, 4]}
    assert rows[0]["changes"]["title"] == [None, "拜访客户"]
    assert rows[2]["changes"]["title"] == ["拜访客户", None]
    assert {(r["actor_id"], r["actor"], r["channel"], r["ip"]) for r in rows} == {(7, "rep@example.cn", "ui", "10.0.0.8")}
    with pytest.raises(NotFound):
        site.records.get(rep, "notes", note["id"])


def test_history_is_newest_first(site, admin, clock):
    note = site.records.create(admin, "notes", {"title": "t"})
    for priority in (1, 2, 5):
        clock.advance(minutes=1)
        site.records.update(admin, "notes", note["id"], {"priority": priority})
    history = site.records.history(admin, "notes", note["id"])
    assert [h["changes"].get("priority", [None, None])[1] for h in history] == [5, 2, 1, 3]
    assert history[0]["at"] > history[-1]["at"]


def test_builtin_fields_are_validated_with_their_path(site, admin):
    cases = [
        ({"priority": 3}, ["title"], "Field required"),
        ({"title": "x", "priority": 9}, ["priority"], "less than or equal to 5"),
        ({"title": "x", "owner": 3}, ["owner"], "unknown field"),
        ({"title": "x", "id": 3}, ["id"], "unknown field"),
        ({"title": "x", "due": "someday"}, ["due"], "date"),
    ]
    for body, loc, words in cases:
        with pytest.raises(ValidationError) as caught:
            site.records.create(admin, "notes", body)
        assert caught.value.details[0]["loc"] == loc
        assert words in caught.value.details[0]["msg"]
    with pytest.raises(ValidationError, match="body: must be a JSON object"):
        site.records.create(admin, "notes", ["title"])
    assert count_notes(site) == 0 and audit_rows(site) == []


def test_a_vetoing_hook_leaves_nothing_behind(site, admin):
    with pytest.raises(Vetoed) as caught:
        site.records.create(admin, "notes", {"title": "Forbidden"})
    assert caught.value.details == [{"loc": ["title"], "msg": "notes may not be called 'forbidden'"}]
    assert count_notes(site) == 0 and audit_rows(site) == []


def test_a_failing_after_hook_rolls_the_whole_write_back(site, admin):
    note = site.records.create(admin, "notes", {"title": "explode on update", "priority": 1})
    with pytest.raises(RuntimeError):
        site.records.update(admin, "notes", note["id"], {"priority": 5})
    assert site.records.get(admin, "notes", note["id"])["priority"] == 1
    assert [r["action"] for r in audit_rows(site)] == ["create"]


def test_a_bad_row_refuses_the_whole_batch_and_names_the_row(site, admin):
    with pytest.raises(ValidationError) as caught:
        site.records.create_many(admin, "notes", [{"title": "ok"}, {"title": "ok 2"}, {"title": ""}])
    assert caught.value.details[0]["loc"] == [2, "title"]
    assert caught.value.message.startswith("row 2: ")
    assert count_notes(site) == 0
    ids = site.records.create_many(admin, "notes", [{"title": f"n{i}"} for i in range(5)])
    assert len(ids) == 5 and count_notes(site) == 5 and len(audit_rows(site)) == 5


def test_authorize_hook_can_refuse(make_site):
    from tests.example import plugin as notes_plugin

    guard = plugin("guard", authorize=lambda actor, entity, action: False if (entity, action, actor.role) == ("notes", "delete", "sales_rep") else None)
    site = make_site(notes_plugin, guard)
    rep = Actor(user_id=1, label="rep", role="sales_rep")
    note = site.records.create(rep, "notes", {"title": "keep"})
    with pytest.raises(Forbidden, match="may not delete notes"):
        site.records.delete(rep, "notes", note["id"])
    assert site.records.get(rep, "notes", note["id"])["title"] == "keep"


def test_record_filter_hides_rows_everywhere(make_site):
    from tests.example import plugin as notes_plugin

    mine_only = plugin(
        "mine",
        record_filter=lambda actor, entity, table: (table.c.owner_id == actor.user_id) if entity == "notes" and actor.role == "sales_rep" else None,
    )
    site = make_site(notes_plugin, mine_only)
    admin = Actor.system()
    mine = site.records.create(admin, "notes", {"title": "mine", "body": "visit", "owner_id": 1})
    other = site.records.create(admin, "notes", {"title": "other", "body": "visit", "owner_id": 2})
    rep = Actor(user_id=1, label="rep", role="sales_rep")
    page = site.records.list(rep, "notes", q="vis")
    assert [r["id"] for r in page.items] == [mine["id"]] and page.total == 1
    for attempt in (
        lambda: site.records.get(rep, "notes", other["id"]),
        lambda: site.records.update(rep, "notes", other["id"], {"title": "stolen"}),
        lambda: site.records.delete(rep, "notes", other["id"]),
        lambda: site.records.act(rep, "notes", other["id"], "close", {"reason": "x"}),
    ):
        with pytest.raises(NotFound):
            attempt()
    assert site.records.get(admin, "notes", other["id"])["title"] == "other"


def test_actions_run_in_one_audited_transaction(site, admin):
    note = site.records.create(admin, "notes", {"title": "call back"})
    with pytest.raises(ValidationError) as caught:
        site.records.act(admin, "notes", note["id"], "close", {})
    assert caught.value.details[0]["loc"] == ["body", "reason"]
    with pytest.raises(NotFound, match="no action 'explode'"):
        site.records.act(admin, "notes", note["id"], "explode", {})
    site.records.act(admin, "notes", note["id"], "close", {"reason": "done"})
    assert site.records.get(admin, "notes", note["id"])["status"] == "done"
    assert [r["action"] for r in audit_rows(site)] == ["create", "update", "close"]


def test_list_paging_sorting_search_and_filter_errors(site, admin):
    ids = site.records.create_many(admin, "notes", [{"title": f"note {i}", "priority": 1 + i % 5, "body": "50%_off" if i == 3 else ""} for i in range(12)])
    page = site.records.list(admin, "notes", sort="-priority,title", limit=5, offset=0)
    assert page.total == 12 and len(page.items) == 5
    assert [r["priority"] for r in page.items] == [5, 5, 4, 4, 3]
    last = site.records.list(admin, "notes", sort="title", limit=5, offset=10)
    assert last.total == 12 and len(last.items) == 2
    assert site.records.list(admin, "notes", q="50%_").total == 1
    assert site.records.list(admin, "notes", filters={"priority__gte": "4", "priority__lt": 5}).total == 2
    assert site.records.list(admin, "notes", filters={"due": "null"}).total == 12
    assert {r["id"] for r in site.records.list(admin, "notes", limit=500).items} == set(ids)
    bad = [
        ({"filters": {"colour": "red"}}, ["query", "colour"]),
        ({"filters": {"priority__near": "3"}}, ["query", "priority__near"]),
        ({"filters": {"priority": "high"}}, ["query", "priority"]),
        ({"sort": "-colour"}, ["query", "sort"]),
        ({"limit": 0}, ["query", "limit"]),
        ({"limit": 501}, ["query", "limit"]),
        ({"offset": -1}, ["query", "offset"]),
    ]
    for kwargs, loc in bad:
        with pytest.raises(ValidationError) as caught:
            site.records.list(admin, "notes", **kwargs)
        assert caught.value.details[0]["loc"] == loc


def test_unknown_entities_and_bad_ids_are_not_found(site, admin):
    with pytest.raises(NotFound, match="no entity named 'ghosts'"):
        site.records.list(admin, "ghosts")
    for bad_id in (0, -1, "1", None, True):
        with pytest.raises(NotFound):
            site.records.get(admin, "notes", bad_id)


def test_users_get_a_hashed_password_that_is_never_returned(site, admin):
    user = site.records.create(admin, "users", {"email": " Wang.Fang@Example.CN ", "name": "王芳", "password": "s3cret-pass"})
    assert user["email"] == "wang.fang@example.cn"
    assert "password_hash" not in user and "password" not in user
    with site.engine.connect() as conn:
        stored = conn.scalar(sa.text("SELECT password_hash FROM kernel_users WHERE id = :id"), {"id": user["id"]})
    assert stored.startswith("$argon2id$")
    changes = audit_rows(site, "users")[0]["changes"]
    assert "password" not in changes and "password_hash" not in changes
    with pytest.raises(ValidationError) as caught:
        site.records.create(admin, "users", {"email": "x@example.cn", "role": "pirate"})
    assert caught.value.details[0]["loc"] == ["role"]


def test_an_update_is_checked_by_the_same_rules_as_a_create(make_site):
    site = make_site(notes_plugin)
    note = site.records.create(Actor.system(), "notes", {"title": "t", "priority": 2})
    with pytest.raises(ValidationError) as refused:
        site.records.update(Actor.system(), "notes", note["id"], {"priority": 99})
    assert refused.value.details[0]["loc"] == ["priority"]
    with pytest.raises(ValidationError):
        site.records.update(Actor.system(), "notes", note["id"], {"title": None})
    assert site.records.get(Actor.system(), "notes", note["id"])["priority"] == 2
    user = site.records.create(Actor.system(), "users", {"email": "a@example.com", "role": "sales_rep"})
    with pytest.raises(ValidationError) as refused:
        site.records.update(Actor.system(), "users", user["id"], {"email": "not an email"})
    assert refused.value.details == [{"loc": ["email"], "msg": "is not an email address"}]
    assert site.records.update(Actor.system(), "users", user["id"], {"email": "B@Example.com"})["email"] == "b@example.com"


def test_a_value_no_column_can_store_is_refused_naming_the_field_on_every_write_path(make_site):
    """The API refuses integers past 64 bits in JSON; imports and plugins write through records directly."""
    from kernel import Actor, ValidationError
    from tests.example import plugin as notes_plugin

    site = make_site(notes_plugin)
    system = Actor.system("cli")
    with pytest.raises(ValidationError) as refused:
        site.records.create(system, "users", {"email": "a@example.com", "password": "s3cret-pass", "role": "sales_rep", "team_id": 2**64})
    assert refused.value.details[0]["loc"] == ["team_id"]


def test_create_hooks_marked_concerned_with_are_called_only_for_batches_that_concern_them(make_site):
    """``concerned_with`` on ``before_create``/``after_create``: ``fields`` are the names a batch gives a
    value; an implementation no batch concerns is not called, and with no ``after_create`` concerned the
    new rows are not read back (only their ids), their audit entries and documents being the same."""
    from kernel import concerned_with
    from kernel import search

    seen = {"before": [], "after": [], "fields": []}

    def before_test(site, entity, fields):
        seen["fields"].append(fields)
        return "body" in fields

    watcher = plugin(
        "watcher", requires=["notes"],
        before_create=concerned_with(before_test)(lambda entity, values: seen["before"].append(values["title"])),
        after_create=concerned_with(lambda site, entity, fields: entity == "notes" and "body" in fields)(
            lambda entity, record: seen["after"].append(dict(record))),
    )
    site = make_site(notes_plugin, watcher)
    actor = Actor.system("import")
    statements = []
    sa.event.listen(site.engine, "before_cursor_execute", lambda conn, cursor, statement, *rest: statements.append(statement))
    plain = site.records.create_many(actor, "notes", [{"title": "a", "body": ""}, {"title": "b", "priority": 2}])
    assert seen["before"] == seen["after"] == []  # neither concerned: not called
    assert "body" not in seen["fields"][-1] and {"title", "priority"} <= seen["fields"][-1]
    inserts = [s for s in statements if s.startswith("INSERT INTO notes_notes")]
    assert inserts or site.engine.dialect.name == "postgresql"  # there a COPY (kernel.inserts), which connection events do not see
    assert not any("title" in s.split("RETURNING")[1] for s in statements if "notes_notes" in s and "RETURNING" in s)  # the ids only
    statements.clear()
    given = site.records.create_many(actor, "notes", [{"title": "c", "body": "x"}, {"title": "d"}])
    assert seen["before"] == ["c", "d"]  # one row gives a body: the batch concerns both hooks, every row is handed over
    stored = {i: site.records.get(actor, "notes", i) for i in given}
    assert seen["after"] == [stored[i] for i in given]  # after_create sees each record as a later get() returns it
    assert any("title" in s.split("RETURNING")[1] for s in statements if "RETURNING" in s) or site.engine.dialect.name == "postgresql"

    def audit_of(ids):
        return [{k: v for k, v in row["changes"].items()} for row in audit_rows(site) if row["record_id"] in ids]

    def documents_of(ids):
        with site.engine.connect() as conn:
            return [row._mapping["body"] for row in conn.execute(sa.select(search.DOCS).where(search.DOCS.c.entity == "notes", search.DOCS.c.record_id.in_(ids)).order_by(search.DOCS.c.record_id))]

    same = site.records.create(actor, "notes", {"title": "b", "priority": 2})  # one record read back (RETURNING every column)
    assert audit_of([plain[1]]) == audit_of([same["id"]]) and documents_of([plain[1]]) == documents_of([same["id"]])
    assert site.records.get(actor, "notes", plain[1]) | {"id": 0, "created_at": 0, "updated_at": 0} == same | {"id": 0, "created_at": 0, "updated_at": 0}


def test_dumped_is_model_dump_and_copies_the_dict_only_of_models_it_would_not_convert():
    """:func:`kernel.records.dumped` answers as ``model_dump`` for every model; only a class holding nothing
    ``model_dump`` converts is answered from the instance's dict (a copy: changing it leaves the model alone)."""
    from datetime import date
    from decimal import Decimal

    from pydantic import BaseModel, Field, computed_field, field_serializer

    from kernel.records import _dumps_as_is, dumped

    class Plain(BaseModel):
        name: str
        tags: list[str] = []
        when: date | None = None
        amount: Decimal | None = None

    class Sub(BaseModel):
        a: int = 1

    class Nested(BaseModel):
        sub: Sub | None = None
        subs: list[Sub] = []

    class Serialized(BaseModel):
        y: int = 0

        @field_serializer("y")
        def doubled(self, value: int) -> int:
            return value * 2

    class Computed(BaseModel):
        y: int = 0

        @computed_field  # type: ignore[prop-decorator]
        @property
        def z(self) -> int:
            return self.y + 1

    class Excluded(BaseModel):
        y: int = 0
        secret: str = Field("s", exclude=True)

    class Tree(BaseModel):
        children: list["Tree"] = []

    models = [
        Plain(name="a", tags=["x"], when=date(2024, 5, 1), amount=Decimal("1.50")), Nested(sub=Sub(), subs=[Sub(a=2)]),
        Serialized(y=2), Computed(y=2), Excluded(y=2), Tree(children=[Tree()]),
    ]
    assert [_dumps_as_is(type(m)) for m in models] == [True, False, False, False, False, False]
    for model in models:
        assert dumped(model) == model.model_dump()
    plain = models[0]
    values = dumped(plain)
    values["name"] = "b"
    assert plain.name == "a"
