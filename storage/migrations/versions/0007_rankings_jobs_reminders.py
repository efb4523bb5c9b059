"""weekly ranking snapshots, scheduled job runs, reminder opt-out, outbox priority

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-03
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'ranking_snapshot',
        sa.Column('week', sa.String(length=8), nullable=False),
        sa.Column('unit_id', sa.Integer(), nullable=False),
        sa.Column('parent_id', sa.Integer(), nullable=True),
        sa.Column('valid', sa.Integer(), nullable=False),
        sa.Column('entries', sa.Integer(), nullable=False),
        sa.Column('new_entries', sa.Integer(), nullable=False),
        sa.Column('target', sa.Integer(), nullable=True),
        sa.Column('rank', sa.Integer(), nullable=False),
        sa.Column('computed_at', sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['unit_id'], ['unit.id']),
        sa.ForeignKeyConstraint(['parent_id'], ['unit.id']),
        sa.PrimaryKeyConstraint('week', 'unit_id'),
    )
    op.create_index('ix_ranking_snapshot_parent', 'ranking_snapshot', ['week', 'parent_id', 'rank'])
    op.create_table(
        'job_run',
        sa.Column('name', sa.String(length=40), nullable=False),
        sa.Column('slot', sa.DateTime(timezone=True), nullable=False),
        sa.Column('status', sa.String(length=10), nullable=False),
        sa.Column('owner', sa.String(length=80), nullable=False),
        sa.Column('started_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('lease_until', sa.DateTime(timezone=True), nullable=False),
        sa.Column('finished_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('detail', sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint('name', 'slot'),
    )
    with op.batch_alter_table('person', schema=None) as batch_op:
        batch_op.add_column(sa.Column('reminded_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(
            sa.Column('reminders_off', sa.Boolean(), nullable=False, server_default=sa.false())
        )
    with op.batch_alter_table('outbox', schema=None) as batch_op:
        batch_op.add_column(sa.Column('priority', sa.Integer(), nullable=False, server_default='0'))
        batch_op.drop_index('ix_outbox_pending')
        batch_op.create_index(
            'ix_outbox_pending', ['status', 'channel', 'priority', 'id'], unique=False
        )
    outbox = sa.table('outbox', sa.column('kind', sa.String), sa.column('priority', sa.Integer))
    op.get_bind().execute(
        outbox.update().values(
            priority=sa.case((outbox.c.kind == 'notice', 1), (outbox.c.kind == 'broadcast', 2), else_=0)
        )
    )


def downgrade() -> None:
    with op.batch_alter_table('outbox', schema=None) as batch_op:
        batch_op.drop_index('ix_outbox_pending')
        batch_op.create_index('ix_outbox_pending', ['status', 'channel', 'lease_until'], unique=False)
        batch_op.drop_column('priority')
    with op.batch_alter_table('person', schema=None) as batch_op:
        batch_op.drop_column('reminders_off')
        batch_op.drop_column('reminded_at')
    op.drop_table('job_run')
    op.drop_index('ix_ranking_snapshot_parent', table_name='ranking_snapshot')
    op.drop_table('ranking_snapshot')
