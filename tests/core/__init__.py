"""Tests of the core (kiosk/) in one process, on a real SQLite file and a real PostgreSQL server."""
