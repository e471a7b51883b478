"""Blocking work runs off the server's event loop (kernel.web.offload).

The app is served for real by uvicorn (its own loop, in a thread, on a free
loopback port), and the requests come from threads of this test: in-process
ASGI transports would share the test's loop and prove less. While one
connection holds the write lock (SQLite: ``BEGIN IMMEDIATE``; PostgreSQL: the
row a PATCH updates, ``FOR UPDATE``), a PATCH waits on it and 8 logins hash
passwords with the production argon2 parameters; ``/healthz`` must still
answer at once. Before the offload it waited for the lock (up to SQLite's 30 s
busy timeout). The 1 s bound (on the median of three) is generous on purpose:
``python -m bench.http`` measures the latency itself (target: 100 ms).
"""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest
import sqlalchemy as sa

from kernel import Actor
from kernel.browsertesting import serve
from kernel.passwords import default_hasher
from kernel.web.auth import issue_token
from tests.example import plugin as notes_plugin
from tests.example.plugin import Note

LOGINS = 8
PASSWORD = "correct horse battery"


def test_healthz_answers_while_writes_wait_for_a_lock_and_logins_hash(make_site):
    site = make_site(notes_plugin)
    site.passwords = default_hasher()  # the real cost: each login takes tens of ms of CPU
    user = site.records.create(Actor.system("cli"), "users", {"email": "a@example.com", "password": PASSWORD, "role": "admin"})
    token = issue_token(site, user["id"])["token"]
    # eight accounts: a burst of logins to one account is the throttle's business (5 at a time), not this test's
    emails = [f"rep{i}@example.com" for i in range(LOGINS)]
    for email in emails:
        site.records.create(Actor.system("cli"), "users", {"email": email, "password": PASSWORD, "role": "sales_rep"})
    note = site.records.create(Actor.system("cli"), "notes", {"title": "locked"})
    notes = Note.__table__

    with serve(site) as base, ThreadPoolExecutor(LOGINS + 1) as pool:
        holder = site.engine.connect()
        holder.execution_options(crm_write=True)  # SQLite: BEGIN IMMEDIATE takes the write lock
        holding = holder.begin()
        try:
            holder.execute(sa.select(notes.c.id).where(notes.c.id == note["id"]).with_for_update())
            holder.execute(sa.update(notes).where(notes.c.id == note["id"]).values(updated_at=notes.c.updated_at))
            patch = pool.submit(
                httpx.patch, f"{base}/api/v1/notes/{note['id']}", json={"title": "changed"}, headers={"Authorization": f"Bearer {token}"}, timeout=60
            )
            logins = [
                pool.submit(httpx.post, f"{base}/api/v1/auth/token", json={"email": email, "password": PASSWORD}, timeout=60)
                for email in emails
            ]
            time.sleep(0.5)  # the PATCH is waiting for the lock, the logins are hashing or waiting too
            assert not patch.done(), "the PATCH should be waiting for the lock"
            took = []
            for _ in range(3):  # the median, so one scheduling hiccup of a busy machine is not a failure
                started = time.perf_counter()
                try:
                    assert httpx.get(f"{base}/healthz", timeout=5).status_code == 200
                except httpx.TimeoutException:
                    pytest.fail("/healthz did not answer within 5 s while a write waited for a lock")
                took.append(time.perf_counter() - started)
        finally:
            holding.rollback()
            holder.close()
        assert sorted(took)[1] < 1.0, f"/healthz took {', '.join(f'{t:.2f}' for t in took)} s"
        assert patch.result().status_code == 200, patch.result().text
        assert [f.result().status_code for f in logins] == [201] * LOGINS
    assert site.records.get(Actor.system("cli"), "notes", note["id"])["title"] == "changed"


@pytest.mark.anyio
async def test_a_client_gone_before_its_body_was_read_is_no_error(app, admin_user, caplog):
    """A request that waited for a worker thread may find its client gone: logged as such, not as a 500."""
    sent: list[dict] = []

    async def receive() -> dict:
        return {"type": "http.disconnect"}

    async def send(message: dict) -> None:
        sent.append(message)

    headers = [(b"authorization", f"Bearer {admin_user['token']}".encode()), (b"content-type", b"application/json")]
    scope = {
        "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "POST", "scheme": "http",
        "path": "/api/v1/notes", "raw_path": b"/api/v1/notes", "root_path": "", "query_string": b"",
        "headers": headers, "client": ("127.0.0.1", 5000), "server": ("127.0.0.1", 80),
    }
    await app(scope, receive, send)
    assert sent == []
    assert "unexpected error" not in caplog.text


async def _through_offload(app, sent: list[dict] | None = None, on_send=None) -> list[dict]:
    """Run ``app`` behind :class:`Offload` on one worker thread; the messages the server got, in order."""
    from kernel.web.offload import LoopThreads, Offload

    threads = LoopThreads(1)
    sent = [] if sent is None else sent

    async def receive() -> dict:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict) -> None:
        sent.append(message)
        if on_send is not None:
            on_send(message)

    scope = {"type": "http", "path": "/x", "method": "GET", "headers": []}
    try:
        await Offload(app, threads)(scope, receive, send)
    finally:
        threads.close()
    return sent


@pytest.mark.anyio
async def test_streamed_parts_reach_the_server_in_order_and_before_the_call_returns():
    async def app(scope, receive, send):
        await send({"type": "http.response.start", "status": 200, "headers": []})
        for n in range(5):
            await send({"type": "http.response.body", "body": b"%d" % n, "more_body": True})
        await send({"type": "http.response.body", "body": b"end", "more_body": False})

    sent = await _through_offload(app)
    assert [m["type"] for m in sent] == ["http.response.start"] + ["http.response.body"] * 6
    assert b"".join(m["body"] for m in sent[1:]) == b"01234end"


@pytest.mark.anyio
async def test_a_started_response_without_a_body_still_reaches_the_server():
    async def app(scope, receive, send):
        await send({"type": "http.response.start", "status": 204, "headers": []})

    assert [m["type"] for m in await _through_offload(app)] == ["http.response.start"]


@pytest.mark.anyio
async def test_an_error_after_the_last_part_is_raised_once_the_part_is_sent():
    async def app(scope, receive, send):
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"done", "more_body": False})
        raise RuntimeError("after the response")

    sent: list[dict] = []
    with pytest.raises(RuntimeError, match="after the response"):
        await _through_offload(app, sent)
    assert [m.get("body") for m in sent] == [None, b"done"]  # the last part was sent before the error surfaced


@pytest.mark.anyio
async def test_a_response_ends_before_work_the_app_does_after_it():
    """The last part waits for the app's return only when the app returns at once: an app that goes on
    (background work) has its response ended first. Here the app waits until the server got the end."""
    import asyncio
    import threading

    ended = threading.Event()

    async def app(scope, receive, send):
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"ok", "more_body": False})
        assert await asyncio.get_running_loop().run_in_executor(None, ended.wait, 10), "the response's end was held back"

    def on_send(message: dict) -> None:
        if message["type"] == "http.response.body" and not message.get("more_body"):
            ended.set()

    sent = await _through_offload(app, on_send=on_send)
    assert [m.get("body") for m in sent] == [None, b"ok"]
