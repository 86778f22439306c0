"""initial schema

Revision ID: 0001
Revises: 
Create Date: 2026-11-23
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = '0001'
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('failed_attempt',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('kiosk_id', sa.String(length=64), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_failed_attempt'))
    )
    with op.batch_alter_table('failed_attempt', schema=None) as batch_op:
        batch_op.create_index('ix_failed_attempt_kiosk_at', ['kiosk_id', 'at'], unique=False)

    op.create_table('kiosk_lock',
    sa.Column('kiosk_id', sa.String(length=64), nullable=False),
    sa.Column('locked_until', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('kiosk_id', name=op.f('pk_kiosk_lock'))
    )
    op.create_table('site',
    sa.Column('id', sa.String(length=64), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('qr_secret', sa.LargeBinary(length=64), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_site'))
    )
    op.create_table('location',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('site_id', sa.String(length=64), nullable=False),
    sa.Column('external_id', sa.String(length=64), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.ForeignKeyConstraint(['site_id'], ['site.id'], name=op.f('fk_location_site_id_site')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_location')),
    sa.UniqueConstraint('site_id', 'external_id', name=op.f('uq_location_site_id_external_id'))
    )
    op.create_table('patient',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('site_id', sa.String(length=64), nullable=False),
    sa.Column('external_id', sa.String(length=64), nullable=False),
    sa.Column('given_name', sa.String(length=200), nullable=False),
    sa.Column('family_name', sa.String(length=200), nullable=False),
    sa.Column('given_key', sa.String(length=200), nullable=False),
    sa.Column('birth_date', sa.Date(), nullable=False),
    sa.Column('preferred_language', sa.String(length=16), nullable=True),
    sa.ForeignKeyConstraint(['site_id'], ['site.id'], name=op.f('fk_patient_site_id_site')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_patient')),
    sa.UniqueConstraint('site_id', 'external_id', name=op.f('uq_patient_site_id_external_id'))
    )
    with op.batch_alter_table('patient', schema=None) as batch_op:
        batch_op.create_index('ix_patient_birth_date', ['birth_date'], unique=False)

    op.create_table('provider',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('site_id', sa.String(length=64), nullable=False),
    sa.Column('external_id', sa.String(length=64), nullable=False),
    sa.Column('display_name', sa.String(length=200), nullable=False),
    sa.ForeignKeyConstraint(['site_id'], ['site.id'], name=op.f('fk_provider_site_id_site')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_provider')),
    sa.UniqueConstraint('site_id', 'external_id', name=op.f('uq_provider_site_id_external_id'))
    )
    op.create_table('ticket_counter',
    sa.Column('site_id', sa.String(length=64), nullable=False),
    sa.Column('service_date', sa.Date(), nullable=False),
    sa.Column('last_number', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['site_id'], ['site.id'], name=op.f('fk_ticket_counter_site_id_site')),
    sa.PrimaryKeyConstraint('site_id', 'service_date', name=op.f('pk_ticket_counter'))
    )
    op.create_table('appointment',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('site_id', sa.String(length=64), nullable=False),
    sa.Column('external_id', sa.String(length=64), nullable=False),
    sa.Column('patient_id', sa.Integer(), nullable=False),
    sa.Column('provider_id', sa.Integer(), nullable=False),
    sa.Column('location_id', sa.Integer(), nullable=False),
    sa.Column('start', sa.DateTime(timezone=True), nullable=False),
    sa.Column('end', sa.DateTime(timezone=True), nullable=False),
    sa.Column('status', sa.Enum('booked', 'arrived', 'checked-in', 'cancelled', 'noshow', 'fulfilled', name='appointment_status', native_enum=False, create_constraint=True, length=20), nullable=False),
    sa.Column('token_tag', sa.LargeBinary(length=8), nullable=False),
    sa.Column('upstream_version', sa.String(length=64), nullable=True),
    sa.ForeignKeyConstraint(['location_id'], ['location.id'], name=op.f('fk_appointment_location_id_location')),
    sa.ForeignKeyConstraint(['patient_id'], ['patient.id'], name=op.f('fk_appointment_patient_id_patient')),
    sa.ForeignKeyConstraint(['provider_id'], ['provider.id'], name=op.f('fk_appointment_provider_id_provider')),
    sa.ForeignKeyConstraint(['site_id'], ['site.id'], name=op.f('fk_appointment_site_id_site')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_appointment')),
    sa.UniqueConstraint('site_id', 'external_id', name=op.f('uq_appointment_site_id_external_id')),
    sa.UniqueConstraint('site_id', 'token_tag', name=op.f('uq_appointment_site_id_token_tag'))
    )
    with op.batch_alter_table('appointment', schema=None) as batch_op:
        batch_op.create_index('ix_appointment_patient_start', ['patient_id', 'start'], unique=False)
        batch_op.create_index('ix_appointment_site_start', ['site_id', 'start'], unique=False)

    op.create_table('patient_name_key',
    sa.Column('key', sa.String(length=200), nullable=False),
    sa.Column('patient_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['patient_id'], ['patient.id'], name=op.f('fk_patient_name_key_patient_id_patient'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('key', 'patient_id', name=op.f('pk_patient_name_key'))
    )
    op.create_table('visit',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('site_id', sa.String(length=64), nullable=False),
    sa.Column('service_date', sa.Date(), nullable=False),
    sa.Column('appointment_id', sa.Integer(), nullable=True),
    sa.Column('patient_id', sa.Integer(), nullable=True),
    sa.Column('provider_id', sa.Integer(), nullable=False),
    sa.Column('ticket_number', sa.Integer(), nullable=False),
    sa.Column('ticket_code', sa.String(length=16), nullable=False),
    sa.Column('method', sa.Enum('qr', 'name_dob', 'staff', name='checkin_method', native_enum=False, create_constraint=True, length=20), nullable=False),
    sa.Column('language', sa.String(length=16), nullable=False),
    sa.Column('kiosk_id', sa.String(length=64), nullable=True),
    sa.Column('queue_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('checked_in_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('called_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('started_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('finished_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('status', sa.Enum('waiting', 'called', 'in_room', 'done', 'left', name='visit_status', native_enum=False, create_constraint=True, length=20), nullable=False),
    sa.Column('arrived_late', sa.Boolean(), nullable=False),
    sa.Column('room', sa.String(length=32), nullable=True),
    sa.Column('walk_in_name', sa.String(length=200), nullable=True),
    sa.ForeignKeyConstraint(['appointment_id'], ['appointment.id'], name=op.f('fk_visit_appointment_id_appointment')),
    sa.ForeignKeyConstraint(['patient_id'], ['patient.id'], name=op.f('fk_visit_patient_id_patient')),
    sa.ForeignKeyConstraint(['provider_id'], ['provider.id'], name=op.f('fk_visit_provider_id_provider')),
    sa.ForeignKeyConstraint(['site_id'], ['site.id'], name=op.f('fk_visit_site_id_site')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_visit')),
    sa.UniqueConstraint('appointment_id', name=op.f('uq_visit_appointment_id')),
    sa.UniqueConstraint('site_id', 'service_date', 'ticket_number', name=op.f('uq_visit_site_id_service_date_ticket_number'))
    )
    with op.batch_alter_table('visit', schema=None) as batch_op:
        batch_op.create_index('ix_visit_site_day_status', ['site_id', 'service_date', 'status'], unique=False)

    op.create_table('audit_event',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('actor', sa.String(length=64), nullable=False),
    sa.Column('action', sa.String(length=64), nullable=False),
    sa.Column('visit_id', sa.Integer(), nullable=True),
    sa.Column('appointment_id', sa.Integer(), nullable=True),
    sa.Column('detail', sa.JSON(), nullable=False),
    sa.ForeignKeyConstraint(['appointment_id'], ['appointment.id'], name=op.f('fk_audit_event_appointment_id_appointment'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['visit_id'], ['visit.id'], name=op.f('fk_audit_event_visit_id_visit'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_audit_event'))
    )
    with op.batch_alter_table('audit_event', schema=None) as batch_op:
        batch_op.create_index('ix_audit_event_at', ['at'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('audit_event', schema=None) as batch_op:
        batch_op.drop_index('ix_audit_event_at')

    op.drop_table('audit_event')
    with op.batch_alter_table('visit', schema=None) as batch_op:
        batch_op.drop_index('ix_visit_site_day_status')

    op.drop_table('visit')
    op.drop_table('patient_name_key')
    with op.batch_alter_table('appointment', schema=None) as batch_op:
        batch_op.drop_index('ix_appointment_site_start')
        batch_op.drop_index('ix_appointment_patient_start')

    op.drop_table('appointment')
    op.drop_table('ticket_counter')
    op.drop_table('provider')
    with op.batch_alter_table('patient', schema=None) as batch_op:
        batch_op.drop_index('ix_patient_birth_date')

    op.drop_table('patient')
    op.drop_table('location')
    op.drop_table('site')
    op.drop_table('kiosk_lock')
    with op.batch_alter_table('failed_attempt', schema=None) as batch_op:
        batch_op.drop_index('ix_failed_attempt_kiosk_at')

    op.drop_table('failed_attempt')
