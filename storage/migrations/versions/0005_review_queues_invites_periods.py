"""review queues, invites, periods; each initiative knows its district and province

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op


revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('period',
    sa.Column('name', sa.String(length=10), nullable=False),
    sa.Column('starts_on', sa.Date(), nullable=False),
    sa.Column('ends_on', sa.Date(), nullable=False),
    sa.PrimaryKeyConstraint('name')
    )
    op.create_table('invite',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('code_hash', sa.String(length=64), nullable=False),
    sa.Column('unit_id', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('expires_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('used_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('used_by_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['unit_id'], ['unit.id'], ),
    sa.ForeignKeyConstraint(['used_by_id'], ['person.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('code_hash')
    )
    with op.batch_alter_table('invite', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_invite_unit_id'), ['unit_id'], unique=False)

    op.create_table('officer_notice',
    sa.Column('person_id', sa.Integer(), nullable=False),
    sa.Column('last_sent_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['person_id'], ['person.id'], ),
    sa.PrimaryKeyConstraint('person_id')
    )
    op.create_table('review',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('initiative_id', sa.Integer(), nullable=False),
    sa.Column('level', sa.String(length=20), nullable=False),
    sa.Column('officer_id', sa.Integer(), nullable=False),
    sa.Column('decision', sa.String(length=20), nullable=False),
    sa.Column('reason', sa.Text(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['initiative_id'], ['initiative.id'], ),
    sa.ForeignKeyConstraint(['officer_id'], ['person.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('review', schema=None) as batch_op:
        batch_op.create_index('ix_review_initiative', ['initiative_id', 'id'], unique=False)

    with op.batch_alter_table('initiative', schema=None) as batch_op:
        batch_op.add_column(sa.Column('district_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('province_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('review_level', sa.String(length=20), nullable=True))
        batch_op.add_column(sa.Column('return_step', sa.String(length=30), nullable=True))
        batch_op.drop_index(batch_op.f('ix_initiative_unit_status'))
        batch_op.create_index('ix_initiative_unit_status', ['unit_id', 'status', 'submitted_at'], unique=False)
        batch_op.create_index('ix_initiative_district_status', ['district_id', 'status', 'submitted_at'], unique=False)
        batch_op.create_index('ix_initiative_entered_by', ['entered_by_id', 'status'], unique=False)
        batch_op.create_index('ix_initiative_province_status', ['province_id', 'status', 'submitted_at'], unique=False)
        batch_op.create_foreign_key('fk_initiative_district', 'unit', ['district_id'], ['id'])
        batch_op.create_foreign_key('fk_initiative_province', 'unit', ['province_id'], ['id'])

    # Existing initiatives: their grassroots union's district and province, and the first queue.
    op.execute(
        "UPDATE initiative SET district_id = "
        "(SELECT parent_id FROM unit WHERE unit.id = initiative.unit_id)"
    )
    op.execute(
        "UPDATE initiative SET province_id = "
        "(SELECT parent_id FROM unit WHERE unit.id = initiative.district_id)"
    )
    op.execute(
        "UPDATE initiative SET review_level = 'grassroots' "
        "WHERE status NOT IN ('draft')"
    )


def downgrade() -> None:
    with op.batch_alter_table('initiative', schema=None) as batch_op:
        batch_op.drop_constraint('fk_initiative_province', type_='foreignkey')
        batch_op.drop_constraint('fk_initiative_district', type_='foreignkey')
        batch_op.drop_index('ix_initiative_province_status')
        batch_op.drop_index('ix_initiative_entered_by')
        batch_op.drop_index('ix_initiative_district_status')
        batch_op.drop_index('ix_initiative_unit_status')
        batch_op.create_index(batch_op.f('ix_initiative_unit_status'), ['unit_id', 'status'], unique=False)
        batch_op.drop_column('return_step')
        batch_op.drop_column('review_level')
        batch_op.drop_column('province_id')
        batch_op.drop_column('district_id')

    with op.batch_alter_table('review', schema=None) as batch_op:
        batch_op.drop_index('ix_review_initiative')

    op.drop_table('review')
    op.drop_table('officer_notice')
    with op.batch_alter_table('invite', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_invite_unit_id'))

    op.drop_table('invite')
    op.drop_table('period')

