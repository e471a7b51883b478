"""leads tables: the leads and the lead pools (pool entity of leads)

Revision ID: b4e8a1c6d2f3
Revises:
Create Date: 2026-12-02 04:40:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy import Text
from sqlalchemy.dialects import postgresql

import kernel

revision = 'b4e8a1c6d2f3'
down_revision = None
branch_labels = ('leads',)
depends_on = 'core'

ID = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')
JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=Text()), 'postgresql')


def upgrade() -> None:
    op.create_table('leads_leads',
    sa.Column('name', sa.String(length=120), nullable=False),
    sa.Column('company', sa.String(length=200), nullable=True),
    sa.Column('title', sa.String(length=120), nullable=True),
    sa.Column('phone', sa.String(length=40), nullable=True),
    sa.Column('email', sa.String(length=254), nullable=True),
    sa.Column('wechat', sa.String(length=80), nullable=True),
    sa.Column('source', sa.String(length=80), nullable=True),
    sa.Column('region', sa.String(length=80), nullable=True),
    sa.Column('industry', sa.String(length=80), nullable=True),
    sa.Column('pool_id', sa.BigInteger(), nullable=True),
    sa.Column('owner_id', sa.BigInteger(), nullable=True),
    sa.Column('status', sa.String(length=40), nullable=False),
    sa.Column('score', sa.Integer(), nullable=False),
    sa.Column('score_reasons', JSON, nullable=False),
    sa.Column('last_followed_at', kernel.UTCDateTime(timezone=True), nullable=True),
    sa.Column('notes', sa.Text(), nullable=True),
    sa.Column('invalid_reason', sa.String(length=80), nullable=True),
    sa.Column('customer_id', sa.BigInteger(), nullable=True),
    sa.Column('contact_id', sa.BigInteger(), nullable=True),
    sa.Column('opportunity_id', sa.BigInteger(), nullable=True),
    sa.Column('converted_at', kernel.UTCDateTime(timezone=True), nullable=True),
    sa.Column('company_key', sa.String(length=200), nullable=True),
    sa.Column('phone_key', sa.String(length=40), nullable=True),
    sa.Column('email_key', sa.String(length=254), nullable=True),
    sa.Column('id', ID, autoincrement=True, nullable=False),
    sa.Column('created_at', kernel.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', kernel.UTCDateTime(timezone=True), nullable=False),
    sa.Column('custom', JSON, nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_leads_leads')),
    sqlite_autoincrement=True
    )
    op.create_index(op.f('ix_leads_leads_company_key'), 'leads_leads', ['company_key'], unique=False)
    op.create_index(op.f('ix_leads_leads_customer_id'), 'leads_leads', ['customer_id'], unique=False)
    op.create_index(op.f('ix_leads_leads_email_key'), 'leads_leads', ['email_key'], unique=False)
    op.create_index(op.f('ix_leads_leads_industry'), 'leads_leads', ['industry'], unique=False)
    op.create_index(op.f('ix_leads_leads_last_followed_at'), 'leads_leads', ['last_followed_at'], unique=False)
    op.create_index(op.f('ix_leads_leads_owner_id'), 'leads_leads', ['owner_id'], unique=False)
    op.create_index(op.f('ix_leads_leads_phone_key'), 'leads_leads', ['phone_key'], unique=False)
    op.create_index('ix_leads_leads_pool_owner', 'leads_leads', ['pool_id', 'owner_id'], unique=False)
    op.create_index(op.f('ix_leads_leads_region'), 'leads_leads', ['region'], unique=False)
    op.create_index(op.f('ix_leads_leads_score'), 'leads_leads', ['score'], unique=False)
    op.create_index(op.f('ix_leads_leads_source'), 'leads_leads', ['source'], unique=False)
    op.create_index(op.f('ix_leads_leads_status'), 'leads_leads', ['status'], unique=False)
    op.create_table('leads_pools',
    sa.Column('routing_rules', JSON, nullable=False),
    sa.Column('is_default', sa.Boolean(), nullable=False),
    sa.Column('id', ID, autoincrement=True, nullable=False),
    sa.Column('created_at', kernel.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', kernel.UTCDateTime(timezone=True), nullable=False),
    sa.Column('custom', JSON, nullable=False),
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
    sa.PrimaryKeyConstraint('id', name=op.f('pk_leads_pools')),
    sqlite_autoincrement=True
    )


def downgrade() -> None:
    op.drop_table('leads_leads')
    op.drop_table('leads_pools')
