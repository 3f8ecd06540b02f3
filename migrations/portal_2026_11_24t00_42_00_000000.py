"""Agent console: queue indexes, queue tallies kept by triggers, and full-text search tables.

Queues list unsolved tickets newest-updated first; the partial indexes below serve the built-in
views (all open, by assignee or unassigned, by team) without sorting. ``queue_tally`` is kept by
triggers so every write path (including bulk imports) keeps the counts right.
Search: SQLite FTS5 table ``ticket_fts`` (rowid = ticket id); PostgreSQL ``ticket_search`` with a
tsvector and a GIN index. Both are filled by the service layer (``tickets/search.py``).
"""

from portal.db import raw_sql_migration

ID = "2026-11-24T00:42:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "agent console indexes, tallies and search"

UNSOLVED = "status IN ('new', 'open', 'pending', 'on_hold')"

STATEMENTS = [
    "UPDATE ticket SET priority_rank = CASE priority WHEN 'low' THEN 0 WHEN 'high' THEN 2 "
    "WHEN 'urgent' THEN 3 ELSE 1 END",
    f"CREATE INDEX IF NOT EXISTS ticket_unsolved_updated_idx ON ticket (updated_at, id) WHERE {UNSOLVED}",
    f"CREATE INDEX IF NOT EXISTS ticket_unsolved_assignee_idx ON ticket (assignee, updated_at, id) WHERE {UNSOLVED}",
    f"CREATE INDEX IF NOT EXISTS ticket_unsolved_team_idx ON ticket (team, updated_at, id) WHERE {UNSOLVED}",
    "CREATE INDEX IF NOT EXISTS ticket_status_updated_idx ON ticket (status, updated_at, id)",
    "CREATE INDEX IF NOT EXISTS ticket_solved_at_idx ON ticket (solved_at)",
    "CREATE INDEX IF NOT EXISTS ticket_requester_updated_idx ON ticket (requester, updated_at)",
    "CREATE INDEX IF NOT EXISTS ticket_requester_email_updated_idx ON ticket (requester_email, updated_at)",
    "CREATE INDEX IF NOT EXISTS ticket_event_ticket_idx2 ON ticket_event (ticket, id)",
    "CREATE UNIQUE INDEX IF NOT EXISTS ticket_tag_ticket_tag_uq ON ticket_tag (ticket, tag)",
    "CREATE INDEX IF NOT EXISTS ticket_tag_tag_ticket_idx ON ticket_tag (tag, ticket)",
    "CREATE UNIQUE INDEX IF NOT EXISTS team_member_team_user_uq ON team_member (team, \"user\")",
    "CREATE UNIQUE INDEX IF NOT EXISTS queue_tally_key_uq ON queue_tally (status, team, assignee)",
    "INSERT INTO queue_tally (status, team, assignee, n) SELECT status, COALESCE(team, 0), "
    "COALESCE(assignee, 0), COUNT(*) FROM ticket GROUP BY status, COALESCE(team, 0), COALESCE(assignee, 0)",
]

_ADD = ("INSERT INTO queue_tally (status, team, assignee, n) VALUES (NEW.status, COALESCE(NEW.team, 0), "
        "COALESCE(NEW.assignee, 0), 1) ON CONFLICT (status, team, assignee) DO UPDATE SET n = queue_tally.n + 1;")
_REMOVE = ("UPDATE queue_tally SET n = n - 1 WHERE status = OLD.status AND team = COALESCE(OLD.team, 0) "
           "AND assignee = COALESCE(OLD.assignee, 0);")

SQLITE = [
    f"CREATE TRIGGER IF NOT EXISTS ticket_tally_insert AFTER INSERT ON ticket BEGIN {_ADD} END",
    "CREATE TRIGGER IF NOT EXISTS ticket_tally_update AFTER UPDATE OF status, team, assignee ON ticket "
    "WHEN OLD.status IS NOT NEW.status OR OLD.team IS NOT NEW.team OR OLD.assignee IS NOT NEW.assignee "
    f"BEGIN {_REMOVE} {_ADD} END",
    f"CREATE TRIGGER IF NOT EXISTS ticket_tally_delete AFTER DELETE ON ticket BEGIN {_REMOVE} END",
    "CREATE VIRTUAL TABLE IF NOT EXISTS ticket_fts USING fts5(subject, people, body, "
    "tokenize = 'porter unicode61 remove_diacritics 2')",
]

POSTGRES = [
    f"""CREATE OR REPLACE FUNCTION ticket_tally() RETURNS trigger AS $$
    BEGIN
      IF TG_OP IN ('UPDATE', 'DELETE') THEN {_REMOVE} END IF;
      IF TG_OP IN ('UPDATE', 'INSERT') THEN {_ADD} END IF;
      RETURN NULL;
    END $$ LANGUAGE plpgsql""",
    "CREATE TRIGGER ticket_tally_insert AFTER INSERT OR DELETE ON ticket FOR EACH ROW EXECUTE FUNCTION ticket_tally()",
    "CREATE TRIGGER ticket_tally_update AFTER UPDATE OF status, team, assignee ON ticket FOR EACH ROW "
    "WHEN (OLD.status IS DISTINCT FROM NEW.status OR OLD.team IS DISTINCT FROM NEW.team "
    "OR OLD.assignee IS DISTINCT FROM NEW.assignee) EXECUTE FUNCTION ticket_tally()",
    "CREATE TABLE IF NOT EXISTS ticket_search (ticket INTEGER PRIMARY KEY REFERENCES ticket (id) ON DELETE CASCADE, "
    "document TSVECTOR NOT NULL)",
    "CREATE INDEX IF NOT EXISTS ticket_search_document_idx ON ticket_search USING GIN (document)",
]

forwards = raw_sql_migration(ID, DESCRIPTION, STATEMENTS, sqlite=SQLITE, postgres=POSTGRES)
