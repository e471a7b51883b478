"""ownership events say what kind of change it was, what it went through and which rule decided it

Revision ID: 7d3a9c2e5b18
Revises: 5c0e7d1a9b24
Create Date: 2026-12-02 01:10:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '7d3a9c2e5b18'
down_revision = '5c0e7d1a9b24'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('kernel_ownership_events', schema=None) as batch_op:
        batch_op.add_column(sa.Column('action', sa.String(length=40), server_default='assign', nullable=False))
        batch_op.add_column(sa.Column('via_entity', sa.String(length=80), nullable=True))
        batch_op.add_column(sa.Column('via_id', sa.BigInteger(), nullable=True))
        batch_op.add_column(sa.Column('rule', sa.String(length=200), nullable=True))
        batch_op.create_index('ix_kernel_ownership_events_via', ['via_entity', 'via_id', 'at'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('kernel_ownership_events', schema=None) as batch_op:
        batch_op.drop_index('ix_kernel_ownership_events_via')
        batch_op.drop_column('rule')
        batch_op.drop_column('via_id')
        batch_op.drop_column('via_entity')
        batch_op.drop_column('action')
