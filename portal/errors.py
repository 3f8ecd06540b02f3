"""Domain errors raised by services; ``portal.web.errors`` turns them into pages or fragments."""

from __future__ import annotations


class DomainError(Exception):
    status_code = 400
    title = "Something is not right"

    def __init__(self, message: str = "", *, errors: dict[str, str] | None = None) -> None:
        super().__init__(message or self.title)
        self.message = message or self.title
        self.errors = errors or {}


class NotFound(DomainError):
    status_code = 404
    title = "Not found"


class Forbidden(DomainError):
    status_code = 403
    title = "Not allowed"


class Conflict(DomainError):
    status_code = 409
    title = "Conflict"


class Invalid(DomainError):
    """Bad input: ``errors`` maps form field names to messages shown beside the field."""

    status_code = 422
    title = "Please check the form"


class TooLarge(DomainError):
    status_code = 413
    title = "Too large"


class Throttled(DomainError):
    status_code = 429
    title = "Too many attempts"

    def __init__(self, message: str, retry_after: int) -> None:
        super().__init__(message)
        self.retry_after = max(1, int(retry_after))
