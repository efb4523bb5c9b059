"""similar_entry, similar_band: the similar-idea index

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0012'
down_revision = '0011'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'similar_entry',
        sa.Column('initiative_id', sa.Integer(), nullable=False),
        sa.Column('province_id', sa.Integer(), nullable=False),
        sa.Column('problem_key', sa.Text(), nullable=False),
        sa.Column('solution_key', sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(['initiative_id'], ['initiative.id']),
        sa.PrimaryKeyConstraint('initiative_id'),
    )
    op.create_table(
        'similar_band',
        sa.Column('province_id', sa.Integer(), nullable=False),
        sa.Column('band', sa.BigInteger(), nullable=False),
        sa.Column('initiative_id', sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint('province_id', 'band', 'initiative_id'),
    )


def downgrade() -> None:
    op.drop_table('similar_band')
    op.drop_table('similar_entry')
