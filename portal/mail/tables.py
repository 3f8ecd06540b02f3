from piccolo.columns import JSON, Serial, Text, Timestamptz, Varchar
from piccolo.table import Table


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
