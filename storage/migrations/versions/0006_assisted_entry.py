"""assisted entry: people found by name or phone; who confirmed an entry made for its author

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-03
"""

from __future__ import annotations

import re
import unicodedata

import sqlalchemy as sa
from alembic import op

revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None


def _name_key(name: str) -> str:
    """nlp.text.match_key as of this revision, frozen here (storage may not import nlp, and a
    migration must not change when the application's code does)."""
    decomposed = unicodedata.normalize("NFD", name.replace("đ", "d").replace("Đ", "D"))
    folded = re.sub("[\u0300-\u036f]", "", decomposed).casefold()
    return " ".join(re.sub(r"[^\w]+|_", " ", folded).split())


def upgrade() -> None:
    with op.batch_alter_table('person', schema=None) as batch_op:
        batch_op.add_column(sa.Column('name_key', sa.String(length=100), nullable=True))
        batch_op.create_index('ix_person_phone', ['phone'], unique=False)

    with op.batch_alter_table('initiative', schema=None) as batch_op:
        batch_op.add_column(sa.Column('confirmed_by_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('confirmed_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.create_foreign_key('fk_initiative_confirmed_by', 'person', ['confirmed_by_id'], ['id'])

    # Existing people: the key their name is searched by (computed in Python: no database
    # folds Vietnamese diacritics the way the bot does).
    connection = op.get_bind()
    person = sa.table('person', sa.column('id', sa.Integer), sa.column('name', sa.String),
                      sa.column('name_key', sa.String))
    rows = connection.execute(sa.select(person.c.id, person.c.name).where(person.c.name.is_not(None)))
    keys = [{'row_id': row.id, 'key': _name_key(row.name)[:100]} for row in rows]
    if keys:
        connection.execute(
            person.update().where(person.c.id == sa.bindparam('row_id'))
            .values(name_key=sa.bindparam('key')),
            keys,
        )


def downgrade() -> None:
    with op.batch_alter_table('initiative', schema=None) as batch_op:
        batch_op.drop_constraint('fk_initiative_confirmed_by', type_='foreignkey')
        batch_op.drop_column('confirmed_at')
        batch_op.drop_column('confirmed_by_id')

    with op.batch_alter_table('person', schema=None) as batch_op:
        batch_op.drop_index('ix_person_phone')
        batch_op.drop_column('name_key')
