"""Composite indexes for the customer's ticket list (keyset by activity) and thread order."""

from portal.db import raw_sql_migration

ID = "2026-11-23T22:54:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "ticket list and thread indexes"

STATEMENTS = [
    "CREATE INDEX IF NOT EXISTS ticket_requester_updated_idx ON ticket (requester, updated_at, id)",
    "CREATE INDEX IF NOT EXISTS ticket_requester_email_updated_idx ON ticket (requester_email, updated_at, id)",
    "CREATE INDEX IF NOT EXISTS message_ticket_id_idx ON message (ticket, id)",
    "CREATE INDEX IF NOT EXISTS ticket_token_expires_idx ON ticket_token (expires_at)",
]


forwards = raw_sql_migration(ID, DESCRIPTION, STATEMENTS)
