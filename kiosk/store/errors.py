"""The store's errors, in a module of their own: the screens catch them without loading the
database machinery (SQLAlchemy) before their first frame."""

from __future__ import annotations


class DatabaseUnavailable(RuntimeError):
    """The database cannot be reached or used right now (locked too long, gone, refused)."""
