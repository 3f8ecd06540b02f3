"""iCalendar files for appointments: one stable UID, SEQUENCE raised on every change, METHOD
REQUEST for bookings and moves, CANCEL for cancellations, and a reminder alarm."""

from __future__ import annotations

from datetime import timedelta
from email.utils import parseaddr

from icalendar import Alarm, Calendar, Event, vCalAddress, vText

from portal.clock import utcnow


def calendar_file(appointment: dict, *, method: str, organizer_email: str, site_name: str = "Front Desk") -> bytes:
    calendar = Calendar()
    calendar.add("prodid", "-//Front Desk//Booking//EN")
    calendar.add("version", "2.0")
    calendar.add("method", method)
    event = Event()
    event.add("uid", appointment["uid"])
    event.add("sequence", appointment["sequence"])
    event.add("dtstamp", utcnow())
    event.add("dtstart", appointment["start_at"])
    event.add("dtend", appointment["end_at"])
    event.add("summary", f"{appointment['service_name']} with {appointment['staff_name']}")
    event.add("status", "CANCELLED" if method == "CANCEL" else "CONFIRMED")
    name, address = parseaddr(organizer_email)
    organizer = vCalAddress(f"mailto:{address or organizer_email}")
    organizer.params["cn"] = vText(name or site_name)
    event["organizer"] = organizer
    attendee = vCalAddress(f"mailto:{appointment['customer_email']}")
    attendee.params["cn"] = vText(appointment["customer_name"])
    attendee.params["role"] = vText("REQ-PARTICIPANT")
    event.add("attendee", attendee, encode=False)
    if method != "CANCEL":
        alarm = Alarm()
        alarm.add("action", "DISPLAY")
        alarm.add("description", f"Reminder: {appointment['service_name']}")
        alarm.add("trigger", timedelta(hours=-1))
        event.add_component(alarm)
    calendar.add_component(event)
    return calendar.to_ical()
