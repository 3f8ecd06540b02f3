"""Staff lookups (the console's assignee menus, round-robin): with a hundred thousand customers the
planners estimated a third of all users per role and scanned the table; a partial index over staff
rows is small and matches the ``role IN ('agent', 'admin')`` the queries use."""

from portal.db import raw_sql_migration

ID = "2026-11-24T01:20:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "staff index"

STATEMENTS = [
    "CREATE INDEX IF NOT EXISTS portal_user_staff_idx ON portal_user (name) WHERE role IN ('agent', 'admin')",
]

forwards = raw_sql_migration(ID, DESCRIPTION, STATEMENTS)
