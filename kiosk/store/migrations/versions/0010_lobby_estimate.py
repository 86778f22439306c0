"""the lobby's wait estimates, one row per provider's line, shared by every window

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-03
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = '0010'
down_revision: str | None = '0009'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('lobby_estimate',
    sa.Column('site_id', sa.String(length=64), nullable=False),
    sa.Column('provider_id', sa.Integer(), nullable=False),
    sa.Column('rule', sa.String(length=32), nullable=False),
    sa.Column('computed_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('waits', sa.JSON(), nullable=False),
    sa.ForeignKeyConstraint(['site_id'], ['site.id'], name=op.f('fk_lobby_estimate_site_id_site')),
    sa.PrimaryKeyConstraint('site_id', 'provider_id', name=op.f('pk_lobby_estimate'))
    )


def downgrade() -> None:
    op.drop_table('lobby_estimate')
