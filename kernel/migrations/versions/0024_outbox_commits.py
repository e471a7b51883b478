"""outbox commits: events are the audit entries; the outbox keeps the order transactions committed in

The event rows of ``kernel_outbox`` copied each audit entry; they make way for
``kernel_outbox_commits`` (one row per committed transaction, naming its audit ids).
Events not yet delivered when upgrading are not carried over: subscribers start again
at the first commit made after the upgrade, and held-back deliveries are dropped.

Revision ID: 4c2b8e5d7a13
Revises: 8e41c7a2d950
Create Date: 2026-12-01 22:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

import kernel.db

revision = '4c2b8e5d7a13'
down_revision = '8e41c7a2d950'
branch_labels = None
depends_on = None

BIG_ID = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')
JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql')


def upgrade() -> None:
    op.drop_index('ix_kernel_outbox_at', table_name='kernel_outbox')
    op.drop_table('kernel_outbox')
    op.create_table('kernel_outbox_commits',
    sa.Column('id', BIG_ID, autoincrement=True, nullable=False),
    sa.Column('entries', JSON, nullable=False),
    sa.Column('at', kernel.db.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_kernel_outbox_commits')),
    sqlite_autoincrement=True,
    )
    op.create_index('ix_kernel_outbox_commits_at', 'kernel_outbox_commits', ['at'], unique=False)
    op.execute('DELETE FROM kernel_outbox_deliveries')
    op.execute('UPDATE kernel_outbox_subscribers SET position = 0')
    with op.batch_alter_table('kernel_outbox_subscribers') as batch:
        batch.add_column(sa.Column('entry', sa.BigInteger(), nullable=False, server_default='0'))


def downgrade() -> None:
    with op.batch_alter_table('kernel_outbox_subscribers') as batch:
        batch.drop_column('entry')
    op.execute('DELETE FROM kernel_outbox_deliveries')
    op.execute('UPDATE kernel_outbox_subscribers SET position = 0')
    op.drop_index('ix_kernel_outbox_commits_at', table_name='kernel_outbox_commits')
    op.drop_table('kernel_outbox_commits')
    op.create_table('kernel_outbox',
    sa.Column('id', BIG_ID, autoincrement=True, nullable=False),
    sa.Column('name', sa.String(length=130), nullable=False),
    sa.Column('entity', sa.String(length=80), nullable=False),
    sa.Column('record_id', sa.BigInteger(), nullable=False),
    sa.Column('action', sa.String(length=40), nullable=False),
    sa.Column('changes', JSON, nullable=False),
    sa.Column('actor_id', sa.BigInteger(), nullable=True),
    sa.Column('actor', sa.String(length=254), nullable=False),
    sa.Column('channel', sa.String(length=20), nullable=False),
    sa.Column('at', kernel.db.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_kernel_outbox')),
    sqlite_autoincrement=True,
    )
    op.create_index('ix_kernel_outbox_at', 'kernel_outbox', ['at'], unique=False)
