"""Booking back office: the everyone-calendar reads appointments by time across staff."""

from portal.db import raw_sql_migration

ID = "2026-11-24T00:43:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "staff calendar index"

STATEMENTS = [
    "CREATE INDEX IF NOT EXISTS appointment_start_idx ON appointment (start_at)",
]


forwards = raw_sql_migration(ID, DESCRIPTION, STATEMENTS)
