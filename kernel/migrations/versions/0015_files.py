"""files attached to records, kept in the database

Revision ID: 5b7e0c9d1f24
Revises: 3d8f2a61c0e9
Create Date: 2026-12-01 19:10:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import kernel.db

revision = '5b7e0c9d1f24'
down_revision = '3d8f2a61c0e9'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('kernel_files',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('entity', sa.String(length=64), nullable=False),
    sa.Column('record_id', sa.BigInteger(), nullable=False),
    sa.Column('filename', sa.String(length=200), nullable=False),
    sa.Column('content_type', sa.String(length=120), nullable=False),
    sa.Column('size', sa.Integer(), nullable=False),
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('data', sa.LargeBinary(), nullable=False),
    sa.Column('created_at', kernel.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('created_by', sa.BigInteger(), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_kernel_files'))
    )
    op.create_index('ix_kernel_files_record', 'kernel_files', ['entity', 'record_id'])


def downgrade() -> None:
    op.drop_index('ix_kernel_files_record', table_name='kernel_files')
    op.drop_table('kernel_files')
