"""received_update.heard: what a voice note said, kept once heard

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = '0017'
down_revision = '0016'
branch_labels = None
depends_on = None

JSON_DOCUMENT = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


def upgrade() -> None:
    with op.batch_alter_table('received_update') as batch:
        batch.add_column(sa.Column('heard', JSON_DOCUMENT, nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('received_update') as batch:
        batch.drop_column('heard')
