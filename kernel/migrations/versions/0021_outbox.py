"""outbox: events of committed writes, their subscribers and held-back deliveries (kernel.outbox)

Revision ID: 709f3c0fc076
Revises: b9291b5c1ef1
Create Date: 2026-12-01 18:30:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

import kernel.db

revision = '709f3c0fc076'
down_revision = 'b9291b5c1ef1'
branch_labels = None
depends_on = None

BIG_ID = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')
JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql')


def upgrade() -> None:
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
    op.create_table('kernel_outbox_subscribers',
    sa.Column('name', sa.String(length=80), nullable=False),
    sa.Column('position', sa.BigInteger(), nullable=False),
    sa.Column('lease_until', kernel.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('lease_by', sa.String(length=120), nullable=True),
    sa.PrimaryKeyConstraint('name', name=op.f('pk_kernel_outbox_subscribers'))
    )
    op.create_table('kernel_outbox_deliveries',
    sa.Column('id', BIG_ID, autoincrement=True, nullable=False),
    sa.Column('subscriber', sa.String(length=80), nullable=False),
    sa.Column('event', sa.BigInteger(), nullable=False),
    sa.Column('status', sa.String(length=10), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('next_at', kernel.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('error', sa.Text(), nullable=True),
    sa.Column('updated_at', kernel.db.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_kernel_outbox_deliveries')),
    sa.UniqueConstraint('subscriber', 'event', name=op.f('uq_kernel_outbox_deliveries_subscriber_event'))
    )
    op.create_index('ix_kernel_outbox_deliveries_event', 'kernel_outbox_deliveries', ['event'], unique=False)
    op.create_index('ix_kernel_outbox_deliveries_status', 'kernel_outbox_deliveries', ['status', 'subscriber', 'event'], unique=False)


def downgrade() -> None:
    op.drop_table('kernel_outbox_deliveries')
    op.drop_table('kernel_outbox_subscribers')
    op.drop_index('ix_kernel_outbox_at', table_name='kernel_outbox')
    op.drop_table('kernel_outbox')
