"""Mail as received: every raw message is stored unchanged before anything reads it."""

from piccolo.columns import JSON, BigInt, Bytea, ForeignKey, Integer, OnDelete, Serial, Text, Timestamptz, Varchar
from piccolo.table import Table

from portal.mail.tables import Mailbox


class InboundMail(Table, tablename="inbound_mail"):
    """One received message: the raw bytes as delivered, the envelope, and what became of it.

    status: received (waiting for the parse job) | done | ignored (automatic, bounce, duplicate:
    nothing to answer) | held (the loop breaker stopped it; an admin releases or drops it) |
    failed (parsing raised: an admin retries or drops it) | released (an admin let held mail through:
    processed past the breaker) | dropped."""

    id: Serial
    mailbox = ForeignKey(references=Mailbox, null=True, on_delete=OnDelete.set_null)
    source = Varchar(length=8, default="smtp")  # smtp | lmtp | imap
    envelope_from = Varchar(length=320, default="")
    envelope_to = JSON(default="[]")
    raw_message = Bytea()  # the message exactly as delivered
    size = Integer()
    sha256 = Varchar(length=64)
    received_at = Timestamptz(index=True)
    status = Varchar(length=12, default="received", index=True)
    outcome = Varchar(length=300, default="")  # "new ticket #12", "reply to #12", "out-of-office"
    error = Text(default="")
    attempts = Integer(default=0)
    processed_at = Timestamptz(null=True, default=None)
    # Filled by the parse job:
    message_id = Varchar(length=255, default="")
    # Message-ID + content hash: unique, so a mail delivered twice is processed once.
    dedupe_key = Varchar(length=64, null=True, default=None, unique=True)
    from_address = Varchar(length=254, default="")
    subject = Varchar(length=300, default="")
    ticket = BigInt(null=True, default=None, index=True)  # the ticket's number
