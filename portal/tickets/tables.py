"""Tickets: categories (routed to teams), tickets, their messages and attachments, guest links."""

from piccolo.columns import (
    BigInt,
    Boolean,
    ForeignKey,
    Integer,
    OnDelete,
    Serial,
    Text,
    Timestamptz,
    Varchar,
)
from piccolo.table import Table

from portal.accounts.tables import Team, User
from portal.mail.tables import Mailbox


class Category(Table, tablename="category"):
    id: Serial  # the primary key Piccolo adds (an annotation only: declared for the type checker)
    name = Varchar(length=80, unique=True)
    team = ForeignKey(references=Team, null=True, on_delete=OnDelete.set_null)
    position = Integer(default=0)
    is_active = Boolean(default=True)


class Ticket(Table, tablename="ticket"):
    id: Serial
    number = BigInt(unique=True)  # shown as #1234; equals the id unless imported
    subject = Varchar(length=200)
    status = Varchar(length=16, default="new", index=True)
    priority = Varchar(length=16, default="normal")
    priority_rank = Integer(default=1)  # 0 low … 3 urgent: what "sort by priority" orders on
    category = ForeignKey(references=Category, null=True, on_delete=OnDelete.set_null)
    team = ForeignKey(references=Team, null=True, on_delete=OnDelete.set_null, index=True)
    requester = ForeignKey(references=User, null=True, on_delete=OnDelete.restrict, index=True)
    requester_email = Varchar(length=254, index=True)
    requester_name = Varchar(length=120)
    # When the address was proven (a guest link from the mail was first used): only then may a
    # guest ticket join the account with that address.
    requester_email_proven_at = Timestamptz(null=True, default=None)
    assignee = ForeignKey(references=User, null=True, on_delete=OnDelete.set_null, index=True)
    via = Varchar(length=16, default="web")
    created_at = Timestamptz()
    updated_at = Timestamptz(index=True)
    staff_replied_at = Timestamptz(null=True, default=None)  # last public staff message
    customer_seen_at = Timestamptz(null=True, default=None)  # requester last opened the thread
    # The customer's last public message (filing or reply): agents' queues mark it unread for
    # whoever has not opened the ticket since (``TicketSeen``).
    customer_replied_at = Timestamptz(null=True, default=None)
    first_response_at = Timestamptz(null=True, default=None)
    solved_at = Timestamptz(null=True, default=None)
    closed_at = Timestamptz(null=True, default=None)
    csat_rating = Varchar(length=8, null=True, default=None)  # good | bad
    csat_comment = Text(default="")
    csat_at = Timestamptz(null=True, default=None)
    merged_into = BigInt(null=True, default=None)  # the number of the ticket this one was merged into
    # SLA (see tickets/sla.py). Due times are business-time offsets from created_at plus the
    # business minutes spent paused; next_due_at is the earliest target still running (queues).
    sla_policy = Integer(null=True, default=None)
    first_response_due_at = Timestamptz(null=True, default=None)
    resolution_due_at = Timestamptz(null=True, default=None)
    next_due_at = Timestamptz(null=True, default=None)
    sla_paused_at = Timestamptz(null=True, default=None)
    sla_paused_minutes = Integer(default=0)
    first_response_minutes = Integer(null=True, default=None)  # business minutes to the first reply
    resolution_minutes = Integer(null=True, default=None)  # business minutes to solved (pauses out)
    first_response_breached = Boolean(null=True, default=None)
    resolution_breached = Boolean(null=True, default=None)
    mailbox = ForeignKey(references=Mailbox, null=True, on_delete=OnDelete.set_null)  # mail came in here


class Message(Table, tablename="message"):
    id: Serial
    ticket = ForeignKey(references=Ticket, on_delete=OnDelete.restrict, index=True)
    author = ForeignKey(references=User, null=True, on_delete=OnDelete.set_null)
    author_name = Varchar(length=120)
    author_is_staff = Boolean(default=False)
    kind = Varchar(length=16, default="public")  # public | internal | system
    body_source = Text()
    body_html = Text()
    via = Varchar(length=16, default="web")
    created_at = Timestamptz()
    source_mail = Integer(null=True, default=None)  # inbound_mail id: the full original, for mail
    mail_message_id = Varchar(length=255, default="")  # the mail's Message-ID (threads our answers)


class Attachment(Table, tablename="attachment"):
    id: Serial
    ticket = ForeignKey(references=Ticket, on_delete=OnDelete.restrict, index=True)
    message = ForeignKey(references=Message, on_delete=OnDelete.restrict, index=True)
    filename = Varchar(length=160)
    content_type = Varchar(length=100)
    size = BigInt()
    sha256 = Varchar(length=64)
    storage_key = Varchar(length=80)
    created_at = Timestamptz()


class TicketToken(Table, tablename="ticket_token"):
    """A guest link to one ticket: only the SHA-256 is stored; it dies after 30 idle days."""

    id: Serial
    ticket = ForeignKey(references=Ticket, on_delete=OnDelete.cascade, index=True)
    token_hash = Varchar(length=64, unique=True)
    expires_at = Timestamptz()
    last_used_at = Timestamptz(null=True, default=None)
    revoked_at = Timestamptz(null=True, default=None)
    created_at = Timestamptz()


class TicketEvent(Table, tablename="ticket_event"):
    """The ticket's history: who changed what, when, from what to what (and why, for automation)."""

    id: Serial
    ticket = ForeignKey(references=Ticket, on_delete=OnDelete.cascade, index=True)
    actor = ForeignKey(references=User, null=True, on_delete=OnDelete.set_null)
    actor_name = Varchar(length=120)
    field = Varchar(length=32)  # status | priority | category | team | assignee | tags | merge | …
    old_value = Varchar(length=200, default="")
    new_value = Varchar(length=200, default="")
    reason = Varchar(length=200, default="")
    via = Varchar(length=16, default="web")  # the channel the change came through (rules.Channel)
    at = Timestamptz()


class Tag(Table, tablename="tag"):
    id: Serial
    name = Varchar(length=40, unique=True)  # lower-case, no spaces


class TicketTag(Table, tablename="ticket_tag"):
    id: Serial
    ticket = ForeignKey(references=Ticket, on_delete=OnDelete.cascade, index=True)
    tag = ForeignKey(references=Tag, on_delete=OnDelete.cascade, index=True)


class CannedReply(Table, tablename="canned_reply"):
    """A reply template; ``owner`` null = shared by admins with every agent."""

    id: Serial
    title = Varchar(length=120)
    body = Text()
    owner = ForeignKey(references=User, null=True, on_delete=OnDelete.cascade, index=True)
    created_at = Timestamptz()
    updated_at = Timestamptz()
    # A macro: fields set in the same go when the reply is applied (null / "" = leave as is).
    set_status = Varchar(length=16, null=True, default=None)
    set_priority = Varchar(length=16, null=True, default=None)
    set_team = ForeignKey(references=Team, null=True, on_delete=OnDelete.set_null)
    set_tags = Varchar(length=400, null=True, default=None)  # tags to add, comma-separated


class TicketSeen(Table, tablename="ticket_seen"):
    """When an agent last opened a ticket's page: a customer message after that is "unread" for
    them in the queues. One row per (ticket, user) (unique index in the migration)."""

    id: Serial
    ticket = ForeignKey(references=Ticket, on_delete=OnDelete.cascade)
    user = ForeignKey(references=User, on_delete=OnDelete.cascade, index=True)
    seen_at = Timestamptz()


class SavedView(Table, tablename="saved_view"):
    """An agent's queue view (filters + sort); an admin may share one with a team."""

    id: Serial
    owner = ForeignKey(references=User, on_delete=OnDelete.cascade, index=True)
    name = Varchar(length=60)
    query = Varchar(length=1000)  # the filter form's query string, validated when used
    team = ForeignKey(references=Team, null=True, on_delete=OnDelete.cascade, index=True)
    created_at = Timestamptz()


class QueueTally(Table, tablename="queue_tally"):
    """Tickets per (status, team, assignee), kept by database triggers on ``ticket``: queue counts
    read a few dozen rows instead of counting a million. 0 stands for "none" (unique index)."""

    id: Serial
    status = Varchar(length=16)
    team = Integer(default=0)
    assignee = Integer(default=0)
    n = Integer(default=0)


class BusinessCalendar(Table, tablename="business_calendar"):
    """Working hours in a time zone; the site-wide holidays (booking's ``holiday``) close them too."""

    id: Serial
    name = Varchar(length=80, unique=True)
    timezone = Varchar(length=64, default="UTC")
    is_default = Boolean(default=False)


class BusinessHours(Table, tablename="business_hours"):
    id: Serial
    calendar = ForeignKey(references=BusinessCalendar, on_delete=OnDelete.cascade, index=True)
    weekday = Integer()  # 0 = Monday
    start_minute = Integer()
    end_minute = Integer()  # 1440 = midnight at the end of the day


class SlaPolicy(Table, tablename="sla_policy"):
    """Targets for tickets of one priority (and optionally one category), in business minutes."""

    id: Serial
    name = Varchar(length=80)
    priority = Varchar(length=16)
    category = ForeignKey(references=Category, null=True, on_delete=OnDelete.cascade)
    calendar = ForeignKey(references=BusinessCalendar, on_delete=OnDelete.restrict)
    first_response_minutes = Integer(null=True, default=None)
    resolution_minutes = Integer(null=True, default=None)
    pause_when_pending = Boolean(default=True)
    is_active = Boolean(default=True)


class TicketParticipant(Table, tablename="ticket_participant"):
    """An address copied on a ticket (CC): it gets the public replies and may reply by mail."""

    id: Serial
    ticket = ForeignKey(references=Ticket, on_delete=OnDelete.cascade, index=True)
    email = Varchar(length=254)
    name = Varchar(length=120, default="")
    created_at = Timestamptz()
