from portal.booking.services import send_reminder
from portal.jobs.worker import handler

handler("booking.reminder")(send_reminder)
