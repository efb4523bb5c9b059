"""outbox: an index for one chat's rows (the per-turn look-ups); broadcasts in doubt

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-04
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column(
        'outbox',
        sa.Column('in_doubt', sa.Boolean(), nullable=False, server_default=sa.false()),
    )
    op.create_index('ix_outbox_chat', 'outbox', ['channel', 'chat_id', 'status'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_outbox_chat', table_name='outbox')
    op.drop_column('outbox', 'in_doubt')
