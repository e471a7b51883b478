"""targets: goals per metric, period and user or team (kernel.targets)

Revision ID: 3bff95fc7fa5
Revises: 709f3c0fc076
Create Date: 2026-12-01 19:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import kernel.db

revision = '3bff95fc7fa5'
down_revision = '709f3c0fc076'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('kernel_targets',
    sa.Column('metric', sa.String(length=80), nullable=False),
    sa.Column('period', sa.String(length=10), nullable=False),
    sa.Column('period_start', sa.Date(), nullable=False),
    sa.Column('user_id', sa.BigInteger(), nullable=True),
    sa.Column('team_id', sa.BigInteger(), nullable=True),
    sa.Column('amount', kernel.db.Money(), nullable=True),
    sa.Column('currency', sa.String(length=3), nullable=True),
    sa.Column('count', sa.BigInteger(), nullable=True),
    sa.Column('note', sa.Text(), nullable=False),
    sa.Column('id', kernel.db.BigId, autoincrement=True, nullable=False),
    sa.Column('created_at', kernel.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', kernel.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('custom', kernel.db.JSONData, nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_kernel_targets')),
    sqlite_autoincrement=True,
    )
    op.create_index('ix_kernel_targets_metric_period', 'kernel_targets', ['metric', 'period_start'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_kernel_targets_metric_period', table_name='kernel_targets')
    op.drop_table('kernel_targets')
