"""KPI dashboard: weekly ticket rollups kept by triggers, and sample indexes for percentiles.

``ticket_week_stat`` holds, per UTC week (Monday) and per (team, assignee, category, channel) — NULL
stored as 0 — the counts the dashboard sums: tickets created and their first-response SLA met or
breached (counted in the week the ticket was created), tickets solved, their resolution SLA and CSAT
(in the week it was solved). At 1M tickets over 3 years it has ~72k rows, so a year is ~24k rows
instead of ~330k tickets. Triggers on ``ticket`` keep it exact on every write path, like
``queue_tally``. The partial indexes hold 1 ticket in 16 for the duration percentiles of big ranges.
"""

from portal.backoffice.rollup import POSTGRES, SQLITE, STATEMENTS
from portal.db import raw_sql_migration

ID = "2026-11-24T11:00:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "report rollups"

forwards = raw_sql_migration(ID, DESCRIPTION, STATEMENTS, sqlite=SQLITE, postgres=POSTGRES)
