"""import jobs: a checkpoint per import (file hash, last committed row), the records each created, and saved column mappings (kernel.importjobs)

Revision ID: 5c1d2e9a7b30
Revises: 4c2b8e5d7a13
Create Date: 2026-12-01 22:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import kernel.db

revision = '5c1d2e9a7b30'
down_revision = '4c2b8e5d7a13'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('kernel_import_jobs',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('entity', sa.String(length=80), nullable=False),
    sa.Column('filename', sa.String(length=1000), nullable=False),
    sa.Column('file_hash', sa.String(length=64), nullable=False),
    sa.Column('user_id', sa.BigInteger(), nullable=True),
    sa.Column('options', kernel.db.JSONData, nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('rows', sa.Integer(), nullable=False),
    sa.Column('last_row', sa.Integer(), nullable=False),
    sa.Column('imported', sa.Integer(), nullable=False),
    sa.Column('duplicates', sa.Integer(), nullable=False),
    sa.Column('invalid', sa.Integer(), nullable=False),
    sa.Column('issues', kernel.db.JSONData, nullable=False),
    sa.Column('created_at', kernel.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', kernel.db.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_kernel_import_jobs'))
    )
    op.create_index(op.f('ix_kernel_import_jobs_status'), 'kernel_import_jobs', ['status'], unique=False)
    op.create_table('kernel_import_records',
    sa.Column('job_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('record_id', sa.BigInteger(), nullable=False),
    sa.Column('row', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['job_id'], ['kernel_import_jobs.id'], name=op.f('fk_kernel_import_records_job_id_kernel_import_jobs'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('job_id', 'record_id', name=op.f('pk_kernel_import_records'))
    )
    op.create_table('kernel_import_mappings',
    sa.Column('entity', sa.String(length=80), nullable=False),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('mapping', kernel.db.JSONData, nullable=False),
    sa.Column('updated_at', kernel.db.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('entity', 'name', name=op.f('pk_kernel_import_mappings'))
    )


def downgrade() -> None:
    op.drop_table('kernel_import_mappings')
    op.drop_table('kernel_import_records')
    op.drop_index(op.f('ix_kernel_import_jobs_status'), table_name='kernel_import_jobs')
    op.drop_table('kernel_import_jobs')
