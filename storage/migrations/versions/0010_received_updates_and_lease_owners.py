"""received_update: updates kept until handled; outbox.owner: who holds a lease

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None

JSON_DOCUMENT = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


def upgrade() -> None:
    op.create_table(
        'received_update',
        sa.Column('channel', sa.String(length=20), nullable=False),
        sa.Column('update_key', sa.String(length=100), nullable=False),
        sa.Column('payload', JSON_DOCUMENT, nullable=False),
        sa.Column('owner', sa.BigInteger(), nullable=False),
        sa.Column('received_at', sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint('channel', 'update_key'),
    )
    with op.batch_alter_table('outbox') as batch:
        batch.add_column(sa.Column('owner', sa.BigInteger(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('outbox') as batch:
        batch.drop_column('owner')
    op.drop_table('received_update')
