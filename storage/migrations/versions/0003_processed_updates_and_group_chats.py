"""processed updates and group chats

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-21
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op


revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('processedupdate',
    sa.Column('channel', sa.String(length=20), nullable=False),
    sa.Column('update_key', sa.String(length=100), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('channel', 'update_key')
    )
    op.create_table('groupchat',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('channel', sa.String(length=20), nullable=False),
    sa.Column('chat_id', sa.String(length=64), nullable=False),
    sa.Column('unit_id', sa.Integer(), nullable=False),
    sa.Column('registered_by', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['registered_by'], ['person.id'], ),
    sa.ForeignKeyConstraint(['unit_id'], ['unit.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('channel', 'chat_id')
    )
    with op.batch_alter_table('groupchat', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_groupchat_unit_id'), ['unit_id'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('groupchat', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_groupchat_unit_id'))

    op.drop_table('groupchat')
    op.drop_table('processedupdate')
