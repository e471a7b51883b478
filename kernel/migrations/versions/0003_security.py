"""security: browser sessions, login throttling, shared secrets; built-in roles use default grants

Revision ID: 5ac7d9c5a202
Revises: 573cd26709af
Create Date: 2026-11-23 12:38:06.652121
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import kernel.db
from sqlalchemy import Text  # noqa: F401 - autogenerate renders JSONB(astext_type=Text())


revision = '5ac7d9c5a202'
down_revision = '573cd26709af'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('kernel_login_failures',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('at', kernel.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('email', sa.String(length=254), nullable=False),
    sa.Column('ip', sa.String(length=45), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_kernel_login_failures'))
    )
    with op.batch_alter_table('kernel_login_failures', schema=None) as batch_op:
        batch_op.create_index('ix_kernel_login_failures_email_at', ['email', 'at'], unique=False)
        batch_op.create_index('ix_kernel_login_failures_ip_at', ['ip', 'at'], unique=False)

    op.create_table('kernel_secrets',
    sa.Column('name', sa.String(length=40), nullable=False),
    sa.Column('value', sa.String(length=255), nullable=False),
    sa.Column('created_at', kernel.db.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('name', name=op.f('pk_kernel_secrets'))
    )
    op.create_table('kernel_sessions',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('user_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('sid_hash', sa.String(length=64), nullable=False),
    sa.Column('created_at', kernel.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('expires_at', kernel.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('ip', sa.String(length=45), nullable=True),
    sa.ForeignKeyConstraint(['user_id'], ['kernel_users.id'], name=op.f('fk_kernel_sessions_user_id_kernel_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_kernel_sessions')),
    sa.UniqueConstraint('sid_hash', name=op.f('uq_kernel_sessions_sid_hash'))
    )
    with op.batch_alter_table('kernel_sessions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_kernel_sessions_user_id'), ['user_id'], unique=False)

    roles = sa.table("kernel_roles", sa.column("builtin", sa.Boolean), sa.column("permissions", kernel.db.JSONData))
    op.execute(roles.update().where(roles.c.builtin.is_(True)).values(permissions=sa.JSON.NULL))


def downgrade() -> None:
    roles = sa.table("kernel_roles", sa.column("builtin", sa.Boolean), sa.column("permissions", kernel.db.JSONData))
    op.execute(roles.update().where(roles.c.builtin.is_(True)).values(permissions=[]))
    with op.batch_alter_table('kernel_sessions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_kernel_sessions_user_id'))

    op.drop_table('kernel_sessions')
    op.drop_table('kernel_secrets')
    with op.batch_alter_table('kernel_login_failures', schema=None) as batch_op:
        batch_op.drop_index('ix_kernel_login_failures_ip_at')
        batch_op.drop_index('ix_kernel_login_failures_email_at')

    op.drop_table('kernel_login_failures')
