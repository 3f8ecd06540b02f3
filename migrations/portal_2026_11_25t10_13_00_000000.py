"""An address is trusted only once its owner proves it: when a guest ticket's or a guest
appointment's address was proven (its link from the mail was first used). Only then can the ticket
or appointment join an account with that address."""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.columns.column_types import Timestamptz
from piccolo.columns.indexes import IndexMethod

ID = "2026-11-25T10:13:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "proven guest addresses"

_PARAMS = {
    "default": None,
    "null": True,
    "primary_key": False,
    "unique": False,
    "index": False,
    "index_method": IndexMethod.btree,
    "choices": None,
    "db_column_name": None,
    "secret": False,
}


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="portal", description=DESCRIPTION)
    for table_class_name, tablename, column_name in (
        ("Ticket", "ticket", "requester_email_proven_at"),
        ("Appointment", "appointment", "customer_email_proven_at"),
    ):
        manager.add_column(
            table_class_name=table_class_name,
            tablename=tablename,
            column_name=column_name,
            db_column_name=column_name,
            column_class_name="Timestamptz",
            column_class=Timestamptz,
            params=dict(_PARAMS),
            schema=None,
        )
    return manager
