"""the actual wait is derived from the visit (called_at), no longer stored beside it

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-23
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = '0008'
down_revision: str | None = '0007'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('wait_estimate') as batch:
        batch.drop_column('actual')


def downgrade() -> None:
    # Empty again: the previous release fills it when a patient is called.
    with op.batch_alter_table('wait_estimate') as batch:
        batch.add_column(sa.Column('actual', sa.Float(), nullable=True))
