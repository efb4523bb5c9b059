"""the officers' queue page: waiting entries in time order (with a recording too), amounts
in order; initiative.spoken

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0016'
down_revision = '0015'
branch_labels = None
depends_on = None

WAITING = sa.text("status IN ('submitted', 'under_review')")
SPOKEN_WAITING = sa.text("spoken AND status IN ('submitted', 'under_review')")
COLUMNS = (('unit', 'unit_id'), ('district', 'district_id'), ('province', 'province_id'))


def upgrade() -> None:
    with op.batch_alter_table('initiative') as batch_op:
        batch_op.add_column(
            sa.Column('spoken', sa.Boolean(), nullable=False, server_default=sa.text('false'))
        )
    # Entries with a recording linked to them: a part was answered by voice.
    op.execute(
        "UPDATE initiative SET spoken = true WHERE id IN "
        "(SELECT initiative_id FROM voicenote WHERE initiative_id IS NOT NULL)"
    )
    for name, column in COLUMNS:
        op.create_index(
            f'ix_initiative_waiting_{name}',
            'initiative',
            [column, 'submitted_at', 'id'],
            sqlite_where=WAITING,
            postgresql_where=WAITING,
        )
        op.create_index(
            f'ix_initiative_spoken_{name}',
            'initiative',
            [column, 'submitted_at', 'id'],
            sqlite_where=SPOKEN_WAITING,
            postgresql_where=SPOKEN_WAITING,
        )
        op.create_index(
            f'ix_initiative_value_{name}', 'initiative', [column, 'benefit_value_vnd', 'id']
        )


def downgrade() -> None:
    for name, _ in COLUMNS:
        op.drop_index(f'ix_initiative_value_{name}', table_name='initiative')
        op.drop_index(f'ix_initiative_spoken_{name}', table_name='initiative')
        op.drop_index(f'ix_initiative_waiting_{name}', table_name='initiative')
    with op.batch_alter_table('initiative') as batch_op:
        batch_op.drop_column('spoken')
