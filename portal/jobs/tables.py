from piccolo.columns import JSON, Integer, Serial, Text, Timestamptz, Varchar
from piccolo.table import Table


class Job(Table, tablename="job"):
    """A durable unit of background work; claimed with a lease, retried with backoff.

    ``unique_key`` (nullable, unique) makes scheduled occurrences idempotent across workers.
    """

    id: Serial  # the primary key Piccolo adds (an annotation only: declared for the type checker)
    kind = Varchar(length=64)
    payload = JSON(default="{}")
    run_at = Timestamptz()
    attempts = Integer(default=0)
    max_attempts = Integer(default=8)
    locked_until = Timestamptz(null=True, default=None)
    locked_by = Varchar(length=64, default="")
    last_error = Text(default="")
    done_at = Timestamptz(null=True, default=None)
    failed_at = Timestamptz(null=True, default=None)
    unique_key = Varchar(length=200, null=True, default=None, unique=True)
    created_at = Timestamptz()
