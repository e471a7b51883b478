"""api tokens

Revision ID: 573cd26709af
Revises: 1c40746bfc95
Create Date: 2026-11-23 12:31:47.266572
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import kernel.db
from sqlalchemy import Text  # noqa: F401 - autogenerate renders JSONB(astext_type=Text())


revision = '573cd26709af'
down_revision = '1c40746bfc95'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('kernel_api_tokens',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('user_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('name', sa.String(length=120), nullable=False),
    sa.Column('token_hash', sa.String(length=64), nullable=False),
    sa.Column('created_at', kernel.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('expires_at', kernel.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('last_used_at', kernel.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('revoked_at', kernel.db.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['user_id'], ['kernel_users.id'], name=op.f('fk_kernel_api_tokens_user_id_kernel_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_kernel_api_tokens')),
    sa.UniqueConstraint('token_hash', name=op.f('uq_kernel_api_tokens_token_hash'))
    )
    with op.batch_alter_table('kernel_api_tokens', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_kernel_api_tokens_user_id'), ['user_id'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('kernel_api_tokens', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_kernel_api_tokens_user_id'))

    op.drop_table('kernel_api_tokens')
