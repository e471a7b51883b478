"""create_many asks the ``authorize`` hook once per batch where the answer cannot depend on the record.

An implementation without a ``record`` argument is handed the same arguments for every row: it is
asked once; one that takes ``record`` is asked per row, between the rows' ``before_create`` hooks
as before. A hook wrapper (which sees every call) keeps the per-row calls of the whole hook.
"""

from __future__ import annotations

import types

import pytest
import sqlalchemy as sa

from kernel import Actor, Forbidden, hookimpl
from tests.example import plugin as notes_plugin
from tests.example.plugin import Note
from tests.helpers import plugin_module as plugin

REP = Actor(user_id=1, label="rep", role="sales_rep")


def stored_titles(site):
    with site.engine.connect() as conn:
        return sorted(conn.scalars(sa.select(Note.__table__.c.title)))


def watching(events, refuse_all=False, refuse_title=None):
    """Plugins recording, in order, each ``authorize`` answer asked for a create and each ``before_create``."""

    def anyone(actor, entity, action):
        if action == "create":
            events.append(("anyone", entity))
            return False if refuse_all else None
        return None

    def each(entity, action, record):
        if action == "create":
            events.append(("each", record["title"]))
            return False if record["title"] == refuse_title else None
        return None

    def before_create(entity, values):
        events.append(("before", values["title"]))

    return plugin("anyone", authorize=anyone), plugin("each", authorize=each, before_create=before_create)


def test_a_record_free_answer_is_asked_once_a_record_answer_per_row_between_the_hooks(make_site):
    events = []
    site = make_site(notes_plugin, *watching(events))
    ids = site.records.create_many(REP, "notes", [{"title": "a"}, {"title": "b"}, {"title": "c"}])
    assert len(ids) == 3
    assert events == [
        ("anyone", "notes"),
        ("each", "a"), ("before", "a"),
        ("each", "b"), ("before", "b"),
        ("each", "c"), ("before", "c"),
    ]


def test_a_row_refused_by_its_record_stops_the_batch_where_it_did(make_site):
    events = []
    site = make_site(notes_plugin, *watching(events, refuse_title="b"))
    with pytest.raises(Forbidden, match="you may not create notes"):
        site.records.create_many(REP, "notes", [{"title": "a"}, {"title": "b"}, {"title": "c"}])
    assert events[1:] == [("each", "a"), ("before", "a"), ("each", "b")]
    assert stored_titles(site) == []


def test_a_record_free_refusal_refuses_before_any_row_is_prepared(make_site):
    events = []
    site = make_site(notes_plugin, *watching(events, refuse_all=True))
    with pytest.raises(Forbidden, match="you may not create notes"):
        site.records.create_many(REP, "notes", [{"title": "a"}, {"title": "b"}])
    assert events == [("anyone", "notes")]
    assert stored_titles(site) == []


def test_with_a_hook_wrapper_every_row_asks_the_whole_hook(make_site):
    events = []
    wrapped = []

    def authorize(action):
        if action == "create":
            wrapped.append(action)
        return (yield)

    wrapper = types.ModuleType("wrapper")
    wrapper.NAME, wrapper.REQUIRES = "wrapper", ()
    wrapper.authorize = hookimpl(wrapper=True)(authorize)
    site = make_site(notes_plugin, *watching(events), wrapper)
    site.records.create_many(REP, "notes", [{"title": "a"}, {"title": "b"}])
    assert wrapped == ["create", "create"]
    assert [e for e in events if e[0] == "anyone"] == [("anyone", "notes"), ("anyone", "notes")]
