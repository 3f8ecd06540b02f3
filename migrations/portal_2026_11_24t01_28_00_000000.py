"""SLA queues: overdue / breaching-soon views and the due-time sort read unsolved tickets by
``next_due_at``; the default business calendar (Monday–Friday 09:00–17:00, UTC until an admin
sets the site's zone) exists from the start so policies can point at it."""

from portal.db import raw_sql_migration

ID = "2026-11-24T01:28:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "sla indexes and default calendar"

STATEMENTS = [
    "CREATE INDEX IF NOT EXISTS ticket_next_due_idx ON ticket (next_due_at, id) "
    "WHERE status IN ('new', 'open', 'pending', 'on_hold') AND next_due_at IS NOT NULL",
    "CREATE INDEX IF NOT EXISTS ticket_created_at_idx ON ticket (created_at)",
    "CREATE UNIQUE INDEX IF NOT EXISTS sla_policy_priority_category_uq ON sla_policy (priority, COALESCE(category, 0))",
    "INSERT INTO business_calendar (name, timezone, is_default) SELECT 'Office hours', 'UTC', TRUE "
    "WHERE NOT EXISTS (SELECT 1 FROM business_calendar)",
    *[f"INSERT INTO business_hours (calendar, weekday, start_minute, end_minute) SELECT c.id, {day}, 540, 1020 "
      "FROM business_calendar c WHERE c.name = 'Office hours' AND NOT EXISTS "
      f"(SELECT 1 FROM business_hours h WHERE h.calendar = c.id AND h.weekday = {day})"
      for day in range(5)],
]

forwards = raw_sql_migration(ID, DESCRIPTION, STATEMENTS)
