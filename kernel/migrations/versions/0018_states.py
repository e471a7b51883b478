"""state machines as data: admin-edited states and one state event per transition

Revision ID: 9c34a350a8af
Revises: fd26984e54c8
Create Date: 2026-12-01 18:40:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

import kernel.db

revision = '9c34a350a8af'
down_revision = 'fd26984e54c8'
branch_labels = None
depends_on = None

JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql')


def upgrade() -> None:
    op.create_table('kernel_states',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('entity', sa.String(length=80), nullable=False),
    sa.Column('set_key', sa.String(length=80), nullable=False),
    sa.Column('key', sa.String(length=40), nullable=False),
    sa.Column('label', JSON, nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=10), nullable=False),
    sa.Column('requires', JSON, nullable=False),
    sa.Column('permission', sa.String(length=120), nullable=True),
    sa.Column('transitions', JSON, nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_kernel_states')),
    sa.UniqueConstraint('entity', 'set_key', 'key', name=op.f('uq_kernel_states_entity_set_key_key'))
    )
    op.create_table('kernel_state_events',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('entity', sa.String(length=80), nullable=False),
    sa.Column('record_id', sa.BigInteger(), nullable=False),
    sa.Column('set_key', sa.String(length=80), nullable=False),
    sa.Column('from_state', sa.String(length=40), nullable=True),
    sa.Column('to_state', sa.String(length=40), nullable=False),
    sa.Column('kind', sa.String(length=10), nullable=False),
    sa.Column('actor_id', sa.BigInteger(), nullable=True),
    sa.Column('actor', sa.String(length=254), nullable=False),
    sa.Column('at', kernel.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('seconds', sa.BigInteger(), nullable=True),
    sa.Column('snapshot', JSON, nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_kernel_state_events'))
    )
    with op.batch_alter_table('kernel_state_events', schema=None) as batch_op:
        batch_op.create_index('ix_kernel_state_events_funnel', ['entity', 'set_key', 'to_state', 'at'], unique=False)
        batch_op.create_index('ix_kernel_state_events_record', ['entity', 'record_id', 'id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('kernel_state_events', schema=None) as batch_op:
        batch_op.drop_index('ix_kernel_state_events_record')
        batch_op.drop_index('ix_kernel_state_events_funnel')
    op.drop_table('kernel_state_events')
    op.drop_table('kernel_states')
