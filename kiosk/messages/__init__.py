"""Messages to patients outside the lobby: appointment confirmations and reminders by email and
text message, the queue on the patient's phone, and check-in by text (issue 19).

A floor of its own between ``sync`` (which writes confirmations in the same transaction as the
appointment change) and ``services`` (check-in by text uses the kiosk's rules)."""
