"""A board move refused for what it lacks asks for it: the 422 answer lists the inputs a dialog shows
(``ask``), and the move posted again with the answers goes through (kernel/web/ui/kanban.py, kanban.js)."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
import sqlalchemy as sa

from kernel import Actor, Entity, RecordMixin, State, StateMachine, Vetoed, hookimpl
from kernel.testing import plugin_module
from kernel.web.app import create_app
from tests.web.test_ui import add_user, signed_in

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


class AskBase(DeclarativeBase):
    """The test's own table, outside the kernel's metadata and migrations."""


class Job(RecordMixin, AskBase):
    __tablename__ = "board_ask_jobs"
    title: Mapped[str] = mapped_column(sa.String(100))
    status: Mapped[str] = mapped_column(sa.String(20))
    reviewer: Mapped[str | None] = mapped_column(sa.String(100), nullable=True)
    priority: Mapped[str | None] = mapped_column(sa.String(10), nullable=True)
    owner_id: Mapped[int | None] = mapped_column(sa.BigInteger, nullable=True)


class JobFields(BaseModel):
    model_config = ConfigDict(extra="forbid")
    title: str = Field(max_length=100)
    status: str | None = None
    reviewer: str | None = Field(None, max_length=100, json_schema_extra={"x-label": {"en": "Reviewer", "zh_CN": "审核人"}})
    priority: str | None = Field(None, pattern="^(low|high)$")
    owner_id: int | None = None


STATES = (
    State("todo", {"en": "To do", "zh_CN": "待办"}),
    State("review", {"en": "Review", "zh_CN": "审核"}, requires=("reviewer",)),
    State("done", {"en": "Done", "zh_CN": "完成"}, kind="won"),
    State("blocked", {"en": "Blocked", "zh_CN": "受阻"}),
)


@hookimpl
def register_entities() -> list[Entity]:
    return [Entity("askjobs", {"en": "Job", "zh_CN": "工作"}, {"en": "Jobs", "zh_CN": "工作"}, Job, JobFields, owner_field="owner_id",
                   states=StateMachine("status", states=STATES))]


@hookimpl
def before_transition(entity: str, record: dict[str, Any], to_state: str) -> None:
    if entity != "askjobs":
        return
    if to_state == "done" and not record.get("priority"):
        raise Vetoed("priority: asked on entering 'done'", [{"loc": ["priority"], "msg": "asked on entering 'done'"}])
    if to_state == "blocked":  # something no field holds: only a board reading such answers itself could ask it
        raise Vetoed("why: say why", [{"loc": ["feedback", "why"], "msg": "say why", "input": {"type": "text", "label": {"en": "Why", "zh_CN": "原因"}}}])


jobs_plugin = plugin_module("board_ask", register_entities=register_entities, before_transition=before_transition)


@pytest.fixture
def site(make_site):
    site = make_site(jobs_plugin, default_locale="en")
    AskBase.metadata.create_all(site.engine)
    return site


def post(client: Any, token: str, job_id: int, status: str, **answers: str) -> Any:
    return client.post("/r/askjobs/kanban", data={"csrf_token": token, "id": str(job_id), "status": status, **answers},
                       headers={"Accept": "application/json"})


def test_a_refusal_lists_the_fields_to_ask_and_the_answers_carry_the_move(site):
    user = add_user(site, "rep@example.com", "sales_rep")
    rep = Actor(user_id=user["id"], label=user["email"], role="sales_rep")
    job = site.records.create(rep, "askjobs", {"title": "Write", "status": "review"})
    client, token = signed_in(create_app(site=site), "rep@example.com")

    refused = post(client, token, job["id"], "done")
    assert refused.status_code == 422
    body = refused.json()
    assert [a["name"] for a in body["ask"]] == ["reviewer"]
    assert body["ask"][0]["label"] == "Reviewer" and body["ask"][0]["widget"] in ("string", "text")
    assert body["message"] == "This move needs more information."

    still = post(client, token, job["id"], "done", reviewer="Li Lei")  # the next thing the move lacks: a choice
    assert still.status_code == 422
    assert still.json()["ask"] == [{"name": "priority", "label": "Priority", "widget": "select", "choices": [["low", "low"], ["high", "high"]],
                                    "message": "asked on entering 'done'"}]
    moved = post(client, token, job["id"], "done", reviewer="Li Lei", priority="high")
    assert moved.status_code == 200 and moved.json()["value"] == "done"
    stored = site.records.get(rep, "askjobs", job["id"])
    assert (stored["status"], stored["reviewer"], stored["priority"]) == ("done", "Li Lei", "high")


def test_what_the_generic_board_cannot_read_is_not_asked(site):
    user = add_user(site, "rep@example.com", "sales_rep")
    rep = Actor(user_id=user["id"], label=user["email"], role="sales_rep")
    job = site.records.create(rep, "askjobs", {"title": "Write"})
    client, token = signed_in(create_app(site=site), "rep@example.com")
    refused = post(client, token, job["id"], "blocked")
    assert refused.status_code == 422 and "ask" not in refused.json()
    assert refused.json()["message"].startswith("That card could not be moved.")
