"""money custom fields: stored values from JSON numbers to decimal strings (kernel.migrations.money)

Revision ID: 7c1d0e5a9b42
Revises: 9b3e51c0d2a7
Create Date: 2026-12-01 16:30:00
"""

from __future__ import annotations

from alembic import context, op

from kernel.migrations.money import convert

revision = '7c1d0e5a9b42'
down_revision = '9b3e51c0d2a7'
branch_labels = None
depends_on = None


def upgrade() -> None:
    site = context.config.attributes["site"]
    convert(op.get_bind(), site, site.file_settings.default_currency)


def downgrade() -> None:
    pass  # the older code reads decimal strings as text only; nothing is lost by leaving them
