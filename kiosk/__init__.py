"""Lobby kiosk: the Qt-free core (check-in engine, queue, schedule, CLI)."""

__version__ = "0.1.0"
