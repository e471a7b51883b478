"""kernel tables

Revision ID: 1c40746bfc95
Revises: 
Create Date: 2026-11-23 12:29:53.143687
"""

from __future__ import annotations

from datetime import datetime, timezone

import sqlalchemy as sa
from alembic import op

from sqlalchemy.dialects import postgresql

import kernel.db
from kernel.core import BUILTIN_ROLES

revision = '1c40746bfc95'
down_revision = None
branch_labels = ('core',)
depends_on = None


def upgrade() -> None:
    op.create_table('kernel_audit',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('at', kernel.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('actor_id', sa.BigInteger(), nullable=True),
    sa.Column('actor', sa.String(length=254), nullable=False),
    sa.Column('channel', sa.String(length=20), nullable=False),
    sa.Column('entity', sa.String(length=80), nullable=False),
    sa.Column('record_id', sa.BigInteger(), nullable=True),
    sa.Column('action', sa.String(length=40), nullable=False),
    sa.Column('changes', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('ip', sa.String(length=45), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_kernel_audit'))
    )
    with op.batch_alter_table('kernel_audit', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_kernel_audit_actor_id'), ['actor_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_kernel_audit_at'), ['at'], unique=False)
        batch_op.create_index('ix_kernel_audit_record', ['entity', 'record_id', 'id'], unique=False)

    op.create_table('kernel_custom_fields',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('entity', sa.String(length=80), nullable=False),
    sa.Column('name', sa.String(length=40), nullable=False),
    sa.Column('schema', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('label', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('indexed', sa.Boolean(), nullable=False),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('created_at', kernel.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', kernel.db.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_kernel_custom_fields')),
    sa.UniqueConstraint('entity', 'name', name=op.f('uq_kernel_custom_fields_entity_name'))
    )
    op.create_table('kernel_job_runs',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('job', sa.String(length=120), nullable=False),
    sa.Column('slot', kernel.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('started_at', kernel.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('finished_at', kernel.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('error', sa.Text(), nullable=True),
    sa.Column('worker', sa.String(length=120), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_kernel_job_runs')),
    sa.UniqueConstraint('job', 'slot', name=op.f('uq_kernel_job_runs_job_slot'))
    )
    op.create_table('kernel_plugins',
    sa.Column('name', sa.String(length=80), nullable=False),
    sa.Column('enabled', sa.Boolean(), nullable=False),
    sa.Column('changed_at', kernel.db.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('name', name=op.f('pk_kernel_plugins'))
    )
    op.create_table('kernel_roles',
    sa.Column('name', sa.String(length=60), nullable=False),
    sa.Column('label', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('permissions', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('builtin', sa.Boolean(), nullable=False),
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('created_at', kernel.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', kernel.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('custom', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_kernel_roles')),
    sa.UniqueConstraint('name', name=op.f('uq_kernel_roles_name'))
    )
    op.create_table('kernel_teams',
    sa.Column('name', sa.String(length=120), nullable=False),
    sa.Column('parent_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('manager_id', sa.BigInteger(), nullable=True),
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('created_at', kernel.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', kernel.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('custom', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.ForeignKeyConstraint(['parent_id'], ['kernel_teams.id'], name=op.f('fk_kernel_teams_parent_id_kernel_teams'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_kernel_teams')),
    sa.UniqueConstraint('name', name=op.f('uq_kernel_teams_name'))
    )
    op.create_table('kernel_versions',
    sa.Column('name', sa.String(length=40), nullable=False),
    sa.Column('value', sa.BigInteger(), nullable=False),
    sa.PrimaryKeyConstraint('name', name=op.f('pk_kernel_versions'))
    )
    op.create_table('kernel_users',
    sa.Column('email', sa.String(length=254), nullable=False),
    sa.Column('name', sa.String(length=120), nullable=False),
    sa.Column('password_hash', sa.String(length=255), nullable=True),
    sa.Column('role', sa.String(length=60), nullable=False),
    sa.Column('team_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('created_at', kernel.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', kernel.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('custom', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.ForeignKeyConstraint(['role'], ['kernel_roles.name'], name=op.f('fk_kernel_users_role_kernel_roles'), onupdate='CASCADE'),
    sa.ForeignKeyConstraint(['team_id'], ['kernel_teams.id'], name=op.f('fk_kernel_users_team_id_kernel_teams'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_kernel_users')),
    sa.UniqueConstraint('email', name=op.f('uq_kernel_users_email'))
    )

    now = datetime.now(timezone.utc).replace(tzinfo=None)
    versions = sa.table("kernel_versions", sa.column("name", sa.String), sa.column("value", sa.BigInteger))
    op.bulk_insert(versions, [{"name": "registry", "value": 1}])
    roles = sa.table(
        "kernel_roles",
        sa.column("name", sa.String),
        sa.column("label", sa.JSON),
        sa.column("permissions", sa.JSON),
        sa.column("builtin", sa.Boolean),
        sa.column("created_at", sa.DateTime),
        sa.column("updated_at", sa.DateTime),
        sa.column("custom", sa.JSON),
    )
    op.bulk_insert(
        roles,
        [
            {"name": name, "label": label, "permissions": [], "builtin": True, "created_at": now, "updated_at": now, "custom": {}}
            for name, label in BUILTIN_ROLES.items()
        ],
    )

def downgrade() -> None:
    op.drop_table('kernel_users')
    op.drop_table('kernel_versions')
    op.drop_table('kernel_teams')
    op.drop_table('kernel_roles')
    op.drop_table('kernel_plugins')
    op.drop_table('kernel_job_runs')
    op.drop_table('kernel_custom_fields')
    with op.batch_alter_table('kernel_audit', schema=None) as batch_op:
        batch_op.drop_index('ix_kernel_audit_record')
        batch_op.drop_index(batch_op.f('ix_kernel_audit_at'))
        batch_op.drop_index(batch_op.f('ix_kernel_audit_actor_id'))

    op.drop_table('kernel_audit')
