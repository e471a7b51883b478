"""notes table

Revision ID: 5cdc63106a29
Revises: 
Create Date: 2026-11-23 12:30:27.697563
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import kernel
from sqlalchemy import Text  # noqa: F401 - autogenerate renders JSONB(astext_type=Text())
from sqlalchemy.dialects import postgresql

revision = '5cdc63106a29'
down_revision = None
branch_labels = ('notes',)
depends_on = 'core'


def upgrade() -> None:
    op.create_table('notes_notes',
    sa.Column('title', sa.String(length=200), nullable=False),
    sa.Column('body', sa.Text(), nullable=False),
    sa.Column('priority', sa.Integer(), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('due', sa.Date(), nullable=True),
    sa.Column('owner_id', sa.BigInteger(), nullable=True),
    sa.Column('touched_at', kernel.UTCDateTime(timezone=True), nullable=True),
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('created_at', kernel.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', kernel.UTCDateTime(timezone=True), nullable=False),
    sa.Column('custom', sa.JSON().with_variant(postgresql.JSONB(astext_type=Text()), 'postgresql'), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_notes_notes'))
    )
    with op.batch_alter_table('notes_notes', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_notes_notes_priority'), ['priority'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('notes_notes', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_notes_notes_priority'))

    op.drop_table('notes_notes')
