"""Indexes the ORM cannot express portably: composite uniqueness and the job claim index."""

from portal.db import raw_sql_migration

ID = "2026-11-23T22:31:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "composite unique and partial indexes"

STATEMENTS = [
    "CREATE UNIQUE INDEX IF NOT EXISTS team_member_team_user_uq ON team_member (team, \"user\")",
    # Workers look only at pending jobs, oldest run_at first.
    "CREATE INDEX IF NOT EXISTS job_pending_run_at_idx ON job (run_at) "
    "WHERE done_at IS NULL AND failed_at IS NULL",
    "CREATE INDEX IF NOT EXISTS outbound_mail_status_idx ON outbound_mail (status, created_at)",
]


forwards = raw_sql_migration(ID, DESCRIPTION, STATEMENTS)
