"""A raw inbound mail into plain data: addresses, threading ids, text, the reply without its quoted
history, attachments, whether a machine sent it, and delivery failures.

Pure and synchronous: bytes in, a frozen ``ParsedMail`` out, no database, no clock. The intake calls it
from ``asyncio.to_thread``. Nothing here trusts the mail: size and structure are capped first (``Limits``,
``MailRejected``); charsets are repaired rather than believed (``charsets``); the ``email`` package parses
(``policy.default``, made tolerant), but header values are read raw, because its header objects raise on
some malformed input (``headers``). Any other exception escaping ``parse`` is a bug (the tests fuzz it).
The HTML is returned as sent: sanitizing it is the renderer's job. No ``X-Portal-*`` header is ever read:
a sender can forge any of them.
"""

from __future__ import annotations

import hashlib
import io
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from email import message_from_bytes, policy
from email.generator import BytesGenerator
from email.message import EmailMessage, Message
from typing import TYPE_CHECKING

from portal.mail import threads
from portal.mailin import headers as hdr
from portal.mailin.charsets import (
    clean_text,
    decode_bytes,
    decode_header,
    decode_word,
    header_needs_guess,
    one_line,
    repair_surrogates,
)
from portal.mailin.dsn import Bounce, find_bounce
from portal.mailin.htmltext import html_to_text
from portal.mailin.quotes import strip_html, strip_text

__all__ = [
    "REPLY_MARKER",
    "Bounce",
    "Limits",
    "MailPart",
    "MailRejected",
    "ParsedMail",
    "automatic_reason",
    "content_hash",
    "html_to_text",
    "parse",
]

REPLY_MARKER = threads.REPLY_MARKER  # the first line of our ticket mails (one definition, in mail.threads)


@dataclass(frozen=True)
class Limits:
    """Caps on what one mail may cost; a mail over the first four is refused whole (``MailRejected``),
    the rest are cut with a note in ``ParsedMail.repairs``."""

    max_bytes: int = 25 * 1024 * 1024
    max_parts: int = 100  # MIME parts, containers included
    max_headers: int = 500  # header fields in any one part
    max_depth: int = 8  # multipart/message nesting below the top level
    max_attachments: int = 20  # more are dropped
    max_text_chars: int = 200_000  # text (and the reply text) is cut there
    max_html_chars: int = 1_000_000  # HTML is cut there


class MailRejected(Exception):
    """The mail breaks a cap in ``Limits``; ``reason`` is a sentence for admins."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class MailPart:
    """An attachment, or an image the HTML shows inline."""

    filename: str  # decoded, without directories; generated ("part-3.pdf") when the mail names none
    content_type: str  # lower-cased
    data: bytes
    content_id: str  # without <>, "" when none
    inline: bool  # the HTML body shows it through "cid:<content_id>"


@dataclass(frozen=True)
class ParsedMail:
    message_id: str  # without <>, "" when missing
    in_reply_to: tuple[str, ...]  # ids without <>
    references: tuple[str, ...]  # ids without <>; the first and the latest 99 of longer lists
    from_address: str  # addr-spec, lower-cased; "" when unparseable
    from_name: str
    reply_to: str  # the first Reply-To address, lower-cased; "" when none
    to: tuple[str, ...]  # lower-cased addresses, names dropped
    cc: tuple[str, ...]
    delivered_to: tuple[str, ...]  # Delivered-To, X-Original-To and Envelope-To values, lower-cased
    subject: str  # one line, decoded
    date: datetime | None  # aware, UTC
    text: str  # the whole plain text (from the HTML when the mail has no text part)
    html: str  # the whole HTML as sent, NOT sanitized; "" when none
    reply_text: str  # text without quoted history and our marker; the whole text when that leaves nothing
    reply_html: str  # html without quoted history, NOT sanitized; "" when no html
    attachments: tuple[MailPart, ...]  # inline cid images included
    automatic: str  # "" when a person wrote it, else the reasons, e.g. "Auto-Submitted: auto-replied"
    bounce: Bounce | None  # set for delivery-status reports
    repairs: tuple[str, ...]  # what was guessed or cut, for admins


def parse(
    raw: bytes,
    *,
    envelope_from: str | None = None,
    limits: Limits = Limits(),  # noqa: B008 - frozen, so one shared default is safe
    reply_marker: str = REPLY_MARKER,
    our_loop_ids: frozenset[str] = frozenset(),
) -> ParsedMail:
    """Read one raw mail (RFC 5322 bytes, CRLF or LF). ``envelope_from`` is the SMTP MAIL FROM when
    known ("" for the null sender). Raises ``MailRejected`` when a cap is broken, nothing else."""
    msg = _read(raw, limits)
    repairs: list[str] = []
    numbers = {id(part): number for number, (part, _) in enumerate(_walk(msg), start=1)}
    plain_parts, html_parts = _body_parts(msg, "plain"), _body_parts(msg, "html")
    text, html, reply_text, reply_html = _bodies(plain_parts, html_parts, numbers, limits, reply_marker, repairs)
    _header_text(msg, "From", repairs)  # notes a guessed charset in the sender's name
    senders = hdr.addresses(msg, "from")
    return ParsedMail(
        message_id=hdr.message_id(msg),
        in_reply_to=hdr.message_ids(msg, "in-reply-to"),
        references=hdr.message_ids(msg, "references"),
        from_address=senders[0][1] if senders else "",
        from_name=senders[0][0] if senders else "",
        reply_to=next(iter(hdr.address_list(msg, "reply-to")), ""),
        to=hdr.address_list(msg, "to"),
        cc=hdr.address_list(msg, "cc"),
        delivered_to=hdr.address_list(msg, "delivered-to", "x-original-to", "envelope-to"),
        subject=_capped(_header_text(msg, "Subject", repairs), 998, "subject", repairs),
        date=hdr.date(msg),
        text=text,
        html=html,
        reply_text=reply_text,
        reply_html=reply_html,
        attachments=_attachments(msg, set(map(id, plain_parts + html_parts)), html, numbers, limits, repairs),
        automatic=automatic_reason(msg, envelope_from, our_loop_ids),
        bounce=find_bounce(msg),
        repairs=tuple(repairs),
    )


def _bodies(
    plain_parts: list[Message],
    html_parts: list[Message],
    numbers: dict[int, int],
    limits: Limits,
    marker: str,
    repairs: list[str],
) -> tuple[str, str, str, str]:
    """text, html, reply_text, reply_html. Without a text part the text comes from the HTML, and so does
    the reply text (cut by the HTML's structure, which is more reliable than lines)."""
    plain = _join(_part_text(part, numbers[id(part)], repairs) for part in plain_parts)
    html = _join(_part_text(part, numbers[id(part)], repairs) for part in html_parts)
    html = _capped(html, limits.max_html_chars, "HTML", repairs)
    text = _capped(plain if plain_parts else html_to_text(html), limits.max_text_chars, "text", repairs)
    reply_html = strip_html(html, marker) if html else ""
    if plain_parts or not html:
        reply_text = strip_text(text, marker)
    elif reply_html == html:  # nothing was cut
        reply_text = text
    else:
        reply_text = _capped(html_to_text(reply_html), limits.max_text_chars, "reply text", repairs)
    return text, html, reply_text, reply_html


def _header_text(msg: Message, name: str, repairs: list[str]) -> str:
    raw = hdr.first_value(msg, name)
    if header_needs_guess(raw):
        repairs.append(f"charset guessed for the {name} header")
    return decode_header(raw)


# -- caps


_CONTAINER_LINE = re.compile(rb"(?im)^content-type:[ \t]*(?:\r?\n[ \t]+)?[\"']?(?:multipart|message)/")


def _read(raw: bytes, limits: Limits) -> EmailMessage:
    if len(raw) > limits.max_bytes:
        raise MailRejected(
            f"The mail has {_megabytes(len(raw))}; mails over {_megabytes(limits.max_bytes)} are refused."
        )
    # Python's parser recurses once per nesting level, and slows down quadratically on the way: count the
    # container headers first, so a mail nested thousands deep is refused before it is parsed.
    containers = sum(1 for _ in _CONTAINER_LINE.finditer(raw))
    if containers > limits.max_parts:
        raise MailRejected(f"The mail has more than {limits.max_parts} parts.")
    try:
        msg = message_from_bytes(raw, policy=hdr.POLICY)
    except RecursionError:
        raise MailRejected(f"The mail nests its parts more than {limits.max_depth} levels deep.") from None
    _check_structure(msg, limits)
    return msg


def _megabytes(size: int) -> str:
    return f"{size / 1024 / 1024:.1f} MB"


def _check_structure(msg: Message, limits: Limits) -> None:
    for count, (part, depth) in enumerate(_walk(msg, into_messages=True), start=1):
        if count > limits.max_parts:
            raise MailRejected(f"The mail has more than {limits.max_parts} parts.")
        if depth > limits.max_depth:
            raise MailRejected(f"The mail nests its parts more than {limits.max_depth} levels deep.")
        if len(part) > limits.max_headers:
            raise MailRejected(f"A part of the mail has more than {limits.max_headers} header fields.")


def _walk(msg: Message, *, into_messages: bool = False) -> Iterator[tuple[Message, int]]:
    """Every part in document order with its depth, without recursion; attached mails (message/*)
    are entered only when asked."""
    stack: list[tuple[Message, int]] = [(msg, 0)]
    while stack:
        part, depth = stack.pop()
        yield part, depth
        payload = part.get_payload()
        if isinstance(payload, list) and (into_messages or part.get_content_maintype() != "message"):
            stack.extend((child, depth + 1) for child in reversed(payload) if isinstance(child, Message))


def _capped(text: str, limit: int, what: str, repairs: list[str]) -> str:
    if len(text) <= limit:
        return text
    repairs.append(f"{what} cut to {limit} characters")
    return text[:limit]


# -- bodies


def _body_parts(part: Message, want: str) -> list[Message]:
    """The text/``want`` parts that make the body, in order (depth is capped, so recursion is safe)."""
    kind = part.get_content_type()
    payload = part.get_payload()
    if isinstance(payload, list):
        children = [child for child in payload if isinstance(child, Message)]
        if part.get_content_maintype() == "message" or kind == "multipart/encrypted" or not children:
            return []
        if kind == "multipart/alternative":  # the last alternative that has one is the richest
            return next((found for child in reversed(children) if (found := _body_parts(child, want))), [])
        if kind in ("multipart/related", "multipart/report", "multipart/signed"):
            return _body_parts(_related_root(part, children) if kind == "multipart/related" else children[0], want)
        return [found for child in children for found in _body_parts(child, want)]
    if kind == f"text/{want}" and _is_body_text(part):
        return [part]
    return []


def _related_root(part: Message, children: list[Message]) -> Message:
    start = _param(part, "start").strip("<> ")
    if start:
        for child in children:
            if hdr.first_value(child, "content-id").strip("<> ") == start:
                return child
    return children[0]


def _is_body_text(part: Message) -> bool:
    return part.get_content_disposition() != "attachment" and not part.get_filename()


def _part_text(part: Message, number: int, repairs: list[str]) -> str:
    data = part.get_payload(decode=True)
    if not isinstance(data, bytes):
        return ""
    declared = part.get_content_charset() or ""
    text, used = decode_bytes(data, declared)
    if used:
        repairs.append(f"charset guessed as {used} for part {number}" + (f" (declared {declared})" if declared else ""))
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    if part.get_content_subtype() == "plain" and _param(part, "format").lower() == "flowed":
        text = _unflow(text, delsp=_param(part, "delsp").lower() == "yes")
    return clean_text(text)


def _join(texts: Iterator[str]) -> str:
    return "\n".join(text for text in texts if text)


def _param(part: Message, name: str, header: str = "content-type") -> str:
    value = part.get_param(name, header=header)
    if isinstance(value, tuple):
        value = value[2]
    return one_line(str(value)) if value else ""


def _unflow(text: str, *, delsp: bool) -> str:
    """RFC 3676 format=flowed: a line ending in a space goes on with the next line of the same depth."""
    out: list[str] = []
    pending: str | None = None
    pending_depth = 0
    for line in text.split("\n"):
        depth = len(line) - len(line.lstrip(">"))
        content = line[depth:]
        content = content[1:] if content.startswith(" ") else content  # space-stuffing
        if pending is not None:
            if depth == pending_depth:
                content = pending + content
            else:
                out.append(_quoted(pending_depth, pending))
            pending = None
        if content.endswith(" ") and content != "-- ":
            pending, pending_depth = (content[:-1] if delsp else content), depth
        else:
            out.append(_quoted(depth, content))
    if pending is not None:
        out.append(_quoted(pending_depth, pending))
    return "\n".join(out)


def _quoted(depth: int, content: str) -> str:
    return ">" * depth + " " + content if depth else content


# -- attachments


_EXTENSIONS = {
    "application/pdf": ".pdf",
    "image/png": ".png",
    "image/jpeg": ".jpg",
    "image/gif": ".gif",
    "image/webp": ".webp",
    "text/calendar": ".ics",
    "text/plain": ".txt",
    "text/html": ".html",
    "message/rfc822": ".eml",
    "message/global": ".eml",
}
_NOT_ATTACHMENTS = {"message/delivery-status", "message/global-delivery-status", "text/rfc822-headers"}
if TYPE_CHECKING:
    _BytesGenerator = BytesGenerator[Message]
else:
    _BytesGenerator = BytesGenerator
_RAW = policy.compat32.clone(max_line_length=0, linesep="\r\n")
_UNSAFE_NAME = re.compile(r'[\\/:*?"<>|\x00-\x1f\x7f]+')


def _attachments(
    msg: Message, bodies: set[int], html: str, numbers: dict[int, int], limits: Limits, repairs: list[str]
) -> tuple[MailPart, ...]:
    found: list[MailPart] = []
    for part, _ in _walk(msg):
        if id(part) in bodies or not _is_attachment(part):
            continue
        attachment = _attachment(part, numbers[id(part)], html)
        if len(found) < limits.max_attachments:
            found.append(attachment)
        else:
            repairs.append(f"attachment {attachment.filename} dropped: over the limit of {limits.max_attachments}")
    return tuple(found)


def _is_attachment(part: Message) -> bool:
    kind = part.get_content_type()
    if kind in ("message/rfc822", "message/global"):
        return True
    if isinstance(part.get_payload(), list) or kind in _NOT_ATTACHMENTS:
        return False
    if part.get_filename() or part.get_content_disposition() == "attachment" or _content_id(part):
        return True
    return part.get_content_maintype() not in ("text", "message") or kind == "text/calendar"


def _attachment(part: Message, number: int, html: str) -> MailPart:
    kind = part.get_content_type()
    content_id = _content_id(part)
    if kind in ("message/rfc822", "message/global"):
        data, default = _message_bytes(part)
    else:
        payload = part.get_payload(decode=True)
        data, default = (payload if isinstance(payload, bytes) else b""), ""
    name = _safe_filename(_filename(part)) or default or f"part-{number}{_EXTENSIONS.get(kind, '.bin')}"
    inline = bool(content_id) and f"cid:{content_id}".lower() in html.lower()
    kind = kind if kind.isascii() and kind.isprintable() else "application/octet-stream"
    return MailPart(filename=name, content_type=kind, data=data, content_id=content_id, inline=inline)


def _filename(part: Message) -> str:
    """The decoded file name: RFC 2231 (in any charset, even an unknown one) or encoded words (Gmail)."""
    for param, header in (("filename", "content-disposition"), ("name", "content-type")):
        value = _raw_param(part, header, param)
        if isinstance(value, tuple):  # RFC 2231: (charset, language, %-decoded text as latin-1 characters)
            name = decode_word(value[0] or "us-ascii", _latin1_bytes(str(value[2])))
        else:
            name = decode_header(str(value or ""))
        if name:
            return name
    return ""


def _raw_param(part: Message, header: str, name: str) -> str | tuple[str | None, str | None, str] | None:
    """A parameter as sent. (The policy's header objects re-render RFC 2231 values already decoded, with
    U+FFFD for a charset they do not know; a compat32 Message keeps them raw.)"""
    holder = Message()
    for value in hdr.raw_values(part, header)[:1]:
        holder[header] = value
    return holder.get_param(name, header=header)


def _latin1_bytes(text: str) -> bytes:
    try:
        return text.encode("latin-1")
    except UnicodeEncodeError:
        return text.encode("utf-8", "surrogateescape") if text.isascii() else text.encode("utf-8", "replace")


def _content_id(part: Message) -> str:
    return one_line(repair_surrogates(hdr.first_value(part, "content-id"))).strip("<>").strip()


def _message_bytes(part: Message) -> tuple[bytes, str]:
    """An attached mail as .eml bytes, and a file name from its subject."""
    payload = part.get_payload()
    inner = payload[0] if isinstance(payload, list) and payload else None
    if not isinstance(inner, Message):
        return b"", ""
    buffer = io.BytesIO()
    _EmlWriter(buffer, mangle_from_=False, policy=_RAW).flatten(inner)
    subject = _safe_filename(hdr.text_value(inner, "subject"))[:100].strip()
    return buffer.getvalue(), (subject or "message") + ".eml"


class _EmlWriter(_BytesGenerator):
    """BytesGenerator writing its text as utf-8 rather than ascii: a broken multipart (no closing
    boundary) keeps its body as text, and ``get_payload()`` turns its 8-bit bytes into U+FFFD, which the
    stock generator cannot write."""

    def write(self, s: str) -> None:
        self._fp.write(s.encode("utf-8", "surrogateescape"))  # type: ignore[attr-defined]


def _safe_filename(name: str) -> str:
    """The last path segment, without characters file systems refuse."""
    name = re.split(r"[\\/]", name)[-1]
    return one_line(_UNSAFE_NAME.sub("_", name)).strip(" .")[:200]


# -- automatic mail

_PRECEDENCE = {"bulk", "list", "junk", "auto_reply"}
_DAEMONS = {"mailer-daemon": "MAILER-DAEMON", "postmaster": "postmaster"}


def automatic_reason(headers: Message, envelope_from: str | None, our_loop_ids: frozenset[str]) -> str:
    """Why this mail was sent by a machine, "" when a person wrote it. Answering an automatic mail is
    how two robots end up mailing each other forever (RFC 3834)."""
    reasons: list[str] = []
    submitted = repair_surrogates(hdr.first_value(headers, "auto-submitted")).split(";")[0].strip().lower()
    if submitted and submitted != "no":
        reasons.append(f"Auto-Submitted: {one_line(submitted)[:40]}")
    precedence = hdr.first_value(headers, "precedence").strip().lower()
    if precedence in _PRECEDENCE:
        reasons.append(f"Precedence: {precedence}")
    for name in ("X-Auto-Response-Suppress", "X-Autoreply", "X-Autorespond", "List-Id", "List-Unsubscribe"):
        if hdr.raw_values(headers, name):
            reasons.append(name)
    return_path = hdr.first_value(headers, "return-path").replace(" ", "")
    if envelope_from is not None and envelope_from.strip() in ("", "<>") or return_path == "<>":
        reasons.append("null return path")
    if headers.get_content_type() == "multipart/report":
        reasons.append(f"{_param(headers, 'report-type').lower() or 'multipart'} report")
    loop_ids = {loop_id.strip().lower() for loop_id in our_loop_ids}
    for value in hdr.raw_values(headers, "x-loop"):
        if value.strip().lower() in loop_ids:
            reasons.append(f"X-Loop: {one_line(repair_surrogates(value))}")
    for _, address in hdr.addresses(headers, "from")[:1]:
        daemon = _DAEMONS.get(address.partition("@")[0])
        if daemon:
            reasons.append(f"From: {daemon}")
    return ", ".join(dict.fromkeys(reasons))


# -- identity


# Headers written by the sender (or its submission server). Everything else may be added on the way
# (Received, Return-Path, Delivered-To, X-Original-To, ARC-*, Authentication-Results, DKIM-Signature of
# forwarders, spam and antivirus verdicts, X-MS-Exchange-*, X-Gm-*...), so it is left out of the hash.
HASHED_HEADERS = frozenset(
    {
        "from",
        "sender",
        "reply-to",
        "to",
        "cc",
        "subject",
        "date",
        "message-id",
        "in-reply-to",
        "references",
        "mime-version",
        "content-type",
        "content-transfer-encoding",
    }
)
_FOLDED = re.compile(rb"\n[ \t]")


def content_hash(raw: bytes) -> str:
    """sha256 (hex) of a mail as its sender wrote it: the headers in ``HASHED_HEADERS`` (white space
    collapsed) and the body (line ends normalized), so the same mail delivered twice by different routes
    (another MX, a forwarder, IMAP and LMTP) hashes the same, and a different body does not."""
    data = raw.replace(b"\r\n", b"\n")
    head, _, body = data.partition(b"\n\n")
    digest = hashlib.sha256()
    for line in _FOLDED.sub(b" ", head).split(b"\n"):
        name, colon, value = line.partition(b":")
        name = name.strip().lower()
        if colon and name.decode("ascii", "replace") in HASHED_HEADERS:
            digest.update(name + b":" + b" ".join(value.split()) + b"\n")
    digest.update(b"\n")
    digest.update(body.rstrip(b"\n"))
    return digest.hexdigest()
