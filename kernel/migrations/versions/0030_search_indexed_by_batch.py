"""search (SQLite): new documents reach the FTS5 tables a batch at a time, not through a trigger

``kernel.search.write`` adds the documents it inserts to the two FTS5 tables with one
``INSERT … SELECT`` each; the ``AFTER INSERT`` trigger that did so row by row (two FTS5
statements per document, four times the cost of the document's own insert) is dropped. The
triggers for deleted and changed documents stay. Nothing to do on PostgreSQL (a GIN index).

Revision ID: 3c8e1f7a9d20
Revises: 7a3f9c2e5b81
Create Date: 2026-12-02 16:10:00
"""

from __future__ import annotations

from alembic import op

from kernel import search

revision = '3c8e1f7a9d20'
down_revision = '7a3f9c2e5b81'
branch_labels = None
depends_on = None


def upgrade() -> None:
    if op.get_bind().dialect.name == 'sqlite':
        op.execute("DROP TRIGGER IF EXISTS kernel_search_inserted")


def downgrade() -> None:
    if op.get_bind().dialect.name == 'sqlite':
        op.execute(search.INSERTED_TRIGGER)
