"""uploads kept between the steps of an import

Revision ID: f41ff4c8e8d0
Revises: 4b7cf831c45e
Create Date: 2026-11-23 16:23:44.510354
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import kernel.db
from sqlalchemy import Text  # noqa: F401 - autogenerate renders JSONB(astext_type=Text())


revision = 'f41ff4c8e8d0'
down_revision = '4b7cf831c45e'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('kernel_uploads',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('token_hash', sa.String(length=64), nullable=False),
    sa.Column('user_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('entity', sa.String(length=80), nullable=False),
    sa.Column('filename', sa.String(length=200), nullable=False),
    sa.Column('size', sa.Integer(), nullable=False),
    sa.Column('data', sa.LargeBinary(), nullable=False),
    sa.Column('created_at', kernel.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['user_id'], ['kernel_users.id'], name=op.f('fk_kernel_uploads_user_id_kernel_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_kernel_uploads')),
    sa.UniqueConstraint('token_hash', name=op.f('uq_kernel_uploads_token_hash'))
    )
    with op.batch_alter_table('kernel_uploads', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_kernel_uploads_created_at'), ['created_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_kernel_uploads_user_id'), ['user_id'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('kernel_uploads', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_kernel_uploads_user_id'))
        batch_op.drop_index(batch_op.f('ix_kernel_uploads_created_at'))

    op.drop_table('kernel_uploads')
