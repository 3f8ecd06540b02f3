"""portal.mailin.parse never raises anything but MailRejected, whatever the bytes, and what it returns is
always safe to store (utf-8, no NUL, lower-case addresses, aware UTC dates).

Inputs: random bytes, truncated and mutated corpus mails, header values made of the characters that break
header parsers, and random MIME trees with lying charsets and encodings.
"""

from __future__ import annotations

import os
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from portal.mailin.htmltext import html_to_text
from portal.mailin.parse import REPLY_MARKER, Limits, MailRejected, ParsedMail, content_hash, parse
from portal.mailin.quotes import strip_html, strip_text

CORPUS = [
    path.read_bytes() for path in sorted((Path(__file__).resolve().parents[1] / "fixtures" / "mail").glob("*.eml"))
]
# MAIL_FUZZ_EXAMPLES=5000 for a long campaign; the suite runs a few hundred per test.
EXAMPLES = int(os.environ.get("MAIL_FUZZ_EXAMPLES", "250"))
FUZZ = settings(
    max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large]
)
LIMITS = Limits(max_bytes=200_000, max_parts=40, max_headers=60, max_depth=6, max_attachments=5, max_text_chars=5000)


def check(raw: bytes, **options: object) -> ParsedMail | None:
    """Parse, and hold the result to what the intake relies on."""
    content_hash(raw)
    try:
        mail = parse(raw, limits=LIMITS, our_loop_ids=frozenset({"loop@desk.example.com"}), **options)  # type: ignore[arg-type]
    except MailRejected as rejected:
        assert rejected.reason
        return None
    texts = [mail.message_id, mail.from_address, mail.from_name, mail.reply_to, mail.subject, mail.text, mail.html]
    texts += [mail.reply_text, mail.reply_html, mail.automatic, *mail.repairs, *mail.in_reply_to, *mail.references]
    texts += [*mail.to, *mail.cc, *mail.delivered_to]
    texts += [part.filename + part.content_type + part.content_id for part in mail.attachments]
    if mail.bounce:
        texts += [*mail.bounce.recipients, mail.bounce.original_message_id, mail.bounce.reason]
    for text in texts:
        text.encode("utf-8")  # no lone surrogates
        assert "\x00" not in text
    for address in [mail.from_address, mail.reply_to, *mail.to, *mail.cc, *mail.delivered_to]:
        assert address == address.lower() and ("@" in address or not address)
    assert "\n" not in mail.subject and "\n" not in mail.from_name
    assert mail.date is None or mail.date.utcoffset() is not None
    assert len(mail.attachments) <= LIMITS.max_attachments
    assert len(mail.text) <= LIMITS.max_text_chars
    assert all(part.filename and "/" not in part.filename and "\\" not in part.filename for part in mail.attachments)
    return mail


@FUZZ
@given(st.binary(max_size=3000))
def test_random_bytes(raw: bytes) -> None:
    check(raw)


@FUZZ
@given(st.sampled_from(CORPUS), st.floats(0, 1))
def test_truncated_corpus_mails(raw: bytes, fraction: float) -> None:
    check(raw[: int(len(raw) * fraction)])


@FUZZ
@given(
    st.sampled_from(CORPUS),
    st.lists(st.tuples(st.floats(0, 1), st.integers(0, 12), st.binary(max_size=12)), min_size=1, max_size=10),
)
def test_mutated_corpus_mails(raw: bytes, edits: list[tuple[float, int, bytes]]) -> None:
    data = bytearray(raw)
    for where, cut, insert in edits:
        at = int(len(data) * where)
        data[at : at + cut] = insert
    check(bytes(data), envelope_from="")


TOKENS = [
    *"<>@\"(),;:\\.[] \t=*%'/",
    "=?",
    "?=",
    "?Q?",
    "?B?",
    "utf-8",
    "x-unknown",
    "''",
    "\r\n",
    "\n ",
    "a",
    "b@c.d",
    "caf\udce9",
    "café",
    "\x00",
    "multipart/mixed",
    "boundary=",
    "--",
    "filename*0*=",
    "name",
]
HEADERS = ["From", "To", "Cc", "Reply-To", "Subject", "Message-ID", "In-Reply-To", "References", "Date"]
HEADERS += ["Return-Path", "Auto-Submitted", "Precedence", "X-Loop", "Delivered-To", "X-Original-To"]
PART_HEADERS = ["Content-Type", "Content-Disposition", "Content-Transfer-Encoding", "Content-ID"]


def header_bytes(text: str) -> bytes:
    return text.encode("utf-8", "surrogateescape")


@FUZZ
@given(st.sampled_from(HEADERS + PART_HEADERS), st.lists(st.sampled_from(TOKENS), max_size=25))
def test_malformed_header_values(name: str, tokens: list[str]) -> None:
    value = header_bytes("".join(tokens))
    for raw in CORPUS[:3]:
        check(raw.replace(b"\nSubject:", b"\n" + name.encode() + b": " + value + b"\nSubject:", 1))
    attachment = CORPUS[[b"application/pdf" in raw for raw in CORPUS].index(True)]
    check(attachment.replace(b"Content-Type: application/pdf;", b"Content-Type: application/pdf; " + value + b";"))


CHARSETS = st.sampled_from(
    ["utf-8", "us-ascii", "iso-8859-1", "windows-1252", "x-unknown", "utf-16", "base64", "", "é"]
)
ENCODINGS = st.sampled_from(["7bit", "8bit", "base64", "quoted-printable", "x-uuencode", "bogus", ""])
HTML_PIECES = ["<p>", "</p>", "<blockquote type=cite>", "<div class=gmail_quote>", "<br>", "On x wrote:", "<!--"]
BODIES = st.one_of(
    st.binary(max_size=300),
    st.text(max_size=300).map(lambda text: text.encode("utf-8", "surrogatepass")),
    st.lists(st.sampled_from(HTML_PIECES)).map(lambda tags: "".join(tags).encode()),
    st.just("Grüße, café – „ok“".encode("cp1252")),
)


@st.composite
def leaf(draw: st.DrawFn) -> bytes:
    kind = draw(st.sampled_from(["text/plain", "text/html", "application/pdf", "image/png", "message/rfc822"]))
    lines = [f"Content-Type: {kind}; charset={draw(CHARSETS)}"]
    if draw(st.booleans()):
        lines.append(f"Content-Transfer-Encoding: {draw(ENCODINGS)}")
    if draw(st.booleans()):
        lines.append(
            f'Content-Disposition: {draw(st.sampled_from(["inline", "attachment"]))}; filename="{draw(st.text(max_size=12))}"'
        )
    if draw(st.booleans()):
        lines.append(f"Content-ID: <{draw(st.text(max_size=8))}@x>")
    head = header_bytes("\n".join(lines).replace("\r", "").replace("\x00", ""))
    body = draw(BODIES)
    if kind == "message/rfc822" and draw(st.booleans()):
        body = draw(st.sampled_from(CORPUS))
    return head + b"\n\n" + body


def container(children: list[bytes], kind: str, boundary: str) -> bytes:
    head = f'Content-Type: multipart/{kind}; boundary="{boundary}"\n\n'.encode()
    return (
        head
        + b"".join(b"--" + boundary.encode() + b"\n" + child + b"\n" for child in children)
        + f"--{boundary}--\n".encode()
    )


@st.composite
def tree(draw: st.DrawFn, depth: int = 0) -> bytes:
    if depth >= 4 or draw(st.integers(0, 2)) == 0:
        return draw(leaf())
    kind = draw(st.sampled_from(["mixed", "alternative", "related", "report", "signed", "digest", "rfc822"]))
    if kind == "rfc822":  # an attached mail with a structure of its own
        return b"Content-Type: message/rfc822\n\nSubject: inner\n" + draw(tree(depth + 1))
    children = draw(st.lists(tree(depth + 1), max_size=4))
    return container(children, kind, f"b{depth}{draw(st.integers(0, 9))}")


@FUZZ
@given(tree(), st.booleans())
def test_random_mime_trees(body: bytes, crlf: bool) -> None:
    raw = b"From: Jane <jane@example.com>\nSubject: tree\nMIME-Version: 1.0\n" + body
    check(raw.replace(b"\n", b"\r\n") if crlf else raw)


HTML_TOKENS = [
    *HTML_PIECES,
    "<div>",
    "</div>",
    "</blockquote>",
    '<div id="divRplyFwdMsg">',
    '<div id="appendonsend"></div>',
    "<hr>",
    '<div style="border:none;border-top:solid #E1E1E1 1.0pt;padding:3.0pt 0cm 0cm 0cm">',
    "<o:p>",
    "<v:shape>",
    "<addr@x>",
    "<?xml version='1.0' encoding='utf-8'?>",
    "<![CDATA[",
    "<script>",
    "</html>",
    "<body>",
    "&nbsp;",
    "&#0;",
    "\x00",
    "\x0b",
    "text",
    "\n",
    "From: x",
    "Sent: y",
    "> ",
    "##- Please type your reply above this line -##",
]


@FUZZ
@given(st.one_of(st.text(max_size=400), st.lists(st.sampled_from(HTML_TOKENS), max_size=40).map("".join)))
def test_html_helpers_take_anything(html: str) -> None:
    assert isinstance(html_to_text(html), str)
    reply = strip_html(html, REPLY_MARKER)
    assert reply == html or len(html_to_text(reply)) <= len(html_to_text(html)) + 1
    assert isinstance(strip_text(html, REPLY_MARKER), str)
