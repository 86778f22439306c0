"""messages to patients: the patient's email, mobile and opt-out; the message outbox and the
sender's lease

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-03
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = '0011'
down_revision: str | None = '0010'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Added in place, not by a batch copy: other tables refer to patient, and SQLite will not
    # drop a table that is referred to while foreign keys are on.
    op.add_column('patient', sa.Column('email', sa.String(length=254), nullable=True))
    op.add_column('patient', sa.Column('mobile', sa.String(length=32), nullable=True))
    op.add_column('patient', sa.Column('messages_opt_out', sa.Boolean(), nullable=False,
                                       server_default=sa.false()))

    op.create_table('patient_message',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('site_id', sa.String(length=64), nullable=False),
    sa.Column('key', sa.String(length=200), nullable=False),
    sa.Column('patient_id', sa.Integer(), nullable=True),
    sa.Column('appointment_id', sa.Integer(), nullable=True),
    sa.Column('visit_id', sa.Integer(), nullable=True),
    sa.Column('kind', sa.String(length=20), nullable=False),
    sa.Column('channel', sa.Enum('email', 'sms', name='message_channel', native_enum=False,
                                 create_constraint=True, length=20), nullable=False),
    sa.Column('language', sa.String(length=16), nullable=False),
    sa.Column('recipient', sa.String(length=254), nullable=True),
    sa.Column('facts', sa.JSON(), nullable=True),
    sa.Column('body', sa.Text(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('due_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('state', sa.Enum('pending', 'sending', 'sent', 'parked', 'withdrawn',
                               name='message_state', native_enum=False,
                               create_constraint=True, length=20), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('next_attempt_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('sent_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('reason', sa.Text(), nullable=True),
    sa.ForeignKeyConstraint(['appointment_id'], ['appointment.id'],
                            name=op.f('fk_patient_message_appointment_id_appointment'),
                            ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['patient_id'], ['patient.id'],
                            name=op.f('fk_patient_message_patient_id_patient'),
                            ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['site_id'], ['site.id'],
                            name=op.f('fk_patient_message_site_id_site')),
    sa.ForeignKeyConstraint(['visit_id'], ['visit.id'],
                            name=op.f('fk_patient_message_visit_id_visit'),
                            ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_patient_message')),
    sa.UniqueConstraint('site_id', 'key', name=op.f('uq_patient_message_site_id_key'))
    )
    op.create_index('ix_patient_message_state_next', 'patient_message',
                    ['state', 'next_attempt_at'], unique=False)
    op.create_index('ix_patient_message_appointment_id', 'patient_message',
                    ['appointment_id'], unique=False)
    op.create_table('message_sender',
    sa.Column('site_id', sa.String(length=64), nullable=False),
    sa.Column('lease_holder', sa.String(length=128), nullable=True),
    sa.Column('lease_until', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['site_id'], ['site.id'],
                            name=op.f('fk_message_sender_site_id_site')),
    sa.PrimaryKeyConstraint('site_id', name=op.f('pk_message_sender'))
    )


def downgrade() -> None:
    op.drop_table('message_sender')
    op.drop_index('ix_patient_message_appointment_id', table_name='patient_message')
    op.drop_index('ix_patient_message_state_next', table_name='patient_message')
    op.drop_table('patient_message')
    for column in ('messages_opt_out', 'mobile', 'email'):  # SQLite 3.35+ drops in place
        op.execute(f'ALTER TABLE patient DROP COLUMN {column}')
