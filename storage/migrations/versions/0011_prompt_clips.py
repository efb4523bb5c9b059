"""prompt_clip: units' recordings of the messages workers hear

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0011'
down_revision = '0010'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'prompt_clip',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('unit_id', sa.Integer(), nullable=False),
        sa.Column('message_key', sa.String(length=60), nullable=False),
        sa.Column('path', sa.String(length=500), nullable=False),
        sa.Column('duration_s', sa.Float(), nullable=False),
        sa.Column('checked_text', sa.Text(), nullable=False),
        sa.Column('heard', sa.Text(), nullable=False),
        sa.Column('score', sa.Float(), nullable=True),
        sa.Column('recorded_by', sa.Integer(), nullable=True),
        sa.Column('recorder', sa.String(length=100), nullable=False),
        sa.Column('recorded_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('telegram_file_id', sa.String(length=200), nullable=True),
        sa.ForeignKeyConstraint(['recorded_by'], ['person.id']),
        sa.ForeignKeyConstraint(['unit_id'], ['unit.id']),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('unit_id', 'message_key'),
    )
    op.create_index('ix_prompt_clip_unit_id', 'prompt_clip', ['unit_id'])


def downgrade() -> None:
    op.drop_index('ix_prompt_clip_unit_id', table_name='prompt_clip')
    op.drop_table('prompt_clip')
