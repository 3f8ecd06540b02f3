"""Booking: services, who offers them, weekly hours, overrides, holidays, time off, appointments.

Local times of day are stored as minutes from midnight (0–1440) in the staff member's zone
(their ``portal_user.timezone``); instants are UTC.
"""

from piccolo.columns import (
    JSON,
    Boolean,
    Date,
    ForeignKey,
    Integer,
    OnDelete,
    Serial,
    Text,
    Timestamptz,
    Varchar,
)
from piccolo.table import Table

from portal.accounts.tables import User


class Service(Table, tablename="service"):
    id: Serial  # the primary key Piccolo adds (an annotation only: declared for the type checker)
    slug = Varchar(length=80, unique=True)
    name = Varchar(length=120)
    description = Text(default="")
    duration_minutes = Integer(default=30)
    buffer_before_minutes = Integer(default=0)
    buffer_after_minutes = Integer(default=0)
    step_minutes = Integer(default=30)
    min_notice_minutes = Integer(default=120)
    horizon_days = Integer(default=60)
    capacity = Integer(default=1)
    cancel_cutoff_minutes = Integer(default=1440)
    reschedule_cutoff_minutes = Integer(default=1440)
    reminder_offsets = JSON(default="[1440, 60]")  # minutes before the start
    intake_questions = JSON(default="[]")  # [{id, label, kind, required, options}]
    is_active = Boolean(default=True)
    position = Integer(default=0)
    created_at = Timestamptz()


class ServiceStaff(Table, tablename="service_staff"):
    id: Serial
    service = ForeignKey(references=Service, on_delete=OnDelete.cascade, index=True)
    staff = ForeignKey(references=User, on_delete=OnDelete.cascade, index=True)


class WeeklyHours(Table, tablename="weekly_hours"):
    id: Serial
    staff = ForeignKey(references=User, on_delete=OnDelete.cascade, index=True)
    weekday = Integer()  # 0 = Monday
    start_minute = Integer()
    end_minute = Integer()  # 1440 = midnight at the end of the day


class DateOverride(Table, tablename="date_override"):
    """Other hours on one local date; a row with null minutes closes the day."""

    id: Serial
    staff = ForeignKey(references=User, on_delete=OnDelete.cascade, index=True)
    day = Date()
    start_minute = Integer(null=True, default=None)
    end_minute = Integer(null=True, default=None)


class Holiday(Table, tablename="holiday"):
    id: Serial
    day = Date(unique=True)
    name = Varchar(length=120)


class TimeOff(Table, tablename="time_off"):
    id: Serial
    staff = ForeignKey(references=User, on_delete=OnDelete.cascade, index=True)
    start_at = Timestamptz()
    end_at = Timestamptz()
    reason = Varchar(length=200, default="")


class Appointment(Table, tablename="appointment"):
    id: Serial
    service = ForeignKey(references=Service, on_delete=OnDelete.restrict, index=True)
    staff = ForeignKey(references=User, on_delete=OnDelete.restrict, index=True)
    customer = ForeignKey(references=User, null=True, on_delete=OnDelete.restrict, index=True)
    customer_name = Varchar(length=120)
    customer_email = Varchar(length=254, index=True)
    # When the address was proven (the manage link from the mail was first used): only then may a
    # guest booking join the account with that address.
    customer_email_proven_at = Timestamptz(null=True, default=None)
    customer_phone = Varchar(length=40, default="")
    customer_timezone = Varchar(length=64, default="UTC")
    answers = JSON(default="{}")
    note = Text(default="")
    start_at = Timestamptz()
    end_at = Timestamptz()
    status = Varchar(length=16, default="booked")  # booked | cancelled | completed | no_show
    seats = Integer(default=1)
    uid = Varchar(length=100, unique=True)  # iCalendar UID, stable across changes
    sequence = Integer(default=0)  # iCalendar SEQUENCE, +1 on each change
    manage_token_hash = Varchar(length=64, unique=True)
    cancel_reason = Text(default="")
    staff_note = Text(default="")  # internal: staff only, never mailed
    booked_by = ForeignKey(references=User, null=True, on_delete=OnDelete.set_null)  # staff, for phone bookings
    cancelled_at = Timestamptz(null=True, default=None)
    created_at = Timestamptz()
    updated_at = Timestamptz()


class StaffFeed(Table, tablename="staff_feed"):
    """A staff member's iCal subscription: only the SHA-256 of the secret URL token is stored.
    One row per staff member; regenerating replaces the hash, revoking deletes the row."""

    id: Serial
    staff = ForeignKey(references=User, on_delete=OnDelete.cascade, unique=True)
    token_hash = Varchar(length=64, unique=True)
    created_at = Timestamptz()
    last_used_at = Timestamptz(null=True, default=None)
