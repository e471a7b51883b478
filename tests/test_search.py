"""``q`` on a list: the search index (kernel.search) kept by every write, under record rules, ranked."""

import pytest
import sqlalchemy as sa

from kernel import Actor, ValidationError
from kernel import search
from kernel.fielddefs import add_field, remove_field
from tests.example import plugin as notes_plugin
from tests.helpers import plugin_module as plugin

REP = Actor(user_id=1, label="rep", role="sales_rep")
mine_only = plugin(
    "mine",
    record_filter=lambda actor, entity, table: (table.c.owner_id == actor.user_id) if entity == "notes" and actor.role == "sales_rep" else None,
)


@pytest.fixture
def site(make_site):
    return make_site(notes_plugin, mine_only)


def titles(site, q, actor=None, **kw):
    return [r["title"] for r in site.records.list(actor or Actor.system(), "notes", q=q, **kw).items]


def add(site, *titles_, owner=1, body=None):
    extra = {"body": body} if body else {}
    return [site.records.create(Actor.system(), "notes", {"title": t, "owner_id": owner, **extra}) for t in titles_]


def test_chinese_queries_of_one_two_and_more_characters(site):
    add(site, "如何申请退款流程", "李娜", "王李明", "张伟")
    assert titles(site, "退款") == ["如何申请退款流程"]  # two characters inside a longer text
    assert titles(site, "李娜") == ["李娜"]
    assert titles(site, "李") == ["李娜", "王李明"]  # one character anywhere
    assert titles(site, "申请退款") == ["如何申请退款流程"]
    assert titles(site, "退款 如何") == ["如何申请退款流程"]  # every word must match
    assert titles(site, "退款 张") == []
    assert titles(site, "款申") == []


def test_phones_and_emails_match_substrings(site):
    add(site, "+86 138-0013-8000", "alice@example.com", "Lina Zhang")
    assert titles(site, "0013") == ["+86 138-0013-8000"]
    assert titles(site, "138-0013") == ["+86 138-0013-8000"]  # compared by its digits
    assert titles(site, "8613800138000") == ["+86 138-0013-8000"]
    assert titles(site, "86") == ["+86 138-0013-8000"]  # two characters: the start of a word
    assert titles(site, "38") == []
    assert titles(site, "ample.c") == ["alice@example.com"]
    assert titles(site, "ALI") == ["alice@example.com"]
    assert titles(site, "li") == ["Lina Zhang"]
    assert titles(site, "na") == []  # not a word's start
    assert titles(site, "@e") == ["alice@example.com"]  # punctuation: compared by LIKE


def test_an_e164_phone_keeps_no_digits_copy_yet_is_found_and_ranked_by_its_digits(site):
    """``+8613800138000`` holds its digits already: its document has no second line of them, and a search
    for digits still finds it, ranked as a value starting with them, as a punctuated number's copy is."""
    a, b, c = add(site, "x", "y", "z")
    site.records.update(Actor.system(), "notes", a["id"], {"body": "+8613800138000"})
    site.records.update(Actor.system(), "notes", b["id"], {"body": "+86 138-0013-8000"})
    site.records.update(Actor.system(), "notes", c["id"], {"body": "call 8613800138000"})
    with site.engine.connect() as conn:
        bodies = dict(conn.execute(sa.select(search.DOCS.c.record_id, search.DOCS.c.body).where(search.DOCS.c.entity == "notes")).all())
    assert bodies[a["id"]] == "x\n+8613800138000" and bodies[b["id"]] == "y\n+86 138-0013-8000\n8613800138000"
    assert titles(site, "86138") == ["x", "y", "z"]  # x and y start a value with it, z holds it
    assert titles(site, "+86138") == ["x", "y", "z"] and titles(site, "0013") == ["x", "y", "z"]
    assert titles(site, "86") == ["x", "y", "z"]
    assert search.digits_copy("+8613800138000") is None and search.digits_copy("+86 138") == "86138"
    assert search.digits_copy("8613800138000") is None and search.digits_copy("++86") == "86"


def test_updates_and_deletes_are_seen_at_once(site):
    note, other = add(site, "拜访李娜", "回访客户")
    site.records.update(Actor.system(), "notes", note["id"], {"title": "拜访王芳"})
    assert titles(site, "李娜") == [] and titles(site, "王芳") == ["拜访王芳"]
    site.records.update(Actor.system(), "notes", other["id"], {"body": "带上报价单"})
    assert titles(site, "报价") == ["回访客户"]
    site.records.delete(Actor.system(), "notes", other["id"])
    assert titles(site, "报价") == [] and titles(site, "回访") == []


def test_an_import_batch_is_indexed_in_its_transaction(site):
    site.records.create_many(Actor.system("import"), "notes", [{"title": f"客户{i}号"} for i in range(5)])
    assert len(titles(site, "客户")) == 5
    with pytest.raises(ValidationError):
        site.records.create_many(Actor.system("import"), "notes", [{"title": "新客户"}, {"priority": 1}])
    with site.engine.connect() as conn:
        assert conn.scalar(sa.select(sa.func.count()).select_from(search.DOCS).where(search.DOCS.c.entity == "notes")) == 5


def test_record_rules_still_apply(site):
    add(site, "李娜 mine", owner=1)
    add(site, "李娜 other", owner=2)
    assert titles(site, "李娜", actor=REP) == ["李娜 mine"]
    assert site.records.list(REP, "notes", q="李娜").total == 1
    assert len(titles(site, "李娜")) == 2


def test_best_matches_come_first_unless_a_sort_is_asked(site):
    add(site, "x", body="李娜")  # only in another field
    add(site, "同事李娜")  # inside the title
    add(site, "李娜的客户")  # the title starts with it
    add(site, "李娜")  # the title is the query
    add(site, "y", body="找李娜")
    assert titles(site, "李娜") == ["李娜", "李娜的客户", "同事李娜", "x", "y"]
    assert titles(site, "李娜", sort="id") == ["x", "同事李娜", "李娜的客户", "李娜", "y"]


def test_custom_text_fields_are_searched_until_removed(site):
    admin = Actor.system("cli")
    add_field(site, admin, "notes", "wechat", {"type": "string"})
    add_field(site, admin, "notes", "score", {"type": "integer"})
    note = site.records.create(admin, "notes", {"title": "a", "custom": {"wechat": "lina_wx88", "score": 42}})
    assert titles(site, "wx88") == ["a"] and titles(site, "42") == []
    site.records.update(admin, "notes", note["id"], {"custom": {"wechat": "zhang_wx"}})
    assert titles(site, "wx88") == [] and titles(site, "zhang") == ["a"]
    remove_field(site, admin, "notes", "wechat")
    assert titles(site, "zhang") == []


def test_records_without_documents_are_indexed_by_the_backfill(site):
    add(site, "李娜", "退款")
    with site.write() as conn:
        conn.execute(sa.delete(search.DOCS).where(search.DOCS.c.entity == "notes"))
    assert titles(site, "李娜") == []
    assert search.index_missing(site) == {"notes": 2}
    assert titles(site, "李娜") == ["李娜"] and search.index_missing(site) == {}
    assert search.rebuild(site, ["notes"]) == {"notes": 2}
    assert titles(site, "退款") == ["退款"]
    assert search.rebuild(site)["notes"] == 2  # everything, indexes dropped and built again in bulk
    assert titles(site, "退款") == ["退款"] and titles(site, "李") == ["李娜"]
    note = add(site, "退款申请")[0]  # writes after a bulk rebuild are indexed as before
    site.records.update(Actor.system(), "notes", note["id"], {"title": "退款审批"})
    assert titles(site, "审批") == ["退款审批"] and titles(site, "申请") == []


def test_bad_queries_are_refused_with_the_field(site):
    with pytest.raises(ValidationError) as caught:
        site.records.list(Actor.system(), "notes", q="x" * 201)
    assert caught.value.details[0]["loc"] == ["query", "q"]
    with pytest.raises(ValidationError):
        site.records.list(Actor.system(), "notes", q=" ".join("abcdefghij"))
    assert site.records.list(Actor.system(), "notes", q="   ").total == 0


def test_totals_are_counted_up_to_the_cap(make_site):
    site = make_site(notes_plugin, count_cap=3)
    admin = Actor.system()
    add(site, *(f"退款{i}" for i in range(5)))
    page = site.records.list(admin, "notes", limit=2)
    assert (page.total, page.total_exact) == (3, False)
    page = site.records.list(admin, "notes", limit=2, exact_total=True)
    assert (page.total, page.total_exact) == (5, True)
    page = site.records.list(admin, "notes", q="退款", limit=2, offset=4)  # the last page counts itself
    assert (page.total, page.total_exact) == (5, True)
    page = site.records.list(admin, "notes", q="退款3", limit=2)
    assert (page.total, page.total_exact) == (1, True)
    page = site.records.list(admin, "notes", limit=3)
    assert (page.total, page.total_exact) == (3, False)
    page = site.records.list(admin, "notes", q="退款", sort="id", limit=1)
    assert (page.total, page.total_exact) == (3, False)
    page = site.records.list(admin, "notes", q="退款", limit=1)  # ranked: every match was read, and counted
    assert (page.total, page.total_exact) == (5, True)


def test_reading_everything_page_by_page_goes_past_the_cap(make_site):
    from kernel.cli.users import all_records

    site = make_site(notes_plugin, count_cap=3)
    site.records.create_many(Actor.system(), "notes", [{"title": f"n{i}"} for i in range(501)])  # one more than a page
    assert len(all_records(site, "notes")) == 501


def test_a_restored_backup_is_searchable(site, tmp_path):
    from kernel.backup import restore_backup, write_backup

    kept, gone = add(site, "李娜", "退款流程")
    write_backup(site, tmp_path / "crm.zip")
    site.records.delete(Actor.system(), "notes", gone["id"])
    site.records.update(Actor.system(), "notes", kept["id"], {"title": "王芳"})
    restore_backup(site, tmp_path / "crm.zip", replace=True)
    assert titles(site, "退款") == ["退款流程"] and titles(site, "李娜") == ["李娜"] and titles(site, "王芳") == []


def test_the_index_holds_exactly_the_documents_after_batches_and_rollbacks(site):
    """New documents are found one by one, in batches, not after a savepoint rolled back, and after a
    bulk rebuild. On SQLite they reach the FTS5 tables through ``search.write`` (no trigger since
    migration 0030), whose integrity check must pass; PostgreSQL's GIN index follows its table."""
    sqlite = site.engine.dialect.name == "sqlite"
    add(site, "李娜")
    site.records.create_many(Actor.system("import"), "notes", [{"title": f"客户{i}号"} for i in range(7)])
    with site.write() as conn:
        savepoint = conn.begin_nested()
        site.records.create_many(Actor.system("import"), "notes", [{"title": "回滚的客户"}], conn=conn)
        savepoint.rollback()
        site.records.create(Actor.system("import"), "notes", {"title": "留下的客户"}, conn=conn)
    assert len(titles(site, "客户")) == 8 and titles(site, "回滚") == [] and titles(site, "留下") == ["留下的客户"]
    search.rebuild(site)
    add(site, "王芳")
    with site.engine.connect() as conn:
        if sqlite:
            assert not conn.exec_driver_sql("SELECT 1 FROM sqlite_master WHERE type = 'trigger' AND name = 'kernel_search_inserted'").first()
            for table in (search.FTS_TRIGRAM, search.FTS_WORDS):  # raises if an index differs from kernel_search
                conn.exec_driver_sql(f"INSERT INTO {table}({table}, rank) VALUES ('integrity-check', 1)")
        assert conn.scalar(sa.select(sa.func.count()).select_from(search.DOCS).where(search.DOCS.c.entity == "notes")) == 10
    assert titles(site, "王") == ["王芳"] and titles(site, "客户3") == ["客户3号"]


def test_a_document_is_tokenized_in_one_pass_as_each_of_its_values_would_be():
    """``_document`` finds the short tokens and trigrams of the whole body at once: no run crosses a line."""
    from hypothesis import given, settings, strategies as st

    text = st.text(alphabet="abcXY 李娜退款_-+().@12５ｱ\u3000가", max_size=12)

    @settings(max_examples=300, deadline=None)
    @given(st.lists(st.one_of(st.none(), text, st.integers()), min_size=1, max_size=4))
    def check(values):
        record = {"id": 1, **{f"f{i}": v for i, v in enumerate(values)}}
        names = tuple(record)[1:]
        for dialect in ("sqlite", "postgresql"):
            doc = search._document("e", (names, ()), record, dialect)
            parts = [p for v in values if v not in (None, "") for t in [search.normalize(str(v))] if t for p in (t, search.digits_copy(t)) if p]
            if not parts:
                assert doc is None
                continue
            shorts = set().union(*(search.short_tokens([p]) for p in parts))
            assert doc["body"] == "\n".join(parts)
            assert doc["title"] == (search.normalize(str(values[0])) if values[0] not in (None, "") else "")
            assert doc["tokens"] == (sorted(shorts | search.trigrams(parts)) if dialect == "postgresql" else " ".join(sorted(shorts)))

    check()
