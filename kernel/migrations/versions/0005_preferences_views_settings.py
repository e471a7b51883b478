"""preferences, saved views, settings

Revision ID: 4b7cf831c45e
Revises: c92cbf172674
Create Date: 2026-11-23 14:50:32.298636
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import kernel.db
from sqlalchemy import Text  # noqa: F401 - autogenerate renders JSONB(astext_type=Text())
from sqlalchemy.dialects import postgresql

revision = '4b7cf831c45e'
down_revision = 'c92cbf172674'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('kernel_settings',
    sa.Column('scope', sa.String(length=80), nullable=False),
    sa.Column('name', sa.String(length=80), nullable=False),
    sa.Column('value', sa.JSON().with_variant(postgresql.JSONB(astext_type=Text()), 'postgresql'), nullable=True),
    sa.Column('changed_at', kernel.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('changed_by', sa.BigInteger(), nullable=True),
    sa.PrimaryKeyConstraint('scope', 'name', name=op.f('pk_kernel_settings'))
    )
    op.create_table('kernel_preferences',
    sa.Column('user_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('name', sa.String(length=60), nullable=False),
    sa.Column('value', sa.JSON().with_variant(postgresql.JSONB(astext_type=Text()), 'postgresql'), nullable=True),
    sa.Column('changed_at', kernel.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['user_id'], ['kernel_users.id'], name=op.f('fk_kernel_preferences_user_id_kernel_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('user_id', 'name', name=op.f('pk_kernel_preferences'))
    )
    op.create_table('kernel_saved_views',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('user_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('entity', sa.String(length=80), nullable=False),
    sa.Column('name', sa.String(length=80), nullable=False),
    sa.Column('query', sa.String(length=2000), nullable=False),
    sa.Column('shared', sa.Boolean(), nullable=False),
    sa.Column('created_at', kernel.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['user_id'], ['kernel_users.id'], name=op.f('fk_kernel_saved_views_user_id_kernel_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_kernel_saved_views')),
    sa.UniqueConstraint('user_id', 'entity', 'name', name=op.f('uq_kernel_saved_views_user_id_entity_name'))
    )


def downgrade() -> None:
    op.drop_table('kernel_saved_views')
    op.drop_table('kernel_preferences')
    op.drop_table('kernel_settings')
