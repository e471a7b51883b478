"""ids never reused: notes_notes becomes AUTOINCREMENT on SQLite

Revision ID: 7d0c2f5e9a41
Revises: 5cdc63106a29
Create Date: 2026-12-01 15:00:00
"""

from __future__ import annotations

from kernel import never_reuse_ids

revision = '7d0c2f5e9a41'
down_revision = '5cdc63106a29'
branch_labels = None
depends_on = None


def upgrade() -> None:
    never_reuse_ids({'notes_notes': 'notes'})


def downgrade() -> None:
    pass
