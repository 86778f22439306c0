"""a counter of its own for stores of the lobby's wait estimates (site_change.waits_seq)

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-03
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = '0012'
down_revision: str | None = '0011'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('site_change') as batch:
        batch.add_column(sa.Column('waits_seq', sa.BigInteger(), server_default='0',
                                   nullable=False))


def downgrade() -> None:
    with op.batch_alter_table('site_change') as batch:
        batch.drop_column('waits_seq')
