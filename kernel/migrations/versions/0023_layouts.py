"""dashboards per role: the widgets an admin chose for a role, in order (kernel.layouts)

Revision ID: 8e41c7a2d950
Revises: 3bff95fc7fa5
Create Date: 2026-12-01 20:40:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import kernel.db

revision = '8e41c7a2d950'
down_revision = '3bff95fc7fa5'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('kernel_dashboard_layouts',
    sa.Column('role', sa.String(length=60), nullable=False),
    sa.Column('widgets', kernel.db.JSONData, nullable=False),
    sa.Column('changed_at', kernel.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('changed_by', sa.BigInteger(), nullable=True),
    sa.ForeignKeyConstraint(['role'], ['kernel_roles.name'], name=op.f('fk_kernel_dashboard_layouts_role_kernel_roles'), onupdate='CASCADE', ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('role', name=op.f('pk_kernel_dashboard_layouts'))
    )


def downgrade() -> None:
    op.drop_table('kernel_dashboard_layouts')
