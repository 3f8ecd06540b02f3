"""Composite indexes for the customer's ticket list (keyset by activity) and thread order."""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.engine import engine_finder
from piccolo.querystring import QueryString

ID = "2026-11-23T22:54:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "ticket list and thread indexes"

STATEMENTS = [
    "CREATE INDEX IF NOT EXISTS ticket_requester_updated_idx ON ticket (requester, updated_at, id)",
    "CREATE INDEX IF NOT EXISTS ticket_requester_email_updated_idx ON ticket (requester_email, updated_at, id)",
    "CREATE INDEX IF NOT EXISTS message_ticket_id_idx ON message (ticket, id)",
    "CREATE INDEX IF NOT EXISTS ticket_token_expires_idx ON ticket_token (expires_at)",
]


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="portal", description=DESCRIPTION)

    async def run():
        engine = engine_finder()
        for statement in STATEMENTS:
            await engine.run_querystring(QueryString(statement))

    manager.add_raw(run)
    return manager
