"""numbering sequences: admins' settings and one counter per sequence and period

Revision ID: 9b3e51c0d2a7
Revises: 583133bd1cc9
Create Date: 2026-12-01 16:20:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import kernel.db

revision = '9b3e51c0d2a7'
down_revision = '583133bd1cc9'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('kernel_sequences',
    sa.Column('name', sa.String(length=40), nullable=False),
    sa.Column('prefix', sa.String(length=40), nullable=False),
    sa.Column('padding', sa.Integer(), nullable=False),
    sa.Column('reset', sa.String(length=10), nullable=False),
    sa.Column('time_zone', sa.String(length=64), nullable=False),
    sa.Column('changed_at', kernel.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('changed_by', sa.BigInteger(), nullable=True),
    sa.PrimaryKeyConstraint('name', name=op.f('pk_kernel_sequences'))
    )
    op.create_table('kernel_sequence_counters',
    sa.Column('name', sa.String(length=40), nullable=False),
    sa.Column('period', sa.String(length=7), nullable=False),
    sa.Column('next_value', sa.BigInteger(), nullable=False),
    sa.Column('last_value', sa.BigInteger(), nullable=False),
    sa.PrimaryKeyConstraint('name', 'period', name=op.f('pk_kernel_sequence_counters'))
    )


def downgrade() -> None:
    op.drop_table('kernel_sequence_counters')
    op.drop_table('kernel_sequences')
