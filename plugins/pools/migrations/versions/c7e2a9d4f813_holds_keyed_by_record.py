"""pools: held records keyed by the record, without a rowid on SQLite

A hold is found and removed by its record (``entity``, ``record_id``); its own ``id`` served nothing.
With the record as the primary key, SQLite keeps the row in that key's b-tree (``WITHOUT ROWID``):
removing a hold (a claim given back, a return) writes one page instead of a page of the table and
one of the unique index. PostgreSQL: the unique constraint becomes the primary key.

Revision ID: c7e2a9d4f813
Revises: a41c7e9d2b60
Create Date: 2026-12-02 16:20:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import kernel

revision = 'c7e2a9d4f813'
down_revision = 'a41c7e9d2b60'
branch_labels = None
depends_on = None

ID = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')
COLUMNS = 'entity, record_id, pool_id, user_id, assigned_at, counted, reminded_at'


def _columns() -> list[sa.Column]:
    return [
        sa.Column('entity', sa.String(length=80), nullable=False),
        sa.Column('record_id', sa.BigInteger(), nullable=False),
        sa.Column('pool_id', sa.BigInteger(), nullable=False),
        sa.Column('user_id', sa.BigInteger(), nullable=False),
        sa.Column('assigned_at', kernel.UTCDateTime(timezone=True), nullable=False),
        sa.Column('counted', sa.Boolean(), nullable=False),
        sa.Column('reminded_at', kernel.UTCDateTime(timezone=True), nullable=True),
    ]


def _rebuild_sqlite(*, keyed: bool) -> None:
    """Copy the holds into a new table (keyed by the record without a rowid, or with an ``id`` again)."""
    op.drop_index('ix_pools_holds_owner', table_name='pools_holds')
    op.rename_table('pools_holds', 'pools_holds_old')
    if keyed:
        op.create_table('pools_holds', *_columns(), sa.PrimaryKeyConstraint('entity', 'record_id', name=op.f('pk_pools_holds')),
                        sqlite_with_rowid=False)
    else:
        op.create_table('pools_holds', sa.Column('id', ID, autoincrement=True, nullable=False), *_columns(),
                        sa.PrimaryKeyConstraint('id', name=op.f('pk_pools_holds')),
                        sa.UniqueConstraint('entity', 'record_id', name=op.f('uq_pools_holds_entity_record_id')))
    op.execute(f'INSERT INTO pools_holds ({COLUMNS}) SELECT {COLUMNS} FROM pools_holds_old ORDER BY entity, record_id')
    op.drop_table('pools_holds_old')
    op.create_index('ix_pools_holds_owner', 'pools_holds', ['entity', 'pool_id', 'user_id'], unique=False)


def upgrade() -> None:
    if op.get_bind().dialect.name == 'sqlite':
        _rebuild_sqlite(keyed=True)
        return
    op.drop_constraint('pk_pools_holds', 'pools_holds', type_='primary')
    op.drop_constraint('uq_pools_holds_entity_record_id', 'pools_holds', type_='unique')
    op.drop_column('pools_holds', 'id')
    op.create_primary_key('pk_pools_holds', 'pools_holds', ['entity', 'record_id'])


def downgrade() -> None:
    if op.get_bind().dialect.name == 'sqlite':
        _rebuild_sqlite(keyed=False)
        return
    op.drop_constraint('pk_pools_holds', 'pools_holds', type_='primary')
    op.add_column('pools_holds', sa.Column('id', sa.BigInteger(), sa.Identity(), nullable=False))
    op.create_primary_key('pk_pools_holds', 'pools_holds', ['id'])
    op.create_unique_constraint('uq_pools_holds_entity_record_id', 'pools_holds', ['entity', 'record_id'])
