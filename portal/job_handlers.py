"""Every job kind and the function that runs it, in one place.

The job worker knows handlers by kind only and imports no domain; the domains do not register
themselves on import either. ``register_jobs`` runs when the app is built and when ``portal worker``
starts, so a process that runs jobs knows every kind, and a new kind is one line here.
"""

from __future__ import annotations

from portal.accounts import jobs as accounts_jobs
from portal.booking.services import send_reminder
from portal.jobs.queue import purge_done
from portal.jobs.worker import GiveUp, Handler, register
from portal.mail import jobs as mail_jobs
from portal.mailin import imap as mailin_imap
from portal.mailin import process as mailin_process
from portal.tickets import jobs as tickets_jobs
from portal.tickets import sla
from portal.web import stores


async def purge_expired_stores(payload: dict) -> None:
    await stores.purge_expired()


JOBS: list[tuple[str, Handler, GiveUp | None]] = [
    ("accounts.purge_tokens", accounts_jobs.purge_tokens, None),
    ("accounts.password_reset_request", accounts_jobs.password_reset_request, None),
    ("booking.reminder", send_reminder, None),
    ("jobs.purge_done", purge_done, None),
    ("mail.send", mail_jobs.send_mail, mail_jobs.mark_failed),
    ("mail.redact_delivered", mail_jobs.redact_delivered, None),
    ("mailin.imap_poll", mailin_imap.poll_job, None),
    ("mailin.process", mailin_process.process, None),
    ("sla.warn", sla.warn, None),
    ("sla.breach", sla.breach, None),
    ("stores.purge_expired", purge_expired_stores, None),
    ("tickets.close_solved", tickets_jobs.close_solved, None),
    ("tickets.purge_links", tickets_jobs.purge_links, None),
    ("tickets.resend_links", tickets_jobs.resend_links, None),
]


def register_jobs() -> None:
    for kind, function, on_give_up in JOBS:
        register(kind, function, on_give_up)
