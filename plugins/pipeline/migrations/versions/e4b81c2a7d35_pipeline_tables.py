"""pipeline tables: pipelines, opportunities, stage rules

Revision ID: e4b81c2a7d35
Revises:
Create Date: 2026-12-02 04:30:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy import Text
from sqlalchemy.dialects import postgresql

import kernel

revision = 'e4b81c2a7d35'
down_revision = None
branch_labels = ('pipeline',)
depends_on = 'core'

ID = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')
JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=Text()), 'postgresql')


def _record_columns(table: str) -> list[sa.Column]:  # type: ignore[type-arg]
    return [
        sa.Column('id', ID, autoincrement=True, nullable=False),
        sa.Column('created_at', kernel.UTCDateTime(timezone=True), nullable=False),
        sa.Column('updated_at', kernel.UTCDateTime(timezone=True), nullable=False),
        sa.Column('custom', JSON, nullable=False),
        sa.PrimaryKeyConstraint('id', name=op.f(f'pk_{table}')),
    ]


def upgrade() -> None:
    op.create_table('pipeline_pipelines',
    sa.Column('name', sa.String(length=120), nullable=False),
    sa.Column('description', sa.Text(), nullable=False),
    sa.Column('is_default', sa.Boolean(), nullable=False),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('currency', sa.String(length=3), nullable=False),
    *_record_columns('pipeline_pipelines'),
    sqlite_autoincrement=True,
    )
    op.create_table('pipeline_opportunities',
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('customer_id', sa.BigInteger(), nullable=False),
    sa.Column('contact_ids', JSON, nullable=False),
    sa.Column('owner_id', sa.BigInteger(), nullable=True),
    sa.Column('team_id', sa.BigInteger(), nullable=True),
    sa.Column('pipeline_id', sa.BigInteger(), nullable=False),
    sa.Column('stage', sa.String(length=40), nullable=False),
    sa.Column('amount', kernel.Money(), nullable=True),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('expected_close', sa.Date(), nullable=True),
    sa.Column('probability', sa.Integer(), nullable=True),
    sa.Column('source', sa.String(length=80), nullable=True),
    sa.Column('competitor_notes', sa.Text(), nullable=False),
    sa.Column('next_step', sa.String(length=300), nullable=True),
    sa.Column('outcome', sa.String(length=10), nullable=False),
    sa.Column('lost_reason', sa.String(length=40), nullable=True),
    sa.Column('stage_feedback', JSON, nullable=True),
    sa.Column('won_at', kernel.UTCDateTime(timezone=True), nullable=True),
    sa.Column('closed_at', kernel.UTCDateTime(timezone=True), nullable=True),
    sa.Column('last_activity_at', kernel.UTCDateTime(timezone=True), nullable=True),
    sa.Column('lead_id', sa.BigInteger(), nullable=True),
    *_record_columns('pipeline_opportunities'),
    sqlite_autoincrement=True,
    )
    for column in ('customer_id', 'owner_id', 'team_id', 'expected_close', 'outcome', 'closed_at', 'last_activity_at', 'lead_id'):
        op.create_index(op.f(f'ix_pipeline_opportunities_{column}'), 'pipeline_opportunities', [column], unique=False)
    op.create_index('ix_pipeline_opportunities_board', 'pipeline_opportunities', ['pipeline_id', 'stage'], unique=False)
    op.create_table('pipeline_stage_rules',
    sa.Column('id', ID, autoincrement=True, nullable=False),
    sa.Column('pipeline_id', sa.BigInteger(), nullable=False),
    sa.Column('key', sa.String(length=40), nullable=False),
    sa.Column('kind', sa.String(length=10), nullable=False),
    sa.Column('probability', sa.Integer(), nullable=False),
    sa.Column('rotting_days', sa.Integer(), nullable=True),
    sa.Column('feedback', JSON, nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_pipeline_stage_rules')),
    sa.UniqueConstraint('pipeline_id', 'key', name=op.f('uq_pipeline_stage_rules_pipeline_id_key')),
    )


def downgrade() -> None:
    op.drop_table('pipeline_stage_rules')
    op.drop_table('pipeline_opportunities')
    op.drop_table('pipeline_pipelines')
