"""sea tables: the seas (pool entity of customers)

Revision ID: d7a3c5e9f104
Revises:
Create Date: 2026-12-02 02:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy import Text
from sqlalchemy.dialects import postgresql

import kernel

revision = 'd7a3c5e9f104'
down_revision = None
branch_labels = ('sea',)
depends_on = 'core'

ID = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')
JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=Text()), 'postgresql')


def upgrade() -> None:
    op.create_table('sea_seas',
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('admin_ids', JSON, nullable=False),
    sa.Column('admin_team_ids', JSON, nullable=False),
    sa.Column('member_ids', JSON, nullable=False),
    sa.Column('member_team_ids', JSON, nullable=False),
    sa.Column('assignment', sa.String(length=40), nullable=False),
    sa.Column('assignment_rules', JSON, nullable=False),
    sa.Column('claim_limit', sa.Integer(), nullable=True),
    sa.Column('daily_claim_limit', sa.Integer(), nullable=True),
    sa.Column('followup_days', sa.Integer(), nullable=True),
    sa.Column('close_days', sa.Integer(), nullable=True),
    sa.Column('remind_hours', sa.Integer(), nullable=True),
    sa.Column('cooldown_days', sa.Integer(), nullable=True),
    sa.Column('masked_fields', JSON, nullable=False),
    sa.Column('level_overrides', JSON, nullable=False),
    sa.Column('id', ID, autoincrement=True, nullable=False),
    sa.Column('created_at', kernel.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', kernel.UTCDateTime(timezone=True), nullable=False),
    sa.Column('custom', JSON, nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_sea_seas')),
    sqlite_autoincrement=True,
    )


def downgrade() -> None:
    op.drop_table('sea_seas')
