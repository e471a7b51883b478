"""notifications

Revision ID: c92cbf172674
Revises: 5ac7d9c5a202
Create Date: 2026-11-23 12:45:48.810862
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import kernel.db
from sqlalchemy import Text  # noqa: F401 - autogenerate renders JSONB(astext_type=Text())


revision = 'c92cbf172674'
down_revision = '5ac7d9c5a202'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('kernel_notifications',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('user_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('title', sa.String(length=200), nullable=False),
    sa.Column('body', sa.Text(), nullable=False),
    sa.Column('link', sa.String(length=500), nullable=True),
    sa.Column('created_at', kernel.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('read_at', kernel.db.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['user_id'], ['kernel_users.id'], name=op.f('fk_kernel_notifications_user_id_kernel_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_kernel_notifications'))
    )
    with op.batch_alter_table('kernel_notifications', schema=None) as batch_op:
        batch_op.create_index('ix_kernel_notifications_inbox', ['user_id', 'read_at', 'id'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('kernel_notifications', schema=None) as batch_op:
        batch_op.drop_index('ix_kernel_notifications_inbox')

    op.drop_table('kernel_notifications')
