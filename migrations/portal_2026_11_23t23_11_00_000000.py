"""Booking indexes: overlap lookups per staff member, one seat per customer, unique staff per service."""

from portal.db import raw_sql_migration

ID = "2026-11-23T23:11:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "booking indexes"

STATEMENTS = [
    "CREATE INDEX IF NOT EXISTS appointment_staff_start_idx ON appointment (staff, start_at)",
    "CREATE INDEX IF NOT EXISTS appointment_customer_start_idx ON appointment (customer, start_at)",
    # A customer holds at most one seat of a given session.
    "CREATE UNIQUE INDEX IF NOT EXISTS appointment_seat_uq ON appointment (service, staff, start_at, customer_email) "
    "WHERE status = 'booked'",
    "CREATE UNIQUE INDEX IF NOT EXISTS service_staff_service_staff_uq ON service_staff (service, staff)",
    "CREATE INDEX IF NOT EXISTS weekly_hours_staff_weekday_idx ON weekly_hours (staff, weekday)",
    "CREATE INDEX IF NOT EXISTS date_override_staff_day_idx ON date_override (staff, day)",
    "CREATE INDEX IF NOT EXISTS time_off_staff_start_idx ON time_off (staff, start_at)",
]


forwards = raw_sql_migration(ID, DESCRIPTION, STATEMENTS)
