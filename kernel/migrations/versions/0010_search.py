"""search documents for q on lists (kernel_search; FTS5 tables on SQLite, a GIN index on PostgreSQL)

Revision ID: 5e4a9c2d7b10
Revises: feb92778acd5
Create Date: 2026-12-01 15:00:00.000000

The documents of existing records are written by ``kernel.search.index_missing``,
which ``migrations.upgrade`` runs once every branch is at its head (plugin tables
included), not here.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

from kernel import search

revision = '5e4a9c2d7b10'
down_revision = 'feb92778acd5'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('kernel_search',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('entity', sa.String(length=80), nullable=False),
    sa.Column('record_id', sa.BigInteger(), nullable=False),
    sa.Column('title', sa.Text(), nullable=False),
    sa.Column('body', sa.Text(), nullable=False),
    sa.Column('tokens', sa.Text().with_variant(postgresql.ARRAY(sa.Text()), 'postgresql'), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_kernel_search')),
    sa.UniqueConstraint('entity', 'record_id', name=op.f('uq_kernel_search_entity_record_id'))
    )
    if op.get_bind().dialect.name == 'postgresql':
        op.create_index(search.TOKENS_INDEX, 'kernel_search', ['tokens'], unique=False, postgresql_using='gin')
    else:
        for statement in search.fts_ddl():
            op.execute(statement)


def downgrade() -> None:
    if op.get_bind().dialect.name == 'postgresql':
        op.drop_index(search.TOKENS_INDEX, table_name='kernel_search', postgresql_using='gin')
    else:
        for statement in search.fts_drop_ddl():
            op.execute(statement)
    op.drop_table('kernel_search')
