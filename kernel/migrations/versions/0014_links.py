"""signed links: what each link was signed for, and whether it was withdrawn or used

Revision ID: 3d8f2a61c0e9
Revises: 7c1d0e5a9b42
Create Date: 2026-12-01 19:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import kernel.db

revision = '3d8f2a61c0e9'
down_revision = '7c1d0e5a9b42'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('kernel_links',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('purpose', sa.String(length=40), nullable=False),
    sa.Column('entity', sa.String(length=64), nullable=False),
    sa.Column('record_id', sa.BigInteger(), nullable=False),
    sa.Column('created_at', kernel.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('created_by', sa.BigInteger(), nullable=True),
    sa.Column('expires_at', kernel.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('single_use', sa.Boolean(), nullable=False),
    sa.Column('used_at', kernel.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('revoked_at', kernel.db.UTCDateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_kernel_links'))
    )
    op.create_index('ix_kernel_links_record', 'kernel_links', ['entity', 'record_id'])
    op.create_index(op.f('ix_kernel_links_expires_at'), 'kernel_links', ['expires_at'])


def downgrade() -> None:
    op.drop_index(op.f('ix_kernel_links_expires_at'), table_name='kernel_links')
    op.drop_index('ix_kernel_links_record', table_name='kernel_links')
    op.drop_table('kernel_links')
