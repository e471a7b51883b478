"""option lists: admin-edited choices (codes, labels in two languages, order, colour, tree, archived) (kernel.optionlists)

Revision ID: 5c0e7d1a9b24
Revises: 5c1d2e9a7b30
Create Date: 2026-12-01 21:45:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import kernel.db

revision = '5c0e7d1a9b24'
down_revision = '5c1d2e9a7b30'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('kernel_option_lists',
    sa.Column('name', sa.String(length=80), nullable=False),
    sa.Column('label', kernel.db.JSONData, nullable=False),
    sa.Column('tree', sa.Boolean(), nullable=False),
    sa.Column('updated_at', kernel.db.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('name', name=op.f('pk_kernel_option_lists'))
    )
    op.create_table('kernel_options',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('list_name', sa.String(length=80), nullable=False),
    sa.Column('code', sa.String(length=40), nullable=False),
    sa.Column('label', kernel.db.JSONData, nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('colour', sa.String(length=7), nullable=True),
    sa.Column('parent', sa.String(length=40), nullable=True),
    sa.Column('archived', sa.Boolean(), nullable=False),
    sa.Column('review', sa.Boolean(), nullable=False),
    sa.Column('merged_into', sa.String(length=40), nullable=True),
    sa.Column('updated_at', kernel.db.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_kernel_options')),
    sa.UniqueConstraint('list_name', 'code', name=op.f('uq_kernel_options_list_name_code'))
    )


def downgrade() -> None:
    op.drop_table('kernel_options')
    op.drop_table('kernel_option_lists')
