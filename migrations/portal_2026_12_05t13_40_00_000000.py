"""Outbox retention: the hourly redaction finds delivered, not yet redacted mail by its delivery
time without scanning the whole outbox (a partial index: both engines support ``WHERE``)."""

from portal.db import raw_sql_migration

ID = "2026-12-05T13:40:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "outbox redaction index"

forwards = raw_sql_migration(ID, DESCRIPTION, [
    "CREATE INDEX IF NOT EXISTS outbound_mail_unredacted_sent_at ON outbound_mail (sent_at) "
    "WHERE redacted_at IS NULL AND sent_at IS NOT NULL",
])
