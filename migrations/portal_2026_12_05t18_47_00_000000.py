"""Indexes of the mail channel: one CC row per ticket and address; the loop breaker's and the
acknowledgement budget's look-backs (per sender, per address, by time)."""

from portal.db import raw_sql_migration

ID = "2026-12-05T18:47:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "ticket_participant unique (ticket, email); inbound_mail (from_address, received_at); outbound_mail (to_address, created_at)"

STATEMENTS = [
    "CREATE UNIQUE INDEX IF NOT EXISTS ticket_participant_ticket_email_uq ON ticket_participant (ticket, email)",
    "CREATE INDEX IF NOT EXISTS inbound_mail_from_received ON inbound_mail (from_address, received_at)",
    "CREATE INDEX IF NOT EXISTS outbound_mail_to_created ON outbound_mail (to_address, created_at)",
    "CREATE INDEX IF NOT EXISTS ticket_participant_email ON ticket_participant (email)",
]


forwards = raw_sql_migration(ID, DESCRIPTION, STATEMENTS)
