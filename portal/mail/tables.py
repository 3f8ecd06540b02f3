from piccolo.columns import JSON, BigInt, Boolean, ForeignKey, Integer, OnDelete, Serial, Text, Timestamptz, Varchar
from piccolo.table import Table

from portal.accounts.tables import Team


class OutboundMail(Table, tablename="outbound_mail"):
    """Every message the portal sends, kept as the outbox (status queued|sent|stored|failed)."""

    id: Serial  # the primary key Piccolo adds (an annotation only: declared for the type checker)
    to_address = Varchar(length=254)
    subject = Varchar(length=300)
    body_text = Text()
    body_html = Text()
    template = Varchar(length=64, default="")
    status = Varchar(length=16, default="queued")
    error = Text(default="")
    created_at = Timestamptz(index=True)
    sent_at = Timestamptz(null=True, default=None)
    attachments = JSON(default="[]")  # [{filename, content_type, data (base64)}], e.g. .ics files
    # When the secret links of a delivered mail's bodies were masked (after PORTAL_OUTBOX_RETENTION_DAYS).
    redacted_at = Timestamptz(null=True, default=None)
    # Threading and sending identity (tickets' mails): the From, the thread headers we set
    # (Message-ID, In-Reply-To, References, Reply-To, Auto-Submitted, X-Loop) and the ticket.
    from_address = Varchar(length=320, default="")
    headers = JSON(default="{}")
    ticket = BigInt(null=True, default=None, index=True)  # the ticket's number
    message_id = Varchar(length=255, default="", index=True)  # our Message-ID, without <>
    bounced_at = Timestamptz(null=True, default=None)


class Mailbox(Table, tablename="mailbox"):
    """An address the desk receives at and answers from: mail to it becomes tickets of its team.

    Intake is either the listener (a mail server hands mail over by LMTP/SMTP) or IMAP fetch; the
    IMAP secret is stored encrypted (``mail.secrets``) or named by an environment variable."""

    id: Serial
    address = Varchar(length=254, unique=True)
    name = Varchar(length=120, default="")  # the From name
    team = ForeignKey(references=Team, null=True, on_delete=OnDelete.set_null)
    signature = Text(default="")
    acknowledge = Boolean(default=True)  # send the acknowledgement of a new ticket
    ack_text = Text(default="")  # the acknowledgement's own words (placeholders); empty: the default
    is_active = Boolean(default=True)
    intake = Varchar(length=16, default="listener")  # listener | imap
    imap_host = Varchar(length=255, default="")
    imap_port = Integer(default=993)
    imap_security = Varchar(length=16, default="ssl")  # ssl | starttls | none
    imap_user = Varchar(length=254, default="")
    imap_auth = Varchar(length=16, default="password")  # password | xoauth2
    imap_secret = Text(default="")  # encrypted (Fernet), never shown back
    imap_secret_env = Varchar(length=100, default="")  # or: the variable that holds it
    imap_folder = Varchar(length=200, default="INBOX")
    imap_after = Varchar(length=16, default="seen")  # seen | delete | move
    imap_move_to = Varchar(length=200, default="")
    last_success_at = Timestamptz(null=True, default=None)
    last_error = Text(default="")
    last_error_at = Timestamptz(null=True, default=None)
    created_at = Timestamptz()


class BouncedAddress(Table, tablename="bounced_address"):
    """An address our mail bounced from (shown beside the requester in the console)."""

    id: Serial
    email = Varchar(length=254, unique=True)
    reason = Varchar(length=300, default="")
    bounced_at = Timestamptz()
