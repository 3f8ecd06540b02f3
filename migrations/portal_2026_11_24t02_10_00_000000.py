"""KPI dashboard: covering indexes for the report's aggregates. Each cohort (tickets created in a
range, tickets solved in a range, appointments starting or made in a range) is counted from one
index range with every filtered and grouped column in the index: no table reads."""

from portal.db import raw_sql_migration

ID = "2026-11-24T02:10:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "report indexes"

STATEMENTS = [
    "CREATE INDEX IF NOT EXISTS ticket_report_created_idx ON ticket "
    "(created_at, team, assignee, category, via, first_response_minutes, first_response_breached)",
    "CREATE INDEX IF NOT EXISTS ticket_report_solved_idx ON ticket "
    "(solved_at, team, assignee, category, via, resolution_minutes, resolution_breached, csat_rating) "
    "WHERE solved_at IS NOT NULL",
    "CREATE INDEX IF NOT EXISTS appointment_report_start_idx ON appointment "
    "(start_at, service, staff, status, end_at, created_at)",
    "CREATE INDEX IF NOT EXISTS appointment_report_created_idx ON appointment (created_at, service, staff)",
]

forwards = raw_sql_migration(ID, DESCRIPTION, STATEMENTS)
