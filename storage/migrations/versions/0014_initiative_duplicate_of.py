"""initiative.duplicate_of: an entry marked as repeating an idea already submitted

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0014'
down_revision = '0013'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('initiative') as batch:
        batch.add_column(sa.Column('duplicate_of', sa.Integer(), nullable=True))
        batch.create_foreign_key(
            'fk_initiative_duplicate_of', 'initiative', ['duplicate_of'], ['id']
        )


def downgrade() -> None:
    with op.batch_alter_table('initiative') as batch:
        batch.drop_constraint('fk_initiative_duplicate_of', type_='foreignkey')
        batch.drop_column('duplicate_of')
