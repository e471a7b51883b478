"""recycle bin: kernel_trash; the audit log names the reason of a system action (raised_for)

Revision ID: 990e5e588fd2
Revises: 9c34a350a8af
Create Date: 2026-12-01 18:50:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import kernel.db
from sqlalchemy import Text
from sqlalchemy.dialects import postgresql

revision = '990e5e588fd2'
down_revision = '9c34a350a8af'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('kernel_trash',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('entity', sa.String(length=80), nullable=False),
    sa.Column('record_id', sa.BigInteger(), nullable=False),
    sa.Column('data', sa.JSON().with_variant(postgresql.JSONB(astext_type=Text()), 'postgresql'), nullable=False),
    sa.Column('with_entity', sa.String(length=80), nullable=True),
    sa.Column('with_id', sa.BigInteger(), nullable=True),
    sa.Column('deleted_at', kernel.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('deleted_by', sa.BigInteger(), nullable=True),
    sa.Column('deleted_by_label', sa.String(length=254), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_kernel_trash')),
    sa.UniqueConstraint('entity', 'record_id', name=op.f('uq_kernel_trash_entity_record_id'))
    )
    with op.batch_alter_table('kernel_trash', schema=None) as batch_op:
        batch_op.create_index('ix_kernel_trash_deleted_by', ['deleted_by', 'deleted_at'], unique=False)
        batch_op.create_index('ix_kernel_trash_with', ['with_entity', 'with_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_kernel_trash_deleted_at'), ['deleted_at'], unique=False)
    with op.batch_alter_table('kernel_audit', schema=None) as batch_op:
        batch_op.add_column(sa.Column('raised_for', sa.String(length=200), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('kernel_audit', schema=None) as batch_op:
        batch_op.drop_column('raised_for')
    with op.batch_alter_table('kernel_trash', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_kernel_trash_deleted_at'))
        batch_op.drop_index('ix_kernel_trash_with')
        batch_op.drop_index('ix_kernel_trash_deleted_by')
    op.drop_table('kernel_trash')
