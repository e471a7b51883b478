"""upload parts: an import page's upload kept a megabyte at a time (kernel.uploadparts), with its SHA-256

Revision ID: 7a3f1c9e2d40
Revises: 5c0e7d1a9b24
Create Date: 2026-12-02 01:30:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '7a3f1c9e2d40'
down_revision = '5c0e7d1a9b24'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('kernel_upload_parts',
    sa.Column('upload_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('seq', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('data', sa.LargeBinary(), nullable=False),
    sa.ForeignKeyConstraint(['upload_id'], ['kernel_uploads.id'], name=op.f('fk_kernel_upload_parts_upload_id_kernel_uploads'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('upload_id', 'seq', name=op.f('pk_kernel_upload_parts'))
    )
    with op.batch_alter_table('kernel_uploads', schema=None) as batch_op:
        batch_op.add_column(sa.Column('sha256', sa.String(length=64), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('kernel_uploads', schema=None) as batch_op:
        batch_op.drop_column('sha256')
    op.drop_table('kernel_upload_parts')
