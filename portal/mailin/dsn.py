"""Delivery status notifications (RFC 3464): which recipients of which of our mails failed, and why.

A DSN is ``multipart/report; report-type=delivery-status`` with a human part, a ``message/delivery-status``
part (one block of per-message fields, then one block per recipient) and the returned mail, whole
(``message/rfc822``) or headers only (``text/rfc822-headers``). Postfix, Exim, Exchange, Gmail and most
others send this shape. Bounces in free text (old qmail) are only recognised as automatic mail.
"""

from __future__ import annotations

from dataclasses import dataclass
from email.message import Message
from email.parser import BytesHeaderParser

from portal.mailin.charsets import decode_bytes, one_line, repair_surrogates
from portal.mailin.headers import POLICY, message_id, raw_values

_STATUS_TYPES = ("message/delivery-status", "message/global-delivery-status")
_RETURNED_MAIL = ("message/rfc822", "message/global")
_RETURNED_HEADERS = ("text/rfc822-headers", "message/global-headers")
_MAX_REASON = 300


@dataclass(frozen=True)
class Bounce:
    """A delivery failure report for a mail we sent."""

    recipients: tuple[str, ...]  # the final recipients that failed, lower-cased; () when only delayed
    original_message_id: str  # the bounced mail's Message-ID without <>, "" when the report omits it
    reason: str  # the diagnostic code or status, one short line


def find_bounce(msg: Message) -> Bounce | None:
    """The delivery report in ``msg``, or None when it is no delivery-status report."""
    if msg.get_content_type() != "multipart/report":
        return None
    parts = [part for part in msg.get_payload() if isinstance(part, Message)]
    status = next((part for part in parts if part.get_content_type() in _STATUS_TYPES), None)
    if status is None:
        return None
    blocks = _status_blocks(status)
    recipients = blocks[1:] if len(blocks) > 1 else blocks
    failed = [block for block in recipients if _failed(block)]
    addresses = tuple(dict.fromkeys(filter(None, (_recipient(block) for block in failed))))
    reason = _reason(failed[0]) if failed else _reason(recipients[0]) if recipients else ""
    return Bounce(addresses, _original_id(parts), reason)


def _status_blocks(status: Message) -> list[dict[str, str]]:
    """The field blocks of a delivery-status part, names lower-cased."""
    payload = status.get_payload()
    if isinstance(payload, list):  # the parser splits message/delivery-status into one Message per block
        return [_fields(block) for block in payload if isinstance(block, Message)]
    data = status.get_payload(decode=True)
    text = decode_bytes(data, "utf-8")[0] if isinstance(data, bytes) else ""
    return [_fields_of_text(chunk) for chunk in text.replace("\r\n", "\n").split("\n\n") if chunk.strip()]


def _fields(block: Message) -> dict[str, str]:
    fields: dict[str, str] = {}
    for name in block:
        fields.setdefault(name.lower(), repair_surrogates((raw_values(block, name) or [""])[0]))
    return fields


def _fields_of_text(chunk: str) -> dict[str, str]:
    fields: dict[str, str] = {}
    name = ""
    for line in chunk.split("\n"):
        if line[:1] in (" ", "\t") and name:
            fields[name] += " " + line.strip()
        elif ":" in line:
            name, _, value = line.partition(":")
            name = name.strip().lower()
            fields.setdefault(name, value.strip())
    return fields


def _failed(block: dict[str, str]) -> bool:
    action = block.get("action", "").strip().lower()
    return action == "failed" or (not action and block.get("status", "").strip().startswith("5"))


def _recipient(block: dict[str, str]) -> str:
    value = block.get("final-recipient") or block.get("original-recipient") or ""
    address = one_line(value.partition(";")[2] if ";" in value else value).strip("<>").lower()
    return address if "@" in address and " " not in address else ""


def _reason(block: dict[str, str]) -> str:
    diagnostic = block.get("diagnostic-code", "")
    if ";" in diagnostic:
        diagnostic = diagnostic.partition(";")[2]
    return one_line(diagnostic or block.get("status", "") or block.get("action", ""))[:_MAX_REASON]


def _original_id(parts: list[Message]) -> str:
    for part in parts:
        kind = part.get_content_type()
        if kind in _RETURNED_MAIL:
            payload = part.get_payload()
            returned = payload[0] if isinstance(payload, list) and payload else None
            if isinstance(returned, Message) and raw_values(returned, "message-id"):
                return message_id(returned)
        elif kind in _RETURNED_HEADERS:
            data = part.get_payload(decode=True)
            if isinstance(data, bytes):
                headers = BytesHeaderParser(policy=POLICY).parsebytes(data.lstrip())
                if raw_values(headers, "message-id"):
                    return message_id(headers)
    return ""
