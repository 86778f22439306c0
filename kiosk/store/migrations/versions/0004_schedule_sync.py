"""schedule sync

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-23
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = '0004'
down_revision: str | None = '0003'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('sync_status',
    sa.Column('site_id', sa.String(length=64), nullable=False),
    sa.Column('last_success_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('last_attempt_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('last_full_pull_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('last_error', sa.Text(), nullable=True),
    sa.Column('watermark', sa.String(length=40), nullable=True),
    sa.Column('window_start', sa.Date(), nullable=True),
    sa.Column('lease_holder', sa.String(length=128), nullable=True),
    sa.Column('lease_until', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['site_id'], ['site.id'], name=op.f('fk_sync_status_site_id_site')),
    sa.PrimaryKeyConstraint('site_id', name=op.f('pk_sync_status'))
    )
    op.create_table('outbox_item',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('site_id', sa.String(length=64), nullable=False),
    sa.Column('kind', sa.String(length=32), nullable=False),
    sa.Column('appointment_id', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('state', sa.Enum('pending', 'sent', 'skipped', 'parked', name='outbox_state', native_enum=False, create_constraint=True, length=20), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('next_attempt_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('done_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('last_error', sa.Text(), nullable=True),
    sa.ForeignKeyConstraint(['appointment_id'], ['appointment.id'], name=op.f('fk_outbox_item_appointment_id_appointment'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['site_id'], ['site.id'], name=op.f('fk_outbox_item_site_id_site')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_outbox_item')),
    sa.UniqueConstraint('appointment_id', 'kind', name=op.f('uq_outbox_item_appointment_id_kind'))
    )
    with op.batch_alter_table('outbox_item', schema=None) as batch_op:
        batch_op.create_index('ix_outbox_item_state_next', ['state', 'next_attempt_at'], unique=False)

    with op.batch_alter_table('appointment', schema=None) as batch_op:
        batch_op.add_column(sa.Column('upstream_json', sa.Text(), nullable=True))

    with op.batch_alter_table('visit', schema=None) as batch_op:
        # Existing visits were not cancelled upstream.
        batch_op.add_column(sa.Column('cancelled_upstream', sa.Boolean(), nullable=False,
                                      server_default=sa.false()))



def downgrade() -> None:
    with op.batch_alter_table('visit', schema=None) as batch_op:
        batch_op.drop_column('cancelled_upstream')

    with op.batch_alter_table('appointment', schema=None) as batch_op:
        batch_op.drop_column('upstream_json')

    with op.batch_alter_table('outbox_item', schema=None) as batch_op:
        batch_op.drop_index('ix_outbox_item_state_next')

    op.drop_table('outbox_item')
    op.drop_table('sync_status')
