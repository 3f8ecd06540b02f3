"""One "last seen" row per agent and ticket; customer_replied_at filled in for existing tickets
from their last public customer message (queues mark tickets unread from it)."""

from portal.db import raw_sql_migration

ID = "2026-12-05T17:05:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "ticket_seen unique (ticket, user); backfill ticket.customer_replied_at"

STATEMENTS = [
    'CREATE UNIQUE INDEX IF NOT EXISTS ticket_seen_ticket_user_uq ON ticket_seen (ticket, "user")',
    "UPDATE ticket SET customer_replied_at = (SELECT MAX(m.created_at) FROM message m "
    "WHERE m.ticket = ticket.id AND m.kind = 'public' AND m.author_is_staff = FALSE)",
]


forwards = raw_sql_migration(ID, DESCRIPTION, STATEMENTS)
