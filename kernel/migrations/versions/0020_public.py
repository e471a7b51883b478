"""public routes and forms: rate counters, form definitions, consents

Revision ID: b9291b5c1ef1
Revises: 990e5e588fd2
Create Date: 2026-12-01 19:10:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import kernel.db

revision = 'b9291b5c1ef1'
down_revision = '990e5e588fd2'
branch_labels = None
depends_on = None

JSON = kernel.db.JSONData
ID = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')


def upgrade() -> None:
    op.create_table('kernel_rate_counters',
    sa.Column('key', sa.String(length=200), nullable=False),
    sa.Column('window_start', kernel.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('count', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('key', 'window_start', name=op.f('pk_kernel_rate_counters'))
    )
    op.create_table('kernel_forms',
    sa.Column('id', ID, autoincrement=True, nullable=False),
    sa.Column('slug', sa.String(length=60), nullable=False),
    sa.Column('entity', sa.String(length=80), nullable=False),
    sa.Column('title', JSON, nullable=False),
    sa.Column('fields', JSON, nullable=False),
    sa.Column('consent', JSON, nullable=True),
    sa.Column('thank_you', JSON, nullable=False),
    sa.Column('redirect_url', sa.String(length=500), nullable=True),
    sa.Column('per_hour', sa.Integer(), nullable=False),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('created_at', kernel.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', kernel.db.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_kernel_forms')),
    sa.UniqueConstraint('slug', name=op.f('uq_kernel_forms_slug'))
    )
    op.create_table('kernel_consents',
    sa.Column('id', ID, autoincrement=True, nullable=False),
    sa.Column('key', sa.String(length=254), nullable=False),
    sa.Column('kind', sa.String(length=10), nullable=False),
    sa.Column('purpose', sa.String(length=120), nullable=False),
    sa.Column('text', sa.Text(), nullable=False),
    sa.Column('locale', sa.String(length=10), nullable=False),
    sa.Column('entity', sa.String(length=80), nullable=True),
    sa.Column('record_id', sa.BigInteger(), nullable=True),
    sa.Column('given_at', kernel.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('ip', sa.String(length=45), nullable=True),
    sa.Column('withdrawn_at', kernel.db.UTCDateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_kernel_consents'))
    )
    with op.batch_alter_table('kernel_consents', schema=None) as batch_op:
        batch_op.create_index('ix_kernel_consents_key', ['kind', 'key'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('kernel_consents', schema=None) as batch_op:
        batch_op.drop_index('ix_kernel_consents_key')
    op.drop_table('kernel_consents')
    op.drop_table('kernel_forms')
    op.drop_table('kernel_rate_counters')
