"""wait estimates

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-23
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = '0003'
down_revision: str | None = '0002'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('wait_estimate',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('visit_id', sa.Integer(), nullable=False),
    sa.Column('provider_id', sa.Integer(), nullable=False),
    sa.Column('shown_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('median', sa.Integer(), nullable=False),
    sa.Column('upper', sa.Integer(), nullable=False),
    sa.Column('model_median', sa.Float(), nullable=False),
    sa.Column('model_upper', sa.Float(), nullable=False),
    sa.Column('known', sa.Boolean(), nullable=False),
    sa.Column('actual', sa.Float(), nullable=True),
    sa.ForeignKeyConstraint(['provider_id'], ['provider.id'], name=op.f('fk_wait_estimate_provider_id_provider')),
    sa.ForeignKeyConstraint(['visit_id'], ['visit.id'], name=op.f('fk_wait_estimate_visit_id_visit'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_wait_estimate'))
    )
    with op.batch_alter_table('wait_estimate', schema=None) as batch_op:
        batch_op.create_index('ix_wait_estimate_shown_at', ['shown_at'], unique=False)
        batch_op.create_index('ix_wait_estimate_visit_id', ['visit_id'], unique=False)

    # The wait estimate reads one provider's day at every check-in.
    with op.batch_alter_table('appointment', schema=None) as batch_op:
        batch_op.create_index('ix_appointment_provider_start', ['provider_id', 'start'],
                              unique=False)



def downgrade() -> None:
    with op.batch_alter_table('appointment', schema=None) as batch_op:
        batch_op.drop_index('ix_appointment_provider_start')
    with op.batch_alter_table('wait_estimate', schema=None) as batch_op:
        batch_op.drop_index('ix_wait_estimate_visit_id')
        batch_op.drop_index('ix_wait_estimate_shown_at')

    op.drop_table('wait_estimate')
