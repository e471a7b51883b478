"""Background tasks over HTTP: the API a page polls, and the /background-tasks pages."""

from __future__ import annotations

import re
import threading

import pytest
from starlette.testclient import TestClient

from kernel import Actor, enqueue_task
from kernel.testing import run_due_tasks
from kernel.web.app import create_app
from kernel.web.auth import issue_token
from tests import taskwork
from tests.taskwork import PATIENCE, Gate
from tests.web.test_ui import add_user, signed_in

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")
API = "/api/v1/background-tasks"


@pytest.fixture(autouse=True)
def fresh_work():
    taskwork.reset()
    yield
    for gate in list(taskwork.GATES.values()):
        gate.release.set()


@pytest.fixture
def site(make_site):
    return make_site(taskwork.plugin, default_locale="en")


@pytest.fixture
def app(site):
    return create_app(site=site)


def api_client(app, site, email, role):
    user = add_user(site, email, role)
    client = TestClient(app, headers={"Authorization": f"Bearer {issue_token(site, user['id'])['token']}"})
    return client, Actor(user_id=user["id"], label=email, role=role)


def test_progress_of_a_running_task_is_visible_through_the_api_and_it_can_be_cancelled(app, site):
    client, rep = api_client(app, site, "rep@example.com", "sales_rep")
    task_id = enqueue_task(site, "work.count", {"steps": 4, "gate": "g"}, actor=rep)
    gate = Gate("g")
    worker = threading.Thread(target=run_due_tasks, args=(site,))
    worker.start()
    assert gate.started.wait(PATIENCE)

    polled = client.get(f"{API}/{task_id}")
    assert polled.status_code == 200
    body = polled.json()
    assert (body["status"], body["kind"], body["label"]) == ("running", "work.count", {"en": "Count", "zh_CN": "计数"})
    assert body["progress"] == {"done": 1, "total": 4, "percent": 25, "message": "step 1 of 4"}

    cancelled = client.post(f"{API}/{task_id}/cancel")
    assert cancelled.status_code == 200 and cancelled.json()["cancel_requested"] is True
    gate.release.set()
    worker.join(PATIENCE)
    assert client.get(f"{API}/{task_id}").json()["status"] == "cancelled"
    again = client.post(f"{API}/{task_id}/cancel")
    assert again.status_code == 409 and again.json()["error"]["code"] == "conflict"


def test_each_user_lists_their_own_tasks_and_an_admin_lists_all(app, site):
    rep_client, rep = api_client(app, site, "rep@example.com", "sales_rep")
    other_client, other = api_client(app, site, "other@example.com", "sales_rep")
    admin_client, _ = api_client(app, site, "admin@example.com", "admin")
    mine = [enqueue_task(site, "work.count", {"steps": 1}, actor=rep) for _ in range(3)]
    theirs = enqueue_task(site, "work.count", {"steps": 1}, actor=other)

    first = rep_client.get(API, params={"limit": 2}).json()
    assert (first["total"], [t["id"] for t in first["items"]]) == (3, mine[:0:-1])
    second = rep_client.get(API, params={"limit": 2, "offset": 2}).json()
    assert [t["id"] for t in second["items"]] == [mine[0]]
    assert rep_client.get(f"{API}/{theirs}").status_code == 404
    assert rep_client.post(f"{API}/{theirs}/cancel").status_code == 404
    assert admin_client.get(API).json()["total"] == 4
    assert other_client.get(API, params={"status": "queued"}).json()["total"] == 1

    bad = rep_client.get(API, params={"status": "sleeping"})
    assert bad.status_code == 422 and bad.json()["error"]["details"][0]["loc"] == ["query", "status"]
    unknown = rep_client.get(API, params={"colour": "red"})
    assert unknown.status_code == 422 and unknown.json()["error"]["details"][0]["loc"] == ["query", "colour"]
    assert rep_client.get(API, params={"limit": 0}).status_code == 422
    assert TestClient(app).get(API).status_code == 401
    for odd in ("0", "abc", "99999999999999999999"):
        assert rep_client.get(f"{API}/{odd}").status_code == 404


def test_the_tasks_page_lists_polls_while_running_and_cancels(app, site):
    add_user(site, "rep@example.com", "sales_rep")
    client, token = signed_in(app, "rep@example.com")
    assert client.get("/background-tasks", params={"page": "99999999999999999999"}).status_code == 200
    empty = client.get("/background-tasks")
    assert empty.status_code == 200 and "No background tasks." in empty.text

    rep = Actor(user_id=1, label="rep@example.com", role="sales_rep")
    queued = enqueue_task(site, "work.count", {"steps": 2}, actor=rep)
    listing = client.get("/background-tasks").text
    assert f'href="/background-tasks/{queued}"' in listing and "Queued" in listing
    assert 'hx-trigger="every 2s"' in listing  # an unfinished task keeps the list fresh

    page = client.get(f"/background-tasks/{queued}").text
    assert 'hx-get="/background-tasks/%d?part=card"' % queued in page and "<progress" in page
    assert "Cancel task" in page
    card = client.get(f"/background-tasks/{queued}", params={"part": "card"}).text
    assert card.lstrip().startswith('<section class="card task-card"') and "<html" not in card

    refused = client.post(f"/background-tasks/{queued}/cancel", data={})
    assert refused.status_code == 403
    done = client.post(f"/background-tasks/{queued}/cancel", data={"csrf_token": token})
    assert (done.status_code, done.headers["location"]) == (303, f"/background-tasks/{queued}")
    after = client.get(f"/background-tasks/{queued}").text
    assert "Cancelled" in after and "hx-trigger" not in after and "Cancel task" not in after
    late = client.post(f"/background-tasks/{queued}/cancel", data={"csrf_token": token})
    assert late.status_code == 409 and "This task has already finished." in late.text


def test_a_finished_task_page_shows_its_result_in_chinese(app, site):
    add_user(site, "rep@example.com", "sales_rep")
    client, token = signed_in(app, "rep@example.com")
    assert client.post("/lang", data={"to": "zh_CN", "csrf_token": token, "next": "/"}).status_code == 303
    rep = Actor(user_id=1, label="rep@example.com", role="sales_rep")
    task_id = enqueue_task(site, "work.count", {"steps": 2}, actor=rep)
    run_due_tasks(site)
    page = client.get(f"/background-tasks/{task_id}").text
    assert "已完成" in page and "计数" in page and "后台任务" in page
    assert re.search(r'<progress max="100" value="100"', page)
    assert "&#34;steps&#34;: 2" in page or '"steps": 2' in page
    assert "hx-trigger" not in page
    other = add_user(site, "other@example.com", "sales_rep")
    assert other["id"] != 1
    stranger, _ = signed_in(app, "other@example.com")
    assert stranger.get(f"/background-tasks/{task_id}").status_code == 404
