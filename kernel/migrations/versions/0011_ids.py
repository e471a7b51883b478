"""ids never reused: the kernel's record tables become AUTOINCREMENT on SQLite

Revision ID: 583133bd1cc9
Revises: 5e4a9c2d7b10
Create Date: 2026-12-01 15:00:00
"""

from __future__ import annotations

from kernel.migrations.ids import never_reuse_ids

revision = '583133bd1cc9'
down_revision = '5e4a9c2d7b10'
branch_labels = None
depends_on = None


def upgrade() -> None:
    never_reuse_ids({'kernel_teams': 'teams', 'kernel_roles': 'roles', 'kernel_users': 'users'})


def downgrade() -> None:
    pass  # AUTOINCREMENT only keeps ids from coming back; nothing to undo
