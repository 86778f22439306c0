"""help requests name the visit when the patient had checked in

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-23
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = '0006'
down_revision: str | None = '0005'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # batch mode: SQLite cannot add a foreign key to an existing table in place.
    with op.batch_alter_table('help_request') as batch:
        batch.add_column(sa.Column('visit_id', sa.Integer(), nullable=True))
        batch.create_foreign_key(op.f('fk_help_request_visit_id_visit'), 'visit',
                                 ['visit_id'], ['id'])


def downgrade() -> None:
    with op.batch_alter_table('help_request') as batch:
        batch.drop_constraint(op.f('fk_help_request_visit_id_visit'), type_='foreignkey')
        batch.drop_column('visit_id')
