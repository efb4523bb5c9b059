"""voice notes

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-21
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None

JSON_DOCUMENT = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


def upgrade() -> None:
    op.create_table('voicenote',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('person_id', sa.Integer(), nullable=False),
    sa.Column('initiative_id', sa.Integer(), nullable=True),
    sa.Column('field', sa.String(length=30), nullable=True),
    sa.Column('path', sa.String(length=300), nullable=False),
    sa.Column('duration_s', sa.Float(), nullable=False),
    sa.Column('engine', sa.String(length=20), nullable=False),
    sa.Column('raw_text', sa.Text(), nullable=False),
    sa.Column('text', sa.Text(), nullable=False),
    sa.Column('words', JSON_DOCUMENT, nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['initiative_id'], ['initiative.id'], ),
    sa.ForeignKeyConstraint(['person_id'], ['person.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('voicenote', schema=None) as batch_op:
        batch_op.create_index('ix_voice_note_initiative', ['initiative_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_voicenote_person_id'), ['person_id'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('voicenote', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_voicenote_person_id'))
        batch_op.drop_index('ix_voice_note_initiative')

    op.drop_table('voicenote')
