"""In-app notifications: queued in the caller's transaction, listed and marked read per user."""

from contextlib import contextmanager

import pytest
import sqlalchemy as sa

from kernel import Actor, ValidationError, notify_many, user_locale, user_locales
from kernel.notifications import list_notifications, mark_read, notify, unread_count
from kernel.preferences import put


@contextmanager
def statements_on(engine):
    seen = []
    record = lambda conn, cursor, statement, *rest: seen.append(statement)  # noqa: E731
    sa.event.listen(engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        sa.event.remove(engine, "before_cursor_execute", record)


@pytest.fixture
def users(site):
    system = Actor.system("cli")
    return [site.records.create(system, "users", {"email": f"u{i}@example.com"})["id"] for i in (1, 2)]


def test_notify_joins_the_callers_transaction(site, users):
    with site.write() as conn:
        notify(site, conn, users[0], "Call ACME", "today 15:00", "/tasks/1")
    with pytest.raises(RuntimeError):
        with site.write() as conn:
            notify(site, conn, users[0], "never sent")
            raise RuntimeError("the caller's write failed")
    inbox = list_notifications(site, users[0])
    assert [(n["title"], n["body"], n["link"]) for n in inbox["items"]] == [("Call ACME", "today 15:00", "/tasks/1")]
    assert inbox["unread"] == 1 and inbox["items"][0]["created_at"] == site.clock.now()


def test_users_see_and_mark_only_their_own(site, users, clock):
    first, second = users
    with site.write() as conn:
        mine = [notify(site, conn, first, f"n{i}") for i in range(3)]
        theirs = notify(site, conn, second, "theirs")
    assert mark_read(site, first, [mine[0], theirs]) == 1
    assert unread_count(site, first) == 2 and unread_count(site, second) == 1
    assert [n["title"] for n in list_notifications(site, first, unread_only=True)["items"]] == ["n2", "n1"]
    clock.advance(minutes=5)
    assert mark_read(site, first) == 2
    assert unread_count(site, first) == 0
    assert list_notifications(site, first)["items"][0]["read_at"] == clock.now()
    assert [n["title"] for n in list_notifications(site, first, limit=1, offset=1)["items"]] == ["n1"]


def test_bad_notifications_name_the_field(site, users):
    with site.write() as conn:
        with pytest.raises(ValidationError, match="title: must not be empty"):
            notify(site, conn, users[0], "  ")
        with pytest.raises(ValidationError, match="user_id"):
            notify(site, conn, 0, "x")
    with pytest.raises(ValidationError, match="limit"):
        list_notifications(site, users[0], limit=0)


def test_a_long_title_is_cut(site, users):
    with site.write() as conn:
        notify(site, conn, users[0], "x" * 300)
    assert len(list_notifications(site, users[0])["items"][0]["title"]) == 200


def test_notify_many_queues_each_message_in_one_statement(site, users):
    first, second = users
    with site.write() as conn, statements_on(site.engine) as statements:
        assert notify_many(site, conn, [{"user_id": first, "title": "3 leads returned", "link": "/r/lead_pools/1"},
                                        {"user_id": second, "title": " 1 lead returned ", "body": "see the pool"}]) == 2
        assert notify_many(site, conn, []) == 0
    assert len(statements) == 1 and statements[0].startswith("INSERT INTO kernel_notifications")
    assert [(n["title"], n["body"], n["link"]) for n in list_notifications(site, first)["items"]] == [("3 leads returned", "", "/r/lead_pools/1")]
    assert [(n["title"], n["body"], n["link"]) for n in list_notifications(site, second)["items"]] == [("1 lead returned", "see the pool", None)]


def test_notify_many_names_the_bad_message_and_queues_none(site, users):
    with site.write() as conn:
        with pytest.raises(ValidationError, match=r"message 1: title: must not be empty") as caught:
            notify_many(site, conn, [{"user_id": users[0], "title": "fine"}, {"user_id": users[1], "title": " "}])
    assert caught.value.details == [{"loc": [1, "title"], "msg": "must not be empty"}]
    assert unread_count(site, users[0]) == 0 and unread_count(site, users[1]) == 0


def test_user_locales_reads_every_users_language_at_once(site, users):
    put(site, users[0], "locale", "zh_CN")
    with site.engine.connect() as conn:
        assert user_locales(site, [users[1], users[0], users[0]], conn) == {users[0]: "zh_CN", users[1]: site.settings.default_locale}
        assert user_locales(site, [], conn) == {}
        assert all(user_locales(site, users, conn)[u] == user_locale(site, u, conn) for u in users)
