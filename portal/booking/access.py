"""Which staff calendars and appointments a staff member may see: admins every one, agents their own.

The one rule for appointments in the back office (the calendar, an appointment's page, the phone
booking form, calendar feeds). Beside a ticket, every agent sees that the customer has appointments
(when, what, with whom: the desk needs that context), but opens only those this rule allows.
"""

from __future__ import annotations

from portal.accounts.rules import Actor


def sees_calendar_of(actor: Actor, staff_id: int | None) -> bool:
    return actor.is_staff and (actor.is_admin or staff_id == actor.id)
