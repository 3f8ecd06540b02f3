"""Domain errors raised by services; ``portal.web.errors`` turns them into pages or fragments.

Each subclass names its HTTP status and default title in its class line
(``class NotFound(DomainError, status_code=404, title="Not found")``): the table of what an error
means to the web layer stays one line an error."""

from __future__ import annotations


class DomainError(Exception):
    status_code = 400
    title = "Something is not right"

    def __init_subclass__(cls, *, status_code: int | None = None, title: str | None = None, **kwargs: object) -> None:
        """A subclass without the keywords keeps its parent's status and title."""
        super().__init_subclass__(**kwargs)
        cls.status_code = status_code or cls.status_code
        cls.title = title or cls.title

    def __init__(self, message: str = "", *, errors: dict[str, str] | None = None) -> None:
        super().__init__(message or self.title)
        self.message = message or self.title
        self.errors = errors or {}


class NotFound(DomainError, status_code=404, title="Not found"):
    """Missing, or not the actor's to see (the same answer, so ids reveal nothing)."""


class Forbidden(DomainError, status_code=403, title="Not allowed"):
    """The actor sees it but may not do this."""


class Conflict(DomainError, status_code=409, title="Conflict"):
    """The request clashes with what is stored now (a slot just taken)."""


class Invalid(DomainError, status_code=422, title="Please check the form"):
    """Bad input: ``errors`` maps form field names to messages shown beside the field."""


class TooLarge(DomainError, status_code=413, title="Too large"):
    """An upload or body over its limit."""


class Throttled(DomainError, status_code=429, title="Too many attempts"):
    def __init__(self, message: str, retry_after: int) -> None:
        super().__init__(message)
        self.retry_after = max(1, int(retry_after))
