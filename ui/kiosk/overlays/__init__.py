"""Layers over the whole kiosk window: the language chooser and the timeout warning."""
