"""leads scoring and capture: the scoring rules (with the default ones), forms' pools, the capture log

Revision ID: c7d2e9a4b1f8
Revises: b4e8a1c6d2f3
Create Date: 2026-12-02 04:45:00
"""

from __future__ import annotations

from datetime import datetime, timezone

import sqlalchemy as sa
from alembic import op
from sqlalchemy import Text
from sqlalchemy.dialects import postgresql

import kernel

revision = 'c7d2e9a4b1f8'
down_revision = 'b4e8a1c6d2f3'
branch_labels = None
depends_on = None

ID = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')
JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=Text()), 'postgresql')

#: The rules a new site starts with (admins change them at /p/leads/scoring).
DEFAULT_RULES = (
    ('field', 'source', ['web_form'], None, 20, {'en': 'Source web form', 'zh_CN': '来源 官网表单'}),
    ('field', 'source', ['referral'], None, 15, {'en': 'Source referral', 'zh_CN': '来源 转介绍'}),
    ('filled', 'phone', [], None, 10, {'en': 'Has a phone', 'zh_CN': '留有电话'}),
    ('filled', 'email', [], None, 5, {'en': 'Has an email', 'zh_CN': '留有邮箱'}),
    ('filled', 'company', [], None, 5, {'en': 'Company known', 'zh_CN': '公司已知'}),
    ('recency', None, [], 7, 15, {'en': 'Followed up in the last 7 days', 'zh_CN': '7 天内跟进过'}),
    ('followups', None, [], 3, 10, {'en': '3 or more follow-ups', 'zh_CN': '跟进 3 次以上'}),
)


def upgrade() -> None:
    rules = op.create_table('leads_score_rules',
    sa.Column('id', ID, autoincrement=True, nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=20), nullable=False),
    sa.Column('field', sa.String(length=120), nullable=True),
    sa.Column('values', JSON, nullable=False),
    sa.Column('number', sa.Integer(), nullable=True),
    sa.Column('points', sa.Integer(), nullable=False),
    sa.Column('label', JSON, nullable=False),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('created_at', kernel.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', kernel.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_leads_score_rules')),
    )
    op.create_table('leads_capture_forms',
    sa.Column('slug', sa.String(length=60), nullable=False),
    sa.Column('pool_id', sa.BigInteger(), nullable=True),
    sa.Column('updated_at', kernel.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('slug', name=op.f('pk_leads_capture_forms')),
    )
    op.create_table('leads_captures',
    sa.Column('id', ID, autoincrement=True, nullable=False),
    sa.Column('lead_id', sa.BigInteger(), nullable=False),
    sa.Column('channel', sa.String(length=20), nullable=False),
    sa.Column('form_slug', sa.String(length=60), nullable=True),
    sa.Column('duplicate_ids', JSON, nullable=False),
    sa.Column('hidden_duplicates', sa.Integer(), nullable=False),
    sa.Column('at', kernel.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_leads_captures')),
    )
    op.create_index('ix_leads_captures_at', 'leads_captures', ['at'], unique=False)
    op.create_index(op.f('ix_leads_captures_lead_id'), 'leads_captures', ['lead_id'], unique=False)
    now = datetime.now(timezone.utc)
    op.bulk_insert(rules, [
        {'position': index * 10, 'kind': kind, 'field': field, 'values': values, 'number': number, 'points': points,
         'label': label, 'active': True, 'created_at': now, 'updated_at': now}
        for index, (kind, field, values, number, points, label) in enumerate(DEFAULT_RULES)
    ])


def downgrade() -> None:
    op.drop_index(op.f('ix_leads_captures_lead_id'), table_name='leads_captures')
    op.drop_index('ix_leads_captures_at', table_name='leads_captures')
    op.drop_table('leads_captures')
    op.drop_table('leads_capture_forms')
    op.drop_table('leads_score_rules')
