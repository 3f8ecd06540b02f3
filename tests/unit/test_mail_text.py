"""The pieces under portal.mailin.parse: charset repair, HTML to text, quote stripping, format=flowed."""

from __future__ import annotations

import pytest

from portal.mailin.charsets import clean_text, codec_name, decode_bytes, decode_header, header_needs_guess
from portal.mailin.htmltext import html_to_text
from portal.mailin.parse import REPLY_MARKER, parse
from portal.mailin.quotes import strip_html, strip_text

# -- charsets


@pytest.mark.parametrize(
    ("raw", "text"),
    [
        ("=?utf-8?q?Gr=C3=BC=C3=9Fe?= aus =?iso-8859-1?b?S/Zsbg==?=", "Grüße aus Köln"),
        ("=?utf-8?q?a?= =?utf-8?q?b?=", "ab"),  # white space between encoded words is dropped
        ("=?utf-8?q?Gr=C3?= =?utf-8?q?=BC=C3=9Fe?=", "Grüße"),  # a character split between two words
        ("=?UTF-8?Q?Fehler_41?=", "Fehler 41"),
        ("=?utf-8?b?w6k?=", "é"),  # base64 without padding
        ("=?x-unknown?Q?Caf=E9?=", "Café"),
        ("=?x-unknown?Q?Caf=C3=A9?=", "Café"),
        ("=?utf-8*de?q?Gr=C3=BC=C3=9Fe?=", "Grüße"),  # RFC 2231 language tag
        ("=?base64?q?x?=", "x"),  # a bytes codec is no charset
        ("Gr\udcfc\udcdfe", "Grüße"),  # raw windows-1252 bytes
        ("Gr\udcc3\udcbc\udcc3\udc9fe", "Grüße"),  # raw utf-8 bytes
        ("one\r\n  folded\tline", "one folded line"),
        ("=?utf-8?q?broken", "=?utf-8?q?broken"),
        ("bell\x07 and nul\x00", "bell and nul"),
    ],
)
def test_decode_header(raw: str, text: str) -> None:
    assert decode_header(raw) == text


def test_header_needs_guess() -> None:
    assert header_needs_guess("Gr\udcfc\udcdfe") and header_needs_guess("=?x-unknown?q?a?=")
    assert not header_needs_guess("Gr\udcc3\udcbc\udcc3\udc9fe")  # raw utf-8 (RFC 6532)
    assert not header_needs_guess("=?utf-8?q?a?= plain")


@pytest.mark.parametrize(
    ("data", "declared", "text", "guessed"),
    [
        (b"plain ascii", "", "plain ascii", ""),
        ("Grüße".encode(), "utf-8", "Grüße", ""),
        ("Grüße".encode(), "", "Grüße", "utf-8"),
        ("Grüße".encode("cp1252"), "", "Grüße", "windows-1252"),
        ("Grüße".encode("cp1252"), "us-ascii", "Grüße", "windows-1252"),
        ("Grüße".encode("cp1252"), "utf-8", "Grüße", "windows-1252"),
        ("Grüße".encode("cp1252"), "x-unknown", "Grüße", "windows-1252"),
        ("“€”".encode("cp1252"), "iso-8859-1", "“€”", ""),  # read as windows-1252, as browsers do
        ("Grüße".encode("iso-8859-15"), "iso-8859-15", "Grüße", ""),
        ("Grüße".encode("utf-16"), "utf-16", "Grüße", ""),
        ("Добрый день, принтер не работает.".encode("koi8-r"), "koi8-r", "Добрый день, принтер не работает.", ""),
        (b"caf\xe9 \x81", "", "café \ufffd", "windows-1252"),
        ("été".encode("cp1252"), "", "été", "windows-1252"),
    ],
)
def test_decode_bytes(data: bytes, declared: str, text: str, guessed: str) -> None:
    assert decode_bytes(data, declared) == (text, guessed)


def test_codec_names() -> None:
    assert [codec_name(name) for name in ("UTF-8", '"utf-8"', "latin1", "x-unknown", "rot13", "base64", "")] == [
        "utf_8",
        "utf_8",
        "iso8859_1",
        None,
        None,
        None,
        None,
    ]
    assert codec_name("unicode_escape") is None and codec_name("caf\udce9") is None


def test_clean_text() -> None:
    assert clean_text("a\x00b") == "ab"
    assert clean_text("lone \udce9 surrogate") == "lone ? surrogate"


# -- HTML to text


def test_html_to_text_blocks_and_lines() -> None:
    gmail = '<div dir="ltr"><div>Hi Sam,</div><div><br></div><div>it <b>works</b>.</div></div><br>'
    assert html_to_text(gmail) == "Hi Sam,\n\nit works."
    outlook = (
        '<p class="MsoNormal">One<o:p></o:p></p><p class="MsoNormal"><o:p>&nbsp;</o:p></p><p class="MsoNormal">Two</p>'
    )
    assert html_to_text(outlook) == "One\n\nTwo"
    assert html_to_text("<p>One</p><p>Two</p><h1>Title</h1>") == "One\n\nTwo\n\nTitle"


def test_html_to_text_structure() -> None:
    html = (
        "<html><head><title>t</title><style>p {color: red}</style></head><body>"
        "<p>Intro <a href='https://example.com/x'>the page</a> and <a href='https://example.com/'>https://example.com</a>"
        " and <a href='mailto:a@example.com'>mail</a></p>"
        "<blockquote><p>quoted</p><blockquote>deeper</blockquote></blockquote>"
        "<ul><li>one</li><li>two</li></ul><pre>a  b\n  c</pre>"
        "<table><tr><td>x</td><td>y</td></tr></table><hr>"
        "<script>alert(1)</script>after<!-- note -->tail &amp; &lt;ok&gt;</body></html>"
    )
    assert html_to_text(html) == (
        "Intro the page (https://example.com/x) and https://example.com and mail\n\n"
        "> quoted\n>\n> > deeper\n\n"
        "- one\n- two\n\n"
        "a  b\n  c\n\n"
        "x y\n\n---\naftertail & <ok>"
    )


@pytest.mark.parametrize("html", ["", "   ", "<!-- only a comment -->", "<style>x</style>", "<img src='x.png'>"])
def test_html_without_text(html: str) -> None:
    assert html_to_text(html) == ""


def test_deeply_nested_html_keeps_its_text() -> None:
    assert html_to_text("<div>" * 1000 + "deep" + "</div>" * 1000) == "deep"
    assert html_to_text("<table><tr><td>" * 200 + "cell" + "</td></tr></table>" * 200) == "cell"


# -- quote stripping, plain text


@pytest.mark.parametrize(
    "quote",
    [
        "-----Original Message-----\nFrom: Support <support@desk.example.com>\nSent: Tuesday\n\nold",
        "________________________________\nVon: Support <support@desk.example.com>\nGesendet: Dienstag\n\nalt",
        "From: Support <support@desk.example.com>\nDate: Tuesday, 4 March 2025 at 10:12\nTo: Jane\nSubject: x\n\nold",
        "De : Support <support@desk.example.com>\nEnvoyé : mardi 4 mars 2025 10:12\n\nancien",
        "Am 04.03.25 um 10:12 schrieb Support:\n> alt",
        "Le mar. 4 mars 2025 à 10:12, Support <support@desk.example.com> a écrit :\n> ancien",
        "On Tue, Mar 4, 2025 at 10:12 AM Support <\nsupport@desk.example.com> wrote:\n\n> old",
        "---------- Forwarded message ---------\nFrom: x\n\nold",
        "> old\n> older",
    ],
)
def test_strip_text(quote: str) -> None:
    assert strip_text("My answer.\n\nJane\n\n" + quote + "\n", REPLY_MARKER) == "My answer.\n\nJane"


def test_strip_text_marker() -> None:
    text = f"Top.\n\n-- \nJane\n\nOn Tue, Support wrote:\n> {REPLY_MARKER}\n> old"
    assert strip_text(text, REPLY_MARKER) == "Top.\n\n-- \nJane"
    assert strip_text(f"{REPLY_MARKER}\nonly our own mail", REPLY_MARKER) == f"{REPLY_MARKER}\nonly our own mail"


def test_strip_text_leaves_a_plain_mail_alone() -> None:
    text = "Hello,\n\nFrom: the printer on floor 2 I get errors.\n> this line quotes a manual\nthanks\n"
    assert strip_text(text, REPLY_MARKER) == text.rstrip()
    assert strip_text("line\n" * 5000, REPLY_MARKER) == ("line\n" * 5000).rstrip()


# -- quote stripping, HTML


def test_strip_html_shapes() -> None:
    cases = [
        '<div>Answer</div><div class="yahoo_quoted"><div>On Tuesday Support wrote:</div><div>old</div></div>',
        '<div>Answer</div><div class="moz-cite-prefix">Am 04.03.25 schrieb Support:</div><blockquote type="cite">x</blockquote>',
        '<div>Answer</div><div id="appendonsend"></div><hr><div id="divRplyFwdMsg"><b>From:</b> x</div><div>old</div>',
        "<div>Answer<br><br>On Tue, Mar 4, 2025 Support wrote:<br></div><blockquote><div>old</div></blockquote>",
        f"<div>Answer</div><div><p>{REPLY_MARKER}</p><p>old</p></div>",
        f"<div>Answer<br>{REPLY_MARKER}<br>old</div>",
        "<div>Answer</div><p>##- Please type your\n   reply above this line -##</p><p>old</p>",
        '<div>Answer</div><div style="border:none;border-top:solid #B5C4DF 1.0pt;padding:3.0pt 0in 0in 0in"><p>From: x</p></div><p>old</p>',
    ]
    for html in cases:
        reply = strip_html(html, REPLY_MARKER)
        assert html_to_text(reply) == "Answer", html
        assert "old" not in reply


def test_strip_html_keeps_what_it_cannot_cut() -> None:
    for html in ["", "<p>Just a new mail</p>", f"<blockquote><p>{REPLY_MARKER}</p></blockquote><p>below</p>"]:
        assert strip_html(html, REPLY_MARKER) == html


# -- format=flowed


def flowed(body: str, params: str = "") -> str:
    raw = (
        "From: a@example.com\nSubject: f\nMIME-Version: 1.0\n"
        f"Content-Type: text/plain; charset=utf-8; format=flowed{params}\n\n{body}"
    )
    return parse(raw.encode()).text


def test_format_flowed() -> None:
    assert flowed("one \ntwo\n\nthree\n") == "one two\n\nthree\n"
    assert flowed("glued \ntogether\n", "; delsp=yes") == "gluedtogether\n"
    assert flowed("> quoted \n> more\n>> deeper\n") == "> quoted more\n>> deeper\n"
    assert flowed("text\n-- \nsignature\n") == "text\n-- \nsignature\n"
    assert flowed(" From stuffed\n") == "From stuffed\n"
