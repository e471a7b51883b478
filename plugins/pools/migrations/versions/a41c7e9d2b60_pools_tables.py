"""pools tables: holdings, daily claims, cooldowns, round-robin state, held records

Revision ID: a41c7e9d2b60
Revises:
Create Date: 2026-12-02 01:15:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import kernel

revision = 'a41c7e9d2b60'
down_revision = None
branch_labels = ('pools',)
depends_on = 'core'

ID = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')


def upgrade() -> None:
    op.create_table('pools_holdings',
    sa.Column('id', ID, autoincrement=True, nullable=False),
    sa.Column('entity', sa.String(length=80), nullable=False),
    sa.Column('pool_id', sa.BigInteger(), nullable=False),
    sa.Column('user_id', sa.BigInteger(), nullable=False),
    sa.Column('held', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_pools_holdings')),
    sa.UniqueConstraint('entity', 'pool_id', 'user_id', name=op.f('uq_pools_holdings_entity_pool_id_user_id')),
    )
    op.create_table('pools_daily_claims',
    sa.Column('id', ID, autoincrement=True, nullable=False),
    sa.Column('entity', sa.String(length=80), nullable=False),
    sa.Column('pool_id', sa.BigInteger(), nullable=False),
    sa.Column('user_id', sa.BigInteger(), nullable=False),
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('claimed', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_pools_daily_claims')),
    sa.UniqueConstraint('entity', 'pool_id', 'user_id', 'day', name=op.f('uq_pools_daily_claims_entity_pool_id_user_id_day')),
    )
    op.create_table('pools_cooldowns',
    sa.Column('id', ID, autoincrement=True, nullable=False),
    sa.Column('entity', sa.String(length=80), nullable=False),
    sa.Column('record_id', sa.BigInteger(), nullable=False),
    sa.Column('user_id', sa.BigInteger(), nullable=False),
    sa.Column('until', kernel.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_pools_cooldowns')),
    sa.UniqueConstraint('entity', 'record_id', 'user_id', name=op.f('uq_pools_cooldowns_entity_record_id_user_id')),
    )
    op.create_index('ix_pools_cooldowns_until', 'pools_cooldowns', ['until'], unique=False)
    op.create_table('pools_rotations',
    sa.Column('id', ID, autoincrement=True, nullable=False),
    sa.Column('entity', sa.String(length=80), nullable=False),
    sa.Column('pool_id', sa.BigInteger(), nullable=False),
    sa.Column('last_user_id', sa.BigInteger(), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_pools_rotations')),
    sa.UniqueConstraint('entity', 'pool_id', name=op.f('uq_pools_rotations_entity_pool_id')),
    )
    op.create_table('pools_holds',
    sa.Column('id', ID, autoincrement=True, nullable=False),
    sa.Column('entity', sa.String(length=80), nullable=False),
    sa.Column('record_id', sa.BigInteger(), nullable=False),
    sa.Column('pool_id', sa.BigInteger(), nullable=False),
    sa.Column('user_id', sa.BigInteger(), nullable=False),
    sa.Column('assigned_at', kernel.UTCDateTime(timezone=True), nullable=False),
    sa.Column('counted', sa.Boolean(), nullable=False),
    sa.Column('reminded_at', kernel.UTCDateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_pools_holds')),
    sa.UniqueConstraint('entity', 'record_id', name=op.f('uq_pools_holds_entity_record_id')),
    )
    op.create_index('ix_pools_holds_owner', 'pools_holds', ['entity', 'pool_id', 'user_id'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_pools_holds_owner', table_name='pools_holds')
    op.drop_table('pools_holds')
    op.drop_table('pools_rotations')
    op.drop_index('ix_pools_cooldowns_until', table_name='pools_cooldowns')
    op.drop_table('pools_cooldowns')
    op.drop_table('pools_daily_claims')
    op.drop_table('pools_holdings')
