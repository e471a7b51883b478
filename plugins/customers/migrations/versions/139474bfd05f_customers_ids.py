"""ids never reused: customers' record tables become AUTOINCREMENT on SQLite

Revision ID: 139474bfd05f
Revises: ba361af86eba
Create Date: 2026-12-01 15:00:00
"""

from __future__ import annotations

from kernel import never_reuse_ids

revision = '139474bfd05f'
down_revision = 'ba361af86eba'
branch_labels = None
depends_on = None


def upgrade() -> None:
    never_reuse_ids({
        'customers_customers': 'customers',
        'customers_contacts': 'contacts',
        'customers_followups': 'followups',
        'customers_tasks': 'tasks',
    })


def downgrade() -> None:
    pass  # AUTOINCREMENT only keeps ids from coming back; nothing to undo
