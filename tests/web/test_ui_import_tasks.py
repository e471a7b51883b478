"""The import page's work as background tasks, over HTTP: upload → check task → import task in
batches → progress (as stored, so it survives a reload) → result → the problem rows as XLSX."""

from __future__ import annotations

import io
import re
from collections import Counter
from typing import Any

import pytest
import sqlalchemy as sa
from openpyxl import load_workbook

from kernel import importjobs, importtasks, tasks
from tests.web.test_ui_import import checked, signed_in, text, upload, work

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")
ROWS = 100
BATCH = 40  # the import's batch, small for a small file


@pytest.fixture
def site(make_site):
    return make_site(plugins=("customers",), default_locale="en")


@pytest.fixture
def app(site):
    from kernel.web.app import create_app

    return create_app(site=site)


@pytest.fixture
def admin(app, site):
    return signed_in(app, site, "admin@example.com", "admin")


def export(rows: int, *, bad: tuple[int, ...] = (), twins: tuple[int, ...] = ()) -> bytes:
    """Another CRM's export: ``bad`` rows have a broken phone, ``twins`` repeat the row before them."""
    lines = ["客户名称,联系电话"]
    for i in range(rows):
        if i in twins:
            lines.append(lines[-1])
        else:
            lines.append(f"公司{i:05d},{'oops' if i in bad else f'139{i:08d}'}")
    return ("\r\n".join(lines) + "\r\n").encode("utf-8")


def stored(site: Any) -> Counter[str]:
    table = site.view.entity("customers").table
    with site.engine.connect() as conn:
        return Counter(conn.scalars(sa.select(table.c.name)))


def xlsx_rows(response: Any) -> list[tuple[Any, ...]]:
    assert response.status_code == 200 and response.headers["content-type"].startswith("application/vnd.openxmlformats")
    book = load_workbook(io.BytesIO(response.content), read_only=True)
    return [tuple(row) for row in book.worksheets[0].iter_rows(values_only=True)]


def test_upload_check_import_progress_result_and_xlsx_report(site, admin, monkeypatch):
    monkeypatch.setattr(importtasks, "PROGRESS_SECONDS", 0.0)  # every batch reports
    monkeypatch.setattr(importjobs, "DEFAULT_BATCH", BATCH)
    client, token = admin
    review_url = upload(client, token, export(ROWS, bad=(7,), twins=(11,)), "old-crm.csv").headers["location"]

    waiting = client.get(review_url)
    assert "Waiting for a worker to start" in text(waiting.text)
    check_id = int(re.search(r"/import/tasks/(\d+)/progress", waiting.text).group(1))
    polled = client.get(f"/api/v1/background-tasks/{check_id}").json()
    assert polled["kind"] == "kernel.import" and polled["status"] == "queued"
    reloaded = client.get(review_url)  # a reload shows the same check, not a new one
    assert f"/import/tasks/{check_id}/progress" in reloaded.text
    work(site)
    assert client.get(f"/api/v1/background-tasks/{check_id}").json()["progress"] == {
        "done": ROWS, "total": ROWS, "percent": 100, "message": "checking",
    }
    review = client.get(review_url)
    shown = text(review.text)
    assert f"{ROWS:,} rows (CSV, UTF-8)".replace(",", "") in shown.replace(",", "")
    assert "1 row is invalid, so nothing will be imported." in shown and "Row 9 · 联系电话: is not a phone number" in shown
    assert f"/import/tasks/{check_id}/report.xlsx" in review.text
    sheet = xlsx_rows(client.get(f"/r/customers/import/tasks/{check_id}/report.xlsx"))
    assert sheet[0] == ("Row", "Column", "Reason")
    assert sheet[1][:2] == (9, "联系电话") and "phone" in sheet[1][2]
    assert sheet[2][0] == 13 and "duplicate of" in sheet[2][2] and "row 12" in sheet[2][2]
    assert stored(site) == Counter()  # a check writes nothing

    fields = {"csrf_token": token, "col.0": "name", "col.1": "phone", "skip_invalid": "1", "on_duplicate": "skip"}
    client.post(review_url, data={**fields, "action": "check"})
    work(site)
    started = client.post(review_url, data={**fields, "action": "import"})
    assert started.status_code == 303
    task_url = started.headers["location"]
    task_id = int(task_url.rsplit("/", 1)[1])
    running = client.get(task_url)
    assert running.status_code == 200 and "Importing…" in running.text and 'id="import-progress"' in running.text
    assert "HX-Refresh" not in client.get(task_url + "/progress").headers

    seen: list[tuple[int, int]] = []
    real = tasks.TaskContext.progress

    def spy(self: Any, done: Any = None, total: Any = None, message: Any = None) -> None:
        real(self, done, total, message)  # a write of its own: it could not happen inside a batch's transaction on SQLite
        if done is not None and total is not None:
            seen.append((done, total))

    monkeypatch.setattr(tasks.TaskContext, "progress", spy)
    work(site)
    assert seen == [(0, ROWS), (40, ROWS), (80, ROWS), (ROWS, ROWS), (ROWS, ROWS)]  # batch by batch

    assert client.get(task_url + "/progress").headers.get("HX-Refresh") == "true"
    done = client.get(task_url)
    shown = text(done.text)
    assert f"Imported {ROWS - 2:,} records." in shown and f"/import/tasks/{task_id}/report.xlsx" in done.text
    names = stored(site)
    assert len(names) == ROWS - 2 and set(names.values()) == {1} and "公司00007" not in names
    job = importjobs.of_task(site, task_id, importjobs.file_hash(export(ROWS, bad=(7,), twins=(11,))))
    assert job is not None and job.status == "done" and job.imported == ROWS - 2 and job.options["batch"] == BATCH
    report = xlsx_rows(client.get(f"/r/customers/import/tasks/{task_id}/report.xlsx"))
    assert [row[0] for row in report[1:]] == [9, 13]
    assert client.get(review_url).status_code == 404  # the upload is gone once imported


def test_a_retried_import_task_resumes_its_job_where_it_stopped(site, admin, clock, monkeypatch):
    monkeypatch.setattr(importjobs, "DEFAULT_BATCH", BATCH)
    client, token = admin
    data = export(ROWS)
    review_url = upload(client, token, data).headers["location"]
    checked(client, site, review_url)
    fields = {"csrf_token": token, "col.0": "name", "col.1": "phone", "on_duplicate": "skip"}
    task_url = client.post(review_url, data={**fields, "action": "import"}).headers["location"]
    real = importtasks._Progress.__call__

    def dies(self: Any, done: int, total: int) -> None:
        if done >= 2 * BATCH:
            raise RuntimeError("the worker's host went away")
        real(self, done, total)

    monkeypatch.setattr(importtasks._Progress, "__call__", dies)
    [first] = tasks.run_due_tasks(site)
    assert first.status == "retry" and sum(stored(site).values()) == 2 * BATCH  # two batches committed
    monkeypatch.setattr(importtasks._Progress, "__call__", real)
    clock.advance(minutes=5)
    [second] = tasks.run_due_tasks(site)
    assert second.status == "done" and second.attempt == 2
    names = stored(site)
    assert len(names) == ROWS and set(names.values()) == {1}
    assert f"Imported {ROWS:,} records." in text(client.get(task_url).text)  # the whole file's count, both attempts
    with site.engine.connect() as conn:
        jobs = conn.execute(sa.select(importjobs.JOBS.c.status, importjobs.JOBS.c.imported)).all()
    assert [tuple(j) for j in jobs] == [("done", ROWS)]  # one job, resumed, not a second one


def test_another_users_import_task_is_not_found(app, site, admin):
    client, token = admin
    review_url = upload(client, token, export(3)).headers["location"]
    page = client.get(review_url)
    check_id = int(re.search(r"/import/tasks/(\d+)/progress", page.text).group(1))
    work(site)
    other, _ = signed_in(app, site, "rep@example.com", "sales_rep")
    for path in ("", "/progress", "/report.xlsx"):
        assert other.get(f"/r/customers/import/tasks/{check_id}{path}").status_code == 404
    assert client.get(f"/r/customers/import/tasks/{check_id}/report.xlsx").status_code == 200
    assert client.get("/r/customers/import/tasks/999999").status_code == 404
