"""ownership events: one row per change of a record's owner

Revision ID: feb92778acd5
Revises: 6c2d9e41a7b3
Create Date: 2026-12-01 15:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import kernel.db

revision = 'feb92778acd5'
down_revision = '6c2d9e41a7b3'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('kernel_ownership_events',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('entity', sa.String(length=80), nullable=False),
    sa.Column('record_id', sa.BigInteger(), nullable=False),
    sa.Column('from_owner', sa.BigInteger(), nullable=True),
    sa.Column('to_owner', sa.BigInteger(), nullable=True),
    sa.Column('actor_id', sa.BigInteger(), nullable=True),
    sa.Column('actor', sa.String(length=254), nullable=False),
    sa.Column('reason', sa.String(length=500), nullable=True),
    sa.Column('at', kernel.db.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_kernel_ownership_events'))
    )
    with op.batch_alter_table('kernel_ownership_events', schema=None) as batch_op:
        batch_op.create_index('ix_kernel_ownership_events_record', ['entity', 'record_id'], unique=False)
        batch_op.create_index('ix_kernel_ownership_events_to_owner', ['to_owner', 'at'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('kernel_ownership_events', schema=None) as batch_op:
        batch_op.drop_index('ix_kernel_ownership_events_to_owner')
        batch_op.drop_index('ix_kernel_ownership_events_record')
    op.drop_table('kernel_ownership_events')
