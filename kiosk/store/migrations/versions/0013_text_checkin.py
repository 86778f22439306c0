"""check-in by text message (checkin_method 'text') and the patient's "text me" flag

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-03
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = '0013'
down_revision: str | None = '0012'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BEFORE = sa.Enum('qr', 'name_dob', 'staff', name='checkin_method', native_enum=False,
                 create_constraint=True, length=20)
AFTER = sa.Enum('qr', 'name_dob', 'staff', 'text', name='checkin_method', native_enum=False,
                create_constraint=True, length=20)


def upgrade() -> None:
    with op.batch_alter_table('visit') as batch:
        batch.alter_column('method', existing_type=BEFORE, type_=AFTER, existing_nullable=False)
        batch.add_column(sa.Column('text_when_next', sa.Boolean(), server_default=sa.false(),
                                   nullable=False))


def downgrade() -> None:
    with op.batch_alter_table('visit') as batch:
        batch.drop_column('text_when_next')
        batch.alter_column('method', existing_type=AFTER, type_=BEFORE, existing_nullable=False)
