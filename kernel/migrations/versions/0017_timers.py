"""per-record timers: one row per armed deadline of a record (kernel.timers)

Revision ID: fd26984e54c8
Revises: 5b4889e02eba
Create Date: 2026-12-01 18:40:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import kernel.db

revision = 'fd26984e54c8'
down_revision = '5b4889e02eba'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('kernel_timers',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('entity', sa.String(length=80), nullable=False),
    sa.Column('record_id', sa.BigInteger(), nullable=False),
    sa.Column('name', sa.String(length=80), nullable=False),
    sa.Column('due_at', kernel.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('next_at', kernel.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('error', sa.Text(), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_kernel_timers')),
    sa.UniqueConstraint('entity', 'record_id', 'name', name=op.f('uq_kernel_timers_entity_record_id_name')),
    sqlite_autoincrement=True,
    )
    op.create_index('ix_kernel_timers_due', 'kernel_timers', ['entity', 'name', 'next_at'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_kernel_timers_due', table_name='kernel_timers')
    op.drop_table('kernel_timers')
