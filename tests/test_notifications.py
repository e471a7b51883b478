"""In-app notifications: queued in the caller's transaction, listed and marked read per user."""

import pytest

from kernel import Actor, ValidationError
from kernel.notifications import list_notifications, mark_read, notify, unread_count


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
