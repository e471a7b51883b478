"""an upload keeps its last dry run's report, so the review page does not re-run it

Revision ID: 6c2d9e41a7b3
Revises: 7c2d1e0a9b31
Create Date: 2026-12-01 14:50:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from sqlalchemy import Text
from sqlalchemy.dialects import postgresql


revision = '6c2d9e41a7b3'
down_revision = '7c2d1e0a9b31'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('kernel_uploads', schema=None) as batch_op:
        batch_op.add_column(sa.Column('checked', sa.JSON().with_variant(postgresql.JSONB(astext_type=Text()), 'postgresql'), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('kernel_uploads', schema=None) as batch_op:
        batch_op.drop_column('checked')
