"""customers tables

Revision ID: ba361af86eba
Revises: 
Create Date: 2026-11-23 12:46:05.397233
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import kernel
from sqlalchemy import Text  # noqa: F401 - autogenerate renders JSONB(astext_type=Text())
from sqlalchemy.dialects import postgresql

revision = 'ba361af86eba'
down_revision = None
branch_labels = ('customers',)
depends_on = 'core'


def upgrade() -> None:
    op.create_table('customers_customers',
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('kind', sa.String(length=20), nullable=False),
    sa.Column('level', sa.String(length=40), nullable=True),
    sa.Column('industry', sa.String(length=80), nullable=True),
    sa.Column('region', sa.String(length=80), nullable=True),
    sa.Column('source', sa.String(length=80), nullable=True),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('owner_id', sa.BigInteger(), nullable=True),
    sa.Column('team_id', sa.BigInteger(), nullable=True),
    sa.Column('sea_id', sa.BigInteger(), nullable=True),
    sa.Column('shared_user_ids', sa.JSON().with_variant(postgresql.JSONB(astext_type=Text()), 'postgresql'), nullable=False),
    sa.Column('shared_team_ids', sa.JSON().with_variant(postgresql.JSONB(astext_type=Text()), 'postgresql'), nullable=False),
    sa.Column('tags', sa.JSON().with_variant(postgresql.JSONB(astext_type=Text()), 'postgresql'), nullable=False),
    sa.Column('phone', sa.String(length=40), nullable=True),
    sa.Column('phones', sa.JSON().with_variant(postgresql.JSONB(astext_type=Text()), 'postgresql'), nullable=False),
    sa.Column('email', sa.String(length=254), nullable=True),
    sa.Column('emails', sa.JSON().with_variant(postgresql.JSONB(astext_type=Text()), 'postgresql'), nullable=False),
    sa.Column('address', sa.Text(), nullable=True),
    sa.Column('website', sa.String(length=254), nullable=True),
    sa.Column('credit_code', sa.String(length=18), nullable=True),
    sa.Column('last_followed_at', kernel.UTCDateTime(timezone=True), nullable=True),
    sa.Column('churn_flag', sa.Boolean(), nullable=False),
    sa.Column('churn_reason', sa.String(length=300), nullable=True),
    sa.Column('churn_flagged_at', kernel.UTCDateTime(timezone=True), nullable=True),
    sa.Column('name_key', sa.String(length=200), nullable=True),
    sa.Column('phone_key', sa.String(length=40), nullable=True),
    sa.Column('email_key', sa.String(length=254), nullable=True),
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('created_at', kernel.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', kernel.UTCDateTime(timezone=True), nullable=False),
    sa.Column('custom', sa.JSON().with_variant(postgresql.JSONB(astext_type=Text()), 'postgresql'), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_customers_customers'))
    )
    with op.batch_alter_table('customers_customers', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_customers_customers_churn_flag'), ['churn_flag'], unique=False)
        batch_op.create_index(batch_op.f('ix_customers_customers_credit_code'), ['credit_code'], unique=False)
        batch_op.create_index(batch_op.f('ix_customers_customers_email_key'), ['email_key'], unique=False)
        batch_op.create_index(batch_op.f('ix_customers_customers_industry'), ['industry'], unique=False)
        batch_op.create_index(batch_op.f('ix_customers_customers_last_followed_at'), ['last_followed_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_customers_customers_level'), ['level'], unique=False)
        batch_op.create_index(batch_op.f('ix_customers_customers_name_key'), ['name_key'], unique=False)
        batch_op.create_index(batch_op.f('ix_customers_customers_owner_id'), ['owner_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_customers_customers_phone_key'), ['phone_key'], unique=False)
        batch_op.create_index(batch_op.f('ix_customers_customers_region'), ['region'], unique=False)
        batch_op.create_index(batch_op.f('ix_customers_customers_sea_id'), ['sea_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_customers_customers_status'), ['status'], unique=False)
        batch_op.create_index(batch_op.f('ix_customers_customers_team_id'), ['team_id'], unique=False)

    op.create_table('customers_merges',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('survivor_id', sa.BigInteger(), nullable=False),
    sa.Column('merged_id', sa.BigInteger(), nullable=False),
    sa.Column('survivor', sa.JSON().with_variant(postgresql.JSONB(astext_type=Text()), 'postgresql'), nullable=False),
    sa.Column('merged', sa.JSON().with_variant(postgresql.JSONB(astext_type=Text()), 'postgresql'), nullable=False),
    sa.Column('fields', sa.JSON().with_variant(postgresql.JSONB(astext_type=Text()), 'postgresql'), nullable=False),
    sa.Column('moved', sa.JSON().with_variant(postgresql.JSONB(astext_type=Text()), 'postgresql'), nullable=False),
    sa.Column('merged_at', kernel.UTCDateTime(timezone=True), nullable=False),
    sa.Column('merged_by', sa.BigInteger(), nullable=True),
    sa.Column('undone_at', kernel.UTCDateTime(timezone=True), nullable=True),
    sa.Column('undone_by', sa.BigInteger(), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_customers_merges'))
    )
    with op.batch_alter_table('customers_merges', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_customers_merges_merged_id'), ['merged_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_customers_merges_survivor_id'), ['survivor_id'], unique=False)

    op.create_table('customers_contacts',
    sa.Column('customer_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('name', sa.String(length=120), nullable=False),
    sa.Column('title', sa.String(length=120), nullable=True),
    sa.Column('phone', sa.String(length=40), nullable=True),
    sa.Column('phones', sa.JSON().with_variant(postgresql.JSONB(astext_type=Text()), 'postgresql'), nullable=False),
    sa.Column('email', sa.String(length=254), nullable=True),
    sa.Column('emails', sa.JSON().with_variant(postgresql.JSONB(astext_type=Text()), 'postgresql'), nullable=False),
    sa.Column('wechat', sa.String(length=80), nullable=True),
    sa.Column('birthday', sa.Date(), nullable=True),
    sa.Column('notes', sa.Text(), nullable=True),
    sa.Column('is_primary', sa.Boolean(), nullable=False),
    sa.Column('phone_key', sa.String(length=40), nullable=True),
    sa.Column('email_key', sa.String(length=254), nullable=True),
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('created_at', kernel.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', kernel.UTCDateTime(timezone=True), nullable=False),
    sa.Column('custom', sa.JSON().with_variant(postgresql.JSONB(astext_type=Text()), 'postgresql'), nullable=False),
    sa.ForeignKeyConstraint(['customer_id'], ['customers_customers.id'], name=op.f('fk_customers_contacts_customer_id_customers_customers')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_customers_contacts'))
    )
    with op.batch_alter_table('customers_contacts', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_customers_contacts_customer_id'), ['customer_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_customers_contacts_email_key'), ['email_key'], unique=False)
        batch_op.create_index(batch_op.f('ix_customers_contacts_phone_key'), ['phone_key'], unique=False)

    op.create_table('customers_followups',
    sa.Column('customer_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('entity', sa.String(length=80), nullable=True),
    sa.Column('record_id', sa.BigInteger(), nullable=True),
    sa.Column('method', sa.String(length=20), nullable=False),
    sa.Column('content', sa.Text(), nullable=False),
    sa.Column('followed_at', kernel.UTCDateTime(timezone=True), nullable=False),
    sa.Column('next_at', kernel.UTCDateTime(timezone=True), nullable=True),
    sa.Column('owner_id', sa.BigInteger(), nullable=True),
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('created_at', kernel.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', kernel.UTCDateTime(timezone=True), nullable=False),
    sa.Column('custom', sa.JSON().with_variant(postgresql.JSONB(astext_type=Text()), 'postgresql'), nullable=False),
    sa.ForeignKeyConstraint(['customer_id'], ['customers_customers.id'], name=op.f('fk_customers_followups_customer_id_customers_customers')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_customers_followups'))
    )
    with op.batch_alter_table('customers_followups', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_customers_followups_customer_id'), ['customer_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_customers_followups_followed_at'), ['followed_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_customers_followups_owner_id'), ['owner_id'], unique=False)
        batch_op.create_index('ix_customers_followups_target', ['entity', 'record_id'], unique=False)

    op.create_table('customers_shares',
    sa.Column('customer_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('kind', sa.String(length=10), nullable=False),
    sa.Column('target_id', sa.BigInteger(), nullable=False),
    sa.ForeignKeyConstraint(['customer_id'], ['customers_customers.id'], name=op.f('fk_customers_shares_customer_id_customers_customers'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('customer_id', 'kind', 'target_id', name=op.f('pk_customers_shares'))
    )
    with op.batch_alter_table('customers_shares', schema=None) as batch_op:
        batch_op.create_index('ix_customers_shares_target', ['kind', 'target_id'], unique=False)

    op.create_table('customers_tasks',
    sa.Column('title', sa.String(length=200), nullable=False),
    sa.Column('description', sa.Text(), nullable=False),
    sa.Column('assignee_id', sa.BigInteger(), nullable=True),
    sa.Column('customer_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('entity', sa.String(length=80), nullable=True),
    sa.Column('record_id', sa.BigInteger(), nullable=True),
    sa.Column('priority', sa.String(length=20), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('due_at', kernel.UTCDateTime(timezone=True), nullable=True),
    sa.Column('remind_at', kernel.UTCDateTime(timezone=True), nullable=True),
    sa.Column('reminded_at', kernel.UTCDateTime(timezone=True), nullable=True),
    sa.Column('done_at', kernel.UTCDateTime(timezone=True), nullable=True),
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('created_at', kernel.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', kernel.UTCDateTime(timezone=True), nullable=False),
    sa.Column('custom', sa.JSON().with_variant(postgresql.JSONB(astext_type=Text()), 'postgresql'), nullable=False),
    sa.ForeignKeyConstraint(['customer_id'], ['customers_customers.id'], name=op.f('fk_customers_tasks_customer_id_customers_customers')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_customers_tasks'))
    )
    with op.batch_alter_table('customers_tasks', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_customers_tasks_assignee_id'), ['assignee_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_customers_tasks_customer_id'), ['customer_id'], unique=False)
        batch_op.create_index('ix_customers_tasks_due', ['status', 'due_at'], unique=False)
        batch_op.create_index('ix_customers_tasks_remind', ['status', 'remind_at'], unique=False)
        batch_op.create_index('ix_customers_tasks_target', ['entity', 'record_id'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('customers_tasks', schema=None) as batch_op:
        batch_op.drop_index('ix_customers_tasks_target')
        batch_op.drop_index('ix_customers_tasks_remind')
        batch_op.drop_index('ix_customers_tasks_due')
        batch_op.drop_index(batch_op.f('ix_customers_tasks_customer_id'))
        batch_op.drop_index(batch_op.f('ix_customers_tasks_assignee_id'))

    op.drop_table('customers_tasks')
    with op.batch_alter_table('customers_shares', schema=None) as batch_op:
        batch_op.drop_index('ix_customers_shares_target')

    op.drop_table('customers_shares')
    with op.batch_alter_table('customers_followups', schema=None) as batch_op:
        batch_op.drop_index('ix_customers_followups_target')
        batch_op.drop_index(batch_op.f('ix_customers_followups_owner_id'))
        batch_op.drop_index(batch_op.f('ix_customers_followups_followed_at'))
        batch_op.drop_index(batch_op.f('ix_customers_followups_customer_id'))

    op.drop_table('customers_followups')
    with op.batch_alter_table('customers_contacts', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_customers_contacts_phone_key'))
        batch_op.drop_index(batch_op.f('ix_customers_contacts_email_key'))
        batch_op.drop_index(batch_op.f('ix_customers_contacts_customer_id'))

    op.drop_table('customers_contacts')
    with op.batch_alter_table('customers_merges', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_customers_merges_survivor_id'))
        batch_op.drop_index(batch_op.f('ix_customers_merges_merged_id'))

    op.drop_table('customers_merges')
    with op.batch_alter_table('customers_customers', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_customers_customers_team_id'))
        batch_op.drop_index(batch_op.f('ix_customers_customers_status'))
        batch_op.drop_index(batch_op.f('ix_customers_customers_sea_id'))
        batch_op.drop_index(batch_op.f('ix_customers_customers_region'))
        batch_op.drop_index(batch_op.f('ix_customers_customers_phone_key'))
        batch_op.drop_index(batch_op.f('ix_customers_customers_owner_id'))
        batch_op.drop_index(batch_op.f('ix_customers_customers_name_key'))
        batch_op.drop_index(batch_op.f('ix_customers_customers_level'))
        batch_op.drop_index(batch_op.f('ix_customers_customers_last_followed_at'))
        batch_op.drop_index(batch_op.f('ix_customers_customers_industry'))
        batch_op.drop_index(batch_op.f('ix_customers_customers_email_key'))
        batch_op.drop_index(batch_op.f('ix_customers_customers_credit_code'))
        batch_op.drop_index(batch_op.f('ix_customers_customers_churn_flag'))

    op.drop_table('customers_customers')
