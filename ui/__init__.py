"""Qt screens of the lobby kiosk (patient kiosk, reception, lobby board)."""
