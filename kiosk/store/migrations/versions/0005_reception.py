"""reception: staff, help requests, kiosk heartbeats, the change counter

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-23
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = '0005'
down_revision: str | None = '0004'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('help_request',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('site_id', sa.String(length=64), nullable=False),
    sa.Column('kiosk_id', sa.String(length=64), nullable=False),
    sa.Column('step', sa.String(length=32), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('acknowledged_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('acknowledged_by', sa.String(length=64), nullable=True),
    sa.ForeignKeyConstraint(['site_id'], ['site.id'], name=op.f('fk_help_request_site_id_site')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_help_request'))
    )
    op.create_index('ix_help_request_open', 'help_request', ['site_id', 'acknowledged_at'], unique=False)
    op.create_table('kiosk_heartbeat',
    sa.Column('site_id', sa.String(length=64), nullable=False),
    sa.Column('kiosk_id', sa.String(length=64), nullable=False),
    sa.Column('last_seen', sa.DateTime(timezone=True), nullable=False),
    sa.Column('started_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('version', sa.String(length=32), nullable=False),
    sa.ForeignKeyConstraint(['site_id'], ['site.id'], name=op.f('fk_kiosk_heartbeat_site_id_site')),
    sa.PrimaryKeyConstraint('site_id', 'kiosk_id', name=op.f('pk_kiosk_heartbeat'))
    )
    op.create_table('site_change',
    sa.Column('site_id', sa.String(length=64), nullable=False),
    sa.Column('seq', sa.BigInteger(), nullable=False),
    sa.ForeignKeyConstraint(['site_id'], ['site.id'], name=op.f('fk_site_change_site_id_site')),
    sa.PrimaryKeyConstraint('site_id', name=op.f('pk_site_change'))
    )
    op.create_table('staff_member',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('site_id', sa.String(length=64), nullable=False),
    sa.Column('name', sa.String(length=64), nullable=False),
    sa.Column('role', sa.Enum('staff', 'admin', name='staff_role', native_enum=False, create_constraint=True, length=20), nullable=False),
    sa.Column('pin_hash', sa.String(length=200), nullable=False),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('failed_attempts', sa.Integer(), nullable=False),
    sa.Column('locked_until', sa.DateTime(timezone=True), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['site_id'], ['site.id'], name=op.f('fk_staff_member_site_id_site')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_staff_member')),
    sa.UniqueConstraint('site_id', 'name', name=op.f('uq_staff_member_site_id_name'))
    )


def downgrade() -> None:
    op.drop_table('staff_member')
    op.drop_table('site_change')
    op.drop_table('kiosk_heartbeat')
    op.drop_index('ix_help_request_open', table_name='help_request')
    op.drop_table('help_request')
