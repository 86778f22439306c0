"""Alembic environment: runs inside the kiosk (kiosk.store.db.upgrade), not from an alembic.ini.

The whole upgrade is one transaction that first takes a lock (BEGIN IMMEDIATE on SQLite, an
advisory lock on PostgreSQL), so kiosks starting together migrate once, one after the other.
"""

from alembic import context
from sqlalchemy import text

from kiosk.store.models import Base

MIGRATION_LOCK_KEY = 7_215_401  # arbitrary, fixed: the advisory lock id for schema upgrades

engine = context.config.attributes["engine"]

with engine.execution_options(kiosk_write=True).connect() as connection:
    # SQLite alters a table by copying it and dropping the original; with foreign keys on,
    # that drop deletes or empties the rows that refer to it (a visit's audit, its estimates).
    # The setting cannot change inside a transaction: off before it, checked before the
    # commit, on again after (SQLite's documented procedure for altering a table).
    sqlite = connection.dialect.name == "sqlite"
    raw = connection.connection.dbapi_connection if sqlite else None
    if raw is not None:
        raw.execute("PRAGMA foreign_keys=OFF")
    try:
        with connection.begin():
            if connection.dialect.name == "postgresql":
                connection.execute(text("SELECT pg_advisory_xact_lock(:key)"),
                                   {"key": MIGRATION_LOCK_KEY})
            context.configure(
                connection=connection,
                target_metadata=Base.metadata,
                render_as_batch=True,  # SQLite alters tables by copying them
                transactional_ddl=True,
                compare_type=True,
            )
            context.run_migrations()
            if sqlite:
                broken = connection.exec_driver_sql("PRAGMA foreign_key_check").all()
                if broken:
                    raise RuntimeError(f"the upgrade would break {len(broken)} references "
                                       f"(first: table {broken[0][0]}); nothing was changed")
    finally:
        if raw is not None:
            raw.execute("PRAGMA foreign_keys=ON")
