"""pools: no owner index on the holds

Every reader of holds by member or pool joins them to the records, whose own owner and pool indexes
find the rows; the holds are found by their record. The index on (entity, pool_id, user_id) served no
query, and each hold removed took a page of it: a night of 10,000 returns spread over 50 members'
holds wrote about 8,000 pages of it besides the holds' own.

Revision ID: e5b1d8c3a27f
Revises: c7e2a9d4f813
Create Date: 2026-12-03 04:40:00
"""

from __future__ import annotations

from alembic import op

revision = 'e5b1d8c3a27f'
down_revision = 'c7e2a9d4f813'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.drop_index('ix_pools_holds_owner', table_name='pools_holds')


def downgrade() -> None:
    op.create_index('ix_pools_holds_owner', 'pools_holds', ['entity', 'pool_id', 'user_id'], unique=False)
