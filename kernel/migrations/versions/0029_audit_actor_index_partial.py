"""audit: the actor index holds only entries written by a user

Entries of jobs, timers and other system actions have no ``actor_id``; the index that
finds a user's entries (``GET /api/v1/audit?actor_id=``) needs none of them. Leaving them
out spares every system write, a set-based batch of 100,000 records above all, one index
insert per entry, in the middle of the index (NULL sorts before every user's entries).

Revision ID: 7a3f9c2e5b81
Revises: 7d3a9c2e5b18
Create Date: 2026-12-02 01:50:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '7a3f9c2e5b81'
down_revision = '7d3a9c2e5b18'
branch_labels = None
depends_on = None

WHERE = sa.text('actor_id IS NOT NULL')


def upgrade() -> None:
    with op.batch_alter_table('kernel_audit', schema=None) as batch_op:
        batch_op.drop_index('ix_kernel_audit_actor_id')
        batch_op.create_index('ix_kernel_audit_actor_id', ['actor_id'], unique=False, sqlite_where=WHERE, postgresql_where=WHERE)


def downgrade() -> None:
    with op.batch_alter_table('kernel_audit', schema=None) as batch_op:
        batch_op.drop_index('ix_kernel_audit_actor_id')
        batch_op.create_index('ix_kernel_audit_actor_id', ['actor_id'], unique=False)
