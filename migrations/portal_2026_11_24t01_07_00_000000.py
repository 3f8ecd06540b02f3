"""Unassigned queue: PostgreSQL cannot order by the (assignee, updated_at) index under
``assignee IS NULL`` (not an equality), and sorted the whole unassigned backlog; a partial index
on the unassigned unsolved tickets gives it the order directly (SQLite uses it too)."""

from portal.db import raw_sql_migration

ID = "2026-11-24T01:07:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "unassigned queue index"

STATEMENTS = [
    "CREATE INDEX IF NOT EXISTS ticket_unassigned_updated_idx ON ticket (updated_at, id) "
    "WHERE status IN ('new', 'open', 'pending', 'on_hold') AND assignee IS NULL",
]

forwards = raw_sql_migration(ID, DESCRIPTION, STATEMENTS)
