"""background tasks: one row per queued, running or recently finished task (kernel.tasks)

Revision ID: 5b4889e02eba
Revises: 5b7e0c9d1f24
Create Date: 2026-12-01 18:45:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

import kernel.db

revision = '5b4889e02eba'
down_revision = '5b7e0c9d1f24'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('kernel_tasks',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('kind', sa.String(length=120), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('payload', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=True),
    sa.Column('result', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=True),
    sa.Column('error', sa.Text(), nullable=True),
    sa.Column('progress_done', sa.BigInteger(), nullable=False),
    sa.Column('progress_total', sa.BigInteger(), nullable=True),
    sa.Column('message', sa.String(length=500), nullable=True),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('max_attempts', sa.Integer(), nullable=False),
    sa.Column('cancel_requested', sa.Boolean(), nullable=False),
    sa.Column('run_at', kernel.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('lease_until', kernel.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('worker', sa.String(length=120), nullable=True),
    sa.Column('created_by', sa.BigInteger(), nullable=True),
    sa.Column('actor', sa.String(length=254), nullable=False),
    sa.Column('created_at', kernel.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('started_at', kernel.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('finished_at', kernel.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('updated_at', kernel.db.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_kernel_tasks'))
    )
    with op.batch_alter_table('kernel_tasks', schema=None) as batch_op:
        batch_op.create_index('ix_kernel_tasks_creator', ['created_by', 'id'], unique=False)
        batch_op.create_index('ix_kernel_tasks_due', ['status', 'run_at'], unique=False)
        batch_op.create_index('ix_kernel_tasks_finished', ['finished_at'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('kernel_tasks', schema=None) as batch_op:
        batch_op.drop_index('ix_kernel_tasks_finished')
        batch_op.drop_index('ix_kernel_tasks_due')
        batch_op.drop_index('ix_kernel_tasks_creator')
    op.drop_table('kernel_tasks')
