"""name keys across scripts: every patient's family name keys rebuilt with the loose keys of
its Latin spellings (Pinyin, Korean romanizations, Hindi and Cyrillic transliterations)

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-03
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from kiosk.domain.names import name_keys

revision: str = '0009'
down_revision: str | None = '0008'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BATCH = 1000

patient = sa.table('patient', sa.column('id', sa.Integer), sa.column('family_name', sa.String))
name_key = sa.table('patient_name_key', sa.column('key', sa.String),
                    sa.column('patient_id', sa.Integer))


def rebuild() -> None:
    connection = op.get_bind()
    connection.execute(sa.delete(name_key))
    last = 0
    while True:
        rows = connection.execute(
            sa.select(patient.c.id, patient.c.family_name).where(patient.c.id > last)
            .order_by(patient.c.id).limit(BATCH)).all()
        if not rows:
            return
        keys = [{'key': key, 'patient_id': row_id}
                for row_id, family in rows for key in name_keys(family)]
        if keys:
            connection.execute(sa.insert(name_key), keys)
        last = rows[-1][0]


def upgrade() -> None:
    rebuild()


def downgrade() -> None:
    # The previous release reads only the exact keys; the loose ones (prefixed ~) go.
    op.execute(sa.delete(name_key).where(name_key.c.key.like('~%')))
