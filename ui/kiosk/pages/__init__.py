"""The kiosk's pages, one per step of the flow (or a few steps sharing one kind of page)."""
