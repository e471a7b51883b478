"""Search: ``q`` on a list, answered from an index kept in the write transaction.

Every record of an entity with searchable fields has one row in ``kernel_search``
(its *document*): the lower-cased (NFKC) text of the entity's ``searchable``
built-in fields and of its custom text fields (kinds ``string``, ``email``,
``phone``), one value per line, plus a digits-only copy of any value made of
digits and phone punctuation (``+86 138-0013-8000`` is also ``8613800138000``),
except a ``+`` and digits (E.164, as phones are stored), whose digits are in it
already. ``title`` is the first searchable field's text, for ranking.

A query is split on white space; a record matches when every term does:

* a term of **3 or more characters** matches anywhere inside one value (a
  substring): PostgreSQL finds candidates through a GIN index over the
  document's trigrams and re-checks with ``LIKE``; SQLite asks an FTS5 table
  with the ``trigram`` tokenizer, which matches substrings exactly;
* a term of **1 or 2 characters** is looked up in a list of short tokens:
  every CJK character and every pair of adjacent CJK characters (so ``李``,
  ``李娜`` and ``退款`` inside ``如何申请退款流程`` match), and the first one and
  two characters of every other word (so ``li`` matches ``Lina`` and ``13``
  matches ``13800138000``, but ``na`` does not match ``Lina``, nor ``38`` that
  phone). A short term mixing CJK with other characters, or made of
  punctuation, is compared with ``LIKE`` against the documents (a scan of the
  search table, not of the records).

A phone-like term (digits and ``+ - ( ) . /`` or spaces) is compared by its
digits only. Matches are ranked when the caller asks no order: the title equal
to the query, then the title starting with it, then the title containing it,
then any value starting with it, then the rest; ties by id.

Writes through :class:`~kernel.records.Records` keep the documents current in
their own transaction; :func:`index_missing` (run after every upgrade) and
:func:`rebuild` (``crm db reindex``) fill them in bulk.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

from .customfields import CustomField, FieldSet
from .db import ids_in
from .inserts import insert_rows
from .errors import CRMError, ValidationError
from .models import SearchDocument

if TYPE_CHECKING:
    from .entities import Entity
    from .site import Site

DOCS = SearchDocument.__table__
#: Custom-field kinds whose values are searched.
TEXT_KINDS = frozenset({"string", "email", "phone"})
MAX_QUERY = 200
MAX_TERMS = 8
BATCH = 2000
#: The largest document id, asked before each batch's documents (SQLite): one statement, built once.
_LAST_DOCUMENT = sa.select(sa.func.max(DOCS.c.id))
#: The FTS5 tables (SQLite only) that index ``kernel_search`` (external content: new documents are
#: added by :func:`write`, deleted and changed ones by triggers).
TOKENS_INDEX = "ix_kernel_search_tokens"  # PostgreSQL: GIN over kernel_search.tokens
FTS_PREFIX = "kernel_search_fts_"
FTS_TRIGRAM = FTS_PREFIX + "trigram"
FTS_WORDS = FTS_PREFIX + "words"

_CJK = "\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\uac00-\ud7af"
_RUNS = re.compile(f"[{_CJK}]+|[^\\W_{_CJK}]+")
_ALL_CJK = re.compile(f"^[{_CJK}]+$")
_ALL_WORD = re.compile(f"^[^\\W_{_CJK}]+$")
_PHONE_LIKE = re.compile(r"^[0-9+\-(). /]*[0-9][0-9+\-(). /]*$")
_PHONE_PUNCTUATION = re.compile(r"[+\-(). /]")


def normalize(text: str) -> str:
    return unicodedata.normalize("NFKC", text).lower().strip()


def digits_only(text: str) -> str | None:
    """The digits of a phone-like text that has punctuation, else None."""
    if _PHONE_LIKE.match(text):
        digits = _PHONE_PUNCTUATION.sub("", text)
        if digits != text:
            return digits
    return None


def digits_copy(text: str) -> str | None:
    """The digits-only copy a document keeps of a value: :func:`digits_only`, except for ``+`` followed by
    digits (an E.164 phone, the commonest value of the kind), in which every run of its digits is found
    already; a search for digits ranks such a value as starting with them (:meth:`Search.rank`)."""
    digits = digits_only(text)
    if digits is not None and text[0] == "+" and len(text) == len(digits) + 1:
        return None
    return digits


def short_tokens(parts: Iterable[str]) -> set[str]:
    """CJK unigrams and bigrams, and the 1- and 2-character prefixes of other words."""
    return _short_tokens("\n".join(parts))


#: :data:`_RUNS`, saying which kind each run is: ``(cjk, "")`` or ``("", word)``.
_RUN_KINDS = re.compile(f"([{_CJK}]+)|([^\\W_{_CJK}]+)")


def _short_tokens(text: str) -> set[str]:
    """:func:`short_tokens` of the parts joined by new lines (no run crosses one: one pass over a document's body)."""
    tokens: set[str] = set()
    for cjk, word in _RUN_KINDS.findall(text):
        if cjk:
            tokens.update(cjk)
            tokens.update([cjk[i : i + 2] for i in range(len(cjk) - 1)])
        else:
            tokens.add(word[:1])
            tokens.add(word[:2])
    return tokens


def trigrams(parts: Iterable[str]) -> set[str]:
    """Every 3 characters in a row of ``parts`` without white space among them: those of each run
    between spaces (``str.split()`` splits on exactly the characters ``str.isspace`` names)."""
    return {run[i : i + 3] for part in parts for run in part.split() for i in range(len(run) - 2)}


# -- documents -------------------------------------------------------------------------


def searched_fields(entity: Entity, fields: FieldSet) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """The built-in and the custom fields whose text is searched."""
    custom = tuple(name for name, f in fields.fields.items() if f.kind in TEXT_KINDS)
    return entity.searchable, custom


def is_searchable(entity: Entity, fields: FieldSet) -> bool:
    built_in, custom = searched_fields(entity, fields)
    return bool(built_in or custom)


def document(entity: Entity, fields: FieldSet, record: dict[str, Any], dialect: str) -> dict[str, Any] | None:
    """The ``kernel_search`` row for ``record``; None when it has no searchable text."""
    return _document(entity.name, searched_fields(entity, fields), record, dialect)


def _document(entity_name: str, searched: tuple[tuple[str, ...], tuple[str, ...]], record: dict[str, Any], dialect: str) -> dict[str, Any] | None:
    """:func:`document`, the searched fields worked out by the caller (once for a batch, not per record)."""
    built_in, custom_names = searched
    custom = record.get("custom") or {}
    values = [record.get(name) for name in built_in] + [custom.get(name) for name in custom_names] if custom_names else [record.get(name) for name in built_in]
    parts: list[str] = []
    title = ""
    for index, value in enumerate(values):
        if value is None or value == "":
            continue
        text = normalize(value if type(value) is str else str(value))
        if index == 0:
            title = text
        if text:
            parts.append(text)
            digits = digits_copy(text)
            if digits:
                parts.append(digits)
    if not parts:
        return None
    body = "\n".join(parts)
    shorts = _short_tokens(body)
    if dialect == "postgresql":
        shorts.update([run[i : i + 3] for run in body.split() for i in range(len(run) - 2)])  # trigrams(parts)
        tokens: Any = sorted(shorts)
    else:
        tokens = " ".join(sorted(shorts))
    return {"entity": entity_name, "record_id": record["id"], "title": title, "body": body, "tokens": tokens}


def write(conn: sa.Connection, entity: Entity, fields: FieldSet, records: Sequence[dict[str, Any]], *, new: bool = False, fts: bool = True) -> None:
    """Store the documents of ``records`` (``new``: none exists yet, so none is deleted first).

    On SQLite the FTS5 tables are then given the new documents in two ``INSERT … SELECT``
    statements (``fts=False``: not, the indexes being rebuilt afterwards, see :func:`rebuild`):
    no trigger does it row by row, which took four times as long as the documents' own insert.
    """
    if not records or not is_searchable(entity, fields):
        return
    if not new:
        forget(conn, entity.name, [r["id"] for r in records])
    dialect = conn.dialect.name
    searched = searched_fields(entity, fields)
    rows = [doc for doc in (_document(entity.name, searched, r, dialect) for r in records) if doc is not None]
    if not rows:
        return
    if dialect != "sqlite" or not fts:
        insert_rows(conn, DOCS, rows)
        return
    before = conn.scalar(_LAST_DOCUMENT) or 0
    insert_rows(conn, DOCS, rows)
    _index_new(conn, before)


def _index_new(conn: sa.Connection, before: int) -> None:
    """SQLite: add the documents with ids above ``before`` to the FTS5 tables. They are the ones the
    caller just inserted: a new row's id is the largest plus one, and the write lock keeps other
    writers out of the transaction."""
    for table, column in ((FTS_TRIGRAM, "body"), (FTS_WORDS, "tokens")):
        conn.exec_driver_sql(f"INSERT INTO {table}(rowid, {column}) SELECT id, {column} FROM kernel_search WHERE id > ?", (before,))


def forget(conn: sa.Connection, entity_name: str, ids: Sequence[int]) -> None:
    if ids:
        conn.execute(sa.delete(DOCS).where(DOCS.c.entity == entity_name, ids_in(DOCS.c.record_id, ids, conn.dialect.name)))


def reindex_entity(conn: sa.Connection, entity: Entity, fields: FieldSet, *, missing_only: bool = False, fts: bool = True) -> int:
    """Write the documents of every record of ``entity`` (or of those without one); returns how many records were read
    (``fts=False``: SQLite's FTS5 tables are left for the caller to rebuild)."""
    table = entity.table
    if not missing_only:
        conn.execute(sa.delete(DOCS).where(DOCS.c.entity == entity.name))
    if not is_searchable(entity, fields):
        return 0
    query = sa.select(table).order_by(table.c.id).limit(BATCH)
    if missing_only:
        has_doc = sa.select(DOCS.c.id).where(DOCS.c.entity == entity.name, DOCS.c.record_id == table.c.id)
        query = query.where(~sa.exists(has_doc))
    done, last = 0, 0
    while True:  # a batch at a time, by id: memory stays flat however large the table
        batch = [dict(row._mapping) for row in conn.execute(query.where(table.c.id > last))]
        if not batch:
            return done
        write(conn, entity, fields, batch, new=True, fts=fts)
        done, last = done + len(batch), batch[-1]["id"]


def rebuild(site: Site, entity_names: Sequence[str] | None = None) -> dict[str, int]:
    """Rebuild the documents of ``entity_names``, one transaction each; by default of every
    enabled entity in one transaction that drops the search indexes, writes every document and
    builds the indexes again in bulk (searches wait for it to commit)."""
    view = site.refresh(force=True)
    counts = {}
    if entity_names is not None:
        for name in entity_names:
            with site.write() as conn:
                counts[name] = reindex_entity(conn, view.entities[name], view.fields(name))
        return counts
    with site.write() as conn:
        postgres = conn.dialect.name == "postgresql"
        for statement in _drop_indexes(postgres):
            conn.exec_driver_sql(statement)
        conn.execute(sa.delete(DOCS))
        for name, entity in sorted(view.entities.items()):
            counts[name] = reindex_entity(conn, entity, view.fields(name), fts=False)
        for statement in _build_indexes(postgres):
            conn.exec_driver_sql(statement)
    return counts


def _drop_indexes(postgres: bool) -> list[str]:
    if postgres:
        return [f"DROP INDEX {TOKENS_INDEX}"]
    return [statement for statement in fts_drop_ddl() if statement.startswith("DROP TRIGGER")]


def _build_indexes(postgres: bool) -> list[str]:
    if postgres:
        return ["SET LOCAL maintenance_work_mem = '256MB'", f"CREATE INDEX {TOKENS_INDEX} ON kernel_search USING gin (tokens)"]
    triggers = [statement for statement in fts_ddl() if statement.startswith("CREATE TRIGGER")]
    return [f"INSERT INTO {FTS_TRIGRAM}({FTS_TRIGRAM}) VALUES ('rebuild')", f"INSERT INTO {FTS_WORDS}({FTS_WORDS}) VALUES ('rebuild')", *triggers]


def index_missing(site: Site, plugins: Sequence[str] | None = None) -> dict[str, int]:
    """Add the documents that records written without one lack (after an upgrade or a restore),
    for the entities of ``plugins`` (default: every enabled entity whose table exists).

    Plugins that cannot be loaded together (two registering one entity, say) leave nothing to
    index: their error is for the first use of the site to report, not for the upgrade.
    """
    try:
        view = site.refresh(force=True)
    except CRMError:
        return {}
    counts = {}
    with site.write() as conn:
        existing = set(sa.inspect(conn).get_table_names())
        for name, entity in sorted(view.entities.items()):
            if entity.table.name in existing and (plugins is None or entity.plugin in plugins):
                added = reindex_entity(conn, entity, view.fields(name), missing_only=True)
                if added:
                    counts[name] = added
    return counts


def without_field(fields: FieldSet, name: str) -> FieldSet:
    return FieldSet(fields.entity, [f for f in fields.fields.values() if f.name != name])


def is_text_field(field_: CustomField) -> bool:
    return field_.kind in TEXT_KINDS


# -- queries ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Term:
    text: str

    @property
    def short(self) -> bool:
        return len(self.text) < 3

    @property
    def tokenized(self) -> bool:
        """A short term the token list answers (all CJK, or all letters and digits)."""
        return bool(_ALL_CJK.match(self.text) or _ALL_WORD.match(self.text))


def terms(q: str) -> list[Term]:
    """The terms of a query, normalized like the documents (phone-like terms as digits)."""
    if len(q) > MAX_QUERY:
        raise ValidationError.at(["query", "q"], f"must be at most {MAX_QUERY} characters")
    found = []
    for word in normalize(q).split():
        found.append(Term(digits_only(word) or word))
    if len(found) > MAX_TERMS:
        raise ValidationError.at(["query", "q"], f"must have at most {MAX_TERMS} words")
    return list(dict.fromkeys(found))


def _like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _fts_phrase(text: str) -> str:
    return '"' + text.replace('"', '""') + '"'


class Search:
    """The join, conditions and ranking that narrow one entity's list to a query's matches."""

    def __init__(self, entity: Entity, fields: FieldSet, dialect: str):
        if not is_searchable(entity, fields):
            raise ValidationError.at(["query", "q"], f"{entity.name} has no searchable fields")
        self.entity, self.dialect = entity, dialect

    def join(self, table: sa.FromClause) -> sa.Join:
        return table.join(DOCS, sa.and_(DOCS.c.entity == self.entity.name, DOCS.c.record_id == self.entity.table.c.id))

    def conditions(self, found: Sequence[Term]) -> list[sa.ColumnElement[bool]]:
        if self.dialect == "postgresql":
            return self._postgresql(found)
        return self._sqlite(found)

    def _postgresql(self, found: Sequence[Term]) -> list[sa.ColumnElement[bool]]:
        tokens: set[str] = set()
        conditions = []
        for term in found:
            if term.short and term.tokenized:
                tokens.add(term.text)
            elif term.short:
                conditions.append(DOCS.c.body.like(f"%{_like(term.text)}%", escape="\\"))
            else:
                tokens |= trigrams([term.text])
                conditions.append(DOCS.c.body.like(f"%{_like(term.text)}%", escape="\\"))
        if tokens:
            wanted = sa.bindparam(None, sorted(tokens), type_=postgresql.ARRAY(sa.Text))
            conditions.insert(0, DOCS.c.tokens.op("@>")(wanted))
        return conditions

    def _sqlite(self, found: Sequence[Term]) -> list[sa.ColumnElement[bool]]:
        words = [_fts_phrase(t.text) for t in found if t.short and t.tokenized]
        substrings = [_fts_phrase(t.text) for t in found if not t.short]
        conditions = [DOCS.c.body.like(f"%{_like(t.text)}%", escape="\\") for t in found if t.short and not t.tokenized]
        for table, phrases in ((FTS_WORDS, words), (FTS_TRIGRAM, substrings)):
            if phrases:
                matching = sa.select(sa.column("rowid")).select_from(sa.table(table)).where(
                    sa.literal_column(table).op("MATCH")(sa.bindparam(None, " AND ".join(phrases), type_=sa.Text))
                )
                conditions.insert(0, DOCS.c.id.in_(matching))
        return conditions

    def rank(self, found: Sequence[Term]) -> sa.ColumnElement[int]:
        """0 best: the title is the query, starts with it, holds it; a value starts with it; any match."""
        whole = " ".join(t.text for t in found)
        like = _like(whole)
        title = DOCS.c.title
        lines = sa.literal("\n") + DOCS.c.body
        starts = lines.like(f"%\n{like}%", escape="\\")
        if whole.isascii() and whole.isdigit():  # an E.164 value keeps no digits-only copy: its digits follow the +
            starts = starts | lines.like(f"%\n+{like}%", escape="\\")
        return sa.case(
            (title == whole, 0),
            (title.like(f"{like}%", escape="\\"), 1),
            (title.like(f"%{like}%", escape="\\"), 2),
            (starts, 3),
            else_=4,
        )


#: SQLite: what added a new document to the FTS5 tables row by row until :func:`write` did it for
#: the whole batch (migration 0030 dropped it; its downgrade makes it again).
INSERTED_TRIGGER = (
    "CREATE TRIGGER kernel_search_inserted AFTER INSERT ON kernel_search BEGIN "
    f"INSERT INTO {FTS_TRIGRAM}(rowid, body) VALUES (new.id, new.body); "
    f"INSERT INTO {FTS_WORDS}(rowid, tokens) VALUES (new.id, new.tokens); END"
)


#: The FTS5 tables keep no per-document token counts (``columnsize=0``): only ranking functions
#: (``bm25``) read them, and :meth:`Search.rank` ranks by the document's title and lines instead.
#: Without them a new document costs a quarter less to index (migration 0031).
FTS_OPTIONS = "columnsize=0"


def fts_ddl(options: str = FTS_OPTIONS) -> list[str]:
    """SQLite: the FTS5 tables over ``kernel_search`` (created with ``options``) and the triggers that
    keep them current when a document is deleted or changed; a new one is indexed by :func:`write`
    itself (a batch in two statements)."""
    extra = f", {options}" if options else ""
    both = (
        f"INSERT INTO {FTS_TRIGRAM}(rowid, body) VALUES (new.id, new.body); "
        f"INSERT INTO {FTS_WORDS}(rowid, tokens) VALUES (new.id, new.tokens);"
    )
    gone = (
        f"INSERT INTO {FTS_TRIGRAM}({FTS_TRIGRAM}, rowid, body) VALUES ('delete', old.id, old.body); "
        f"INSERT INTO {FTS_WORDS}({FTS_WORDS}, rowid, tokens) VALUES ('delete', old.id, old.tokens);"
    )
    return [
        f"CREATE VIRTUAL TABLE {FTS_TRIGRAM} USING fts5(body, content='kernel_search', content_rowid='id', tokenize='trigram'{extra})",
        f"CREATE VIRTUAL TABLE {FTS_WORDS} USING fts5(tokens, content='kernel_search', content_rowid='id', tokenize='unicode61'{extra})",
        f"CREATE TRIGGER kernel_search_deleted AFTER DELETE ON kernel_search BEGIN {gone} END",
        f"CREATE TRIGGER kernel_search_updated AFTER UPDATE ON kernel_search BEGIN {gone} {both} END",
    ]


#: How many segments of one size an FTS5 table gathers before merging them into one (FTS5's
#: ``automerge``; its own default is 4). With 8 a document is rewritten by fewer merges while a
#: table grows, and searches read about as fast: indexing a million documents 1,000 a transaction
#: took 9.2 s of CPU instead of 13.2 s, 200 searches 0.43 s either way (at 16: 0.74 s). Set by
#: migration 0032, kept in each table's ``%_config`` (a rebuild keeps it).
FTS_AUTOMERGE = 8


def fts_tuning(automerge: int = FTS_AUTOMERGE) -> list[str]:
    """SQLite: the statements that set the FTS5 tables' merge width (:data:`FTS_AUTOMERGE`)."""
    return [f"INSERT INTO {table}({table}, rank) VALUES ('automerge', {int(automerge)})" for table in (FTS_TRIGRAM, FTS_WORDS)]


def fts_drop_ddl() -> list[str]:
    return [
        "DROP TRIGGER IF EXISTS kernel_search_updated",
        "DROP TRIGGER IF EXISTS kernel_search_deleted",
        "DROP TRIGGER IF EXISTS kernel_search_inserted",
        f"DROP TABLE IF EXISTS {FTS_WORDS}",
        f"DROP TABLE IF EXISTS {FTS_TRIGRAM}",
    ]

