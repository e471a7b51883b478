"""credentials version: a password, role or activity change ends the user's sessions and tokens

Revision ID: 7c2d1e0a9b31
Revises: f41ff4c8e8d0
Create Date: 2026-12-01 15:00:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op


revision = '7c2d1e0a9b31'
down_revision = 'f41ff4c8e8d0'
branch_labels = None
depends_on = None

TABLES = ('kernel_users', 'kernel_api_tokens', 'kernel_sessions')


def upgrade() -> None:
    for table in TABLES:
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.add_column(sa.Column('credentials_version', sa.Integer(), server_default='1', nullable=False))


def downgrade() -> None:
    for table in reversed(TABLES):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_column('credentials_version')
