"""Security headers on every response, HEAD wherever GET, Server-Timing for staff (or benchmarks)."""

from __future__ import annotations

import re
import time
from collections.abc import Callable

from litestar.datastructures import MutableScopeHeaders
from litestar.enums import ScopeType
from litestar.exceptions import ClientException
from litestar.types import (
    ASGIApp,
    BeforeMessageSendHookHandler,
    HTTPScope,
    Message,
    Receive,
    ReceiveMessage,
    Scope,
    Send,
)
from multipart import MultipartSegment, ParserError, ParserLimitReached, PushMultipartParser

from portal.db import count_queries

CSP = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "connect-src 'self'",
        "font-src 'self'",
        "object-src 'none'",
        "base-uri 'self'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ]
)

HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "X-Frame-Options": "DENY",
    "Permissions-Policy": "camera=(), microphone=(), geolocation=(), payment=()",
    "Cross-Origin-Opener-Policy": "same-origin",
    # Pages show personal data: after logout, Back must not show them from the browser cache.
    # Static files set their own long-lived Cache-Control and keep it.
    "Cache-Control": "no-store",
}


def security_headers_hook(hsts: bool) -> BeforeMessageSendHookHandler:
    """An app-level ``before_send`` hook, not route middleware: Litestar runs route middleware only
    for a matched route, so unrouted 404/405 answers and errors raised before the route would go
    out bare. This hook sees every response the app sends."""

    async def add_security_headers(message: Message, scope: Scope) -> None:
        if message["type"] != "http.response.start":
            return
        headers = MutableScopeHeaders.from_message(message)
        for name, value in HEADERS.items():
            if name not in headers:  # a route's own value wins (static files)
                headers[name] = value
        if hsts:
            headers["Strict-Transport-Security"] = "max-age=31536000; includeSubDomains"

    return add_security_headers


def answer_head_as_get(app: ASGIApp) -> ASGIApp:
    """HEAD is answered wherever GET is (uptime monitors use it): the request runs as a GET, and
    the client gets its status and headers without the body (RFC 9110 9.3.2). Wraps the whole
    app, so every GET route has it without declaring it. A stream (SSE) ends after its headers:
    once the answer is complete, ``receive`` reports the client gone, which stops the stream."""

    async def head_as_get(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != ScopeType.HTTP or scope["method"] != "HEAD":
            await app(scope, receive, send)
            return
        answered = False

        async def send_without_body(message: Message) -> None:
            nonlocal answered
            if answered:
                return
            if message["type"] == "http.response.body":
                answered = True
                message = {"type": "http.response.body", "body": b"", "more_body": False}
            await send(message)

        async def receive_until_answered() -> ReceiveMessage:
            if answered:
                return {"type": "http.disconnect"}
            return await receive()

        # A copy: the server keeps reading its own scope's "HEAD" (uvicorn then sends no body).
        as_get: HTTPScope = {**scope, "method": "GET"}
        await app(as_get, receive_until_answered, send_without_body)

    return head_as_get


def server_timing_middleware(for_everyone: bool) -> Callable[[ASGIApp], ASGIApp]:
    """``Server-Timing: app;dur=<ms>, db;desc="queries";dur=<count>``: what the benchmark reads as
    server-side time, and what a browser's dev tools show. (The query count rides in the ``dur``
    field as Server-Timing has no other numeric field.) Only for signed-in staff, unless
    ``for_everyone`` (``PORTAL_SERVER_TIMING=1``, for benchmarks): to a stranger, time and
    statement count tell which email addresses have an account."""

    def factory(app: ASGIApp) -> ASGIApp:
        async def middleware(scope: Scope, receive: Receive, send: Send) -> None:
            if scope["type"] != ScopeType.HTTP:
                await app(scope, receive, send)
                return
            started = time.perf_counter()
            with count_queries() as queries:

                async def send_with_timing(message: Message) -> None:
                    if message["type"] == "http.response.start" and (for_everyone or _staff(scope)):
                        headers = MutableScopeHeaders.from_message(message)
                        elapsed = (time.perf_counter() - started) * 1000
                        headers["Server-Timing"] = f'app;dur={elapsed:.1f}, db;desc="queries";dur={queries[0]}'
                    await send(message)

                await app(scope, receive, send_with_timing)

        return middleware

    return factory


def _staff(scope: Scope) -> bool:
    """Whether the request is signed in as an agent or admin (``ActorMiddleware`` set ``user``)."""
    return bool(getattr(scope.get("user"), "is_staff", False))


NUL_MESSAGE = "The request contains a character we cannot store (a NUL byte)."
UTF8_MESSAGE = "A form field is not valid UTF-8 text. Reload the page and try again."
_BOUNDARY = re.compile(rb'boundary="?([^";]+)"?', re.IGNORECASE)


class NulInRequest(ClientException):
    detail_is_for_people = True  # the error page shows this detail (others stay generic)


class UnreadableText(ClientException):
    detail_is_for_people = True


class MultipartTextCheck:
    """Follows a multipart body chunk by chunk (nothing buffered but the text fields) and refuses a
    text field (a part without a file name) that holds a NUL byte or is not valid in its charset.
    File contents are left alone: a PDF holds NUL bytes by nature."""

    def __init__(self, boundary: bytes) -> None:
        self.parser: PushMultipartParser | None = PushMultipartParser(boundary)
        self.segment: MultipartSegment | None = None
        self.text: bytearray | None = None

    def feed(self, chunk: bytes) -> None:
        if self.parser is None or not chunk:
            return
        try:
            for part in self.parser.parse(chunk):
                if isinstance(part, MultipartSegment):
                    self.segment, self.text = part, (None if part.filename else bytearray())
                elif part:
                    if self.text is not None:
                        self.text.extend(part)
                elif self.segment is not None:
                    self._check(self.segment, self.text)
                    self.segment = self.text = None
        except (ParserError, ParserLimitReached):
            self.parser = None  # Litestar's own parser answers 400 for a broken body

    @staticmethod
    def _check(segment: MultipartSegment, text: bytearray | None) -> None:
        if text is None:
            return
        if b"\x00" in text:
            raise NulInRequest(detail=NUL_MESSAGE)
        try:
            text.decode(segment.charset or "utf-8")
        except (UnicodeDecodeError, LookupError):
            raise UnreadableText(detail=UTF8_MESSAGE) from None


def reject_nul_middleware(app: ASGIApp) -> ASGIApp:
    """Refuse NUL bytes in the path, the query string and every text field of a form, urlencoded
    or multipart (400 with a message): no text column can hold them (PostgreSQL rejects them
    outright, SQLite would store them), and no person types them. Multipart text fields must also
    decode in their charset (UTF-8 by default). File contents are not text and are left alone."""

    async def middleware(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != ScopeType.HTTP:
            await app(scope, receive, send)
            return
        if "\x00" in scope.get("path", "") or b"%00" in scope.get("raw_path", b""):
            raise NulInRequest(detail=NUL_MESSAGE)
        if b"%00" in scope.get("query_string", b"") or b"\x00" in scope.get("query_string", b""):
            raise NulInRequest(detail=NUL_MESSAGE)
        content_type = dict(scope.get("headers", [])).get(b"content-type", b"")
        if content_type.startswith(b"multipart/form-data") and (boundary := _BOUNDARY.search(content_type)):
            check = MultipartTextCheck(boundary.group(1))

            async def multipart_receive() -> ReceiveMessage:
                message = await receive()
                if message["type"] == "http.request":
                    check.feed(message.get("body", b""))
                return message

            await app(scope, multipart_receive, send)
            return
        if not content_type.startswith(b"application/x-www-form-urlencoded"):
            await app(scope, receive, send)
            return
        tail = b""

        async def checked_receive() -> ReceiveMessage:
            nonlocal tail
            message = await receive()
            if message["type"] == "http.request":
                body = tail + message.get("body", b"")
                if b"%00" in body or b"\x00" in body:
                    raise NulInRequest(detail=NUL_MESSAGE)
                tail = body[-2:]
            return message

        await app(scope, checked_receive, send)

    return middleware
