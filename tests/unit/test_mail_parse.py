"""portal.mailin.parse on a corpus of real-world-shaped mails (tests/fixtures/mail) and on generated ones.

Every corpus mail is also parsed with CRLF line ends (as it travels over SMTP) and must read the same.
"""

from __future__ import annotations

import re
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from email import message_from_bytes, policy
from email.message import Message
from pathlib import Path

import pytest

from portal.mailin.htmltext import html_to_text
from portal.mailin.parse import (
    REPLY_MARKER,
    Bounce,
    Limits,
    MailRejected,
    ParsedMail,
    automatic_reason,
    content_hash,
    parse,
)

CORPUS = Path(__file__).resolve().parents[1] / "fixtures" / "mail"
NAMES = sorted(path.stem for path in CORPUS.glob("*.eml"))
OUR_ID = "174108312501.4021.9182736450912837465@desk.example.com"


def raw(name: str) -> bytes:
    return (CORPUS / f"{name}.eml").read_bytes()


def crlf(data: bytes) -> bytes:
    return data.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")


@pytest.fixture(params=["lf", "crlf"])
def line_ends(request: pytest.FixtureRequest) -> str:
    return str(request.param)


def corpus(name: str, line_ends: str = "lf", **options: object) -> ParsedMail:
    data = raw(name)
    return parse(crlf(data) if line_ends == "crlf" else data, **options)


def visible(html: str) -> str:
    return html_to_text(html)


def mail(headers: str = "", body: str = "Hello\n", *, content_type: str = "text/plain; charset=utf-8") -> bytes:
    """A minimal mail from a person, with extra header lines."""
    head = (
        "From: Jane Doe <jane@example.com>\n"
        "To: support@desk.example.com\n"
        "Subject: Hello\n"
        "Date: Tue, 4 Mar 2025 10:00:00 +0100\n"
        "Message-ID: <m1@example.com>\n"
        "MIME-Version: 1.0\n"
        f"Content-Type: {content_type}\n"
    )
    return (head + headers + "\n" + body).encode("utf-8")


def test_the_corpus_is_complete() -> None:
    assert {
        "apple_mail_reply",
        "bad_charset_undeclared",
        "bad_charset_wrong",
        "exchange_bounce",
        "forged_key_reply",
        "gmail_reply_html",
        "gmail_reply_text",
        "mailing_list",
        "new_request_with_attachment",
        "other_helpdesk_ack",
        "outlook_out_of_office",
        "outlook_reply_html",
        "outlook_web_reply_de",
        "postfix_bounce",
        "remote_images",
        "stranger_known_number",
        "thunderbird_reply_de",
    } <= set(NAMES)


# -- replies from the common clients


def test_gmail_plain_text_reply(line_ends: str) -> None:
    mail = corpus("gmail_reply_text", line_ends)
    assert mail.reply_text == (
        "Hi Sam,\n\nthanks, the new driver fixed it. The printer in room 4.12 prints again.\n\nBest regards,\nJane"
    )
    assert mail.message_id == "CAF8x=QnW2ZcV4w3bq1d8gE_y5Yp0dT6kUu9sRr7Hh2mNn3oXwA@mail.gmail.com"
    assert mail.in_reply_to == (OUR_ID,)
    assert mail.references == (OUR_ID,)
    assert (mail.from_address, mail.from_name) == ("jane.doe.fdtest@gmail.com", "Jane Doe")
    assert mail.to == ("support@desk.example.com",)
    assert mail.cc == ()
    assert mail.reply_to == ""
    assert mail.delivered_to == ("support@desk.example.com",)
    assert mail.subject == "Re: [#12] New reply: Printer"
    assert mail.date == datetime(2025, 3, 4, 9, 31, 5, tzinfo=UTC)
    assert mail.html == mail.reply_html == ""
    assert "> ##- Please type your reply above this line -##" in mail.text  # the whole text keeps the quote
    assert (mail.automatic, mail.bounce, mail.attachments, mail.repairs) == ("", None, (), ())


def test_gmail_html_reply(line_ends: str) -> None:
    mail = corpus("gmail_reply_html", line_ends)
    assert mail.reply_text == (
        "Hi Sam,\n\nthe printer still shows *Error 41* after the update. It's the same screen as\n"
        "before, nothing changed.\n\nJane"
    )
    assert visible(mail.reply_html) == (
        "Hi Sam,\n\nthe printer still shows Error 41 after the update. It's the same screen as before, "
        "nothing changed.\n\nJane"
    )
    assert "<b>Error 41</b>" in mail.reply_html
    for gone in ("gmail_quote", "wrote:", "Please type your reply", "Sam Agent"):
        assert gone not in mail.reply_html
    assert 'class="gmail_quote' in mail.html  # the whole HTML is kept as sent
    assert mail.automatic == "" and mail.repairs == ()


def test_outlook_desktop_reply(line_ends: str) -> None:
    mail = corpus("outlook_reply_html", line_ends)
    expected = (
        "Hi Sam,\n\nStill the same: the display shows \u201cError 41\u201d after installing the driver. "
        "I restarted the printer twice.\n\nRegards,\nMax Müller\nContoso GmbH | IT"
    )
    assert mail.reply_text == expected  # the "From: … Sent: …" block and all below it are gone
    assert visible(mail.reply_html) == expected  # so are the border-top div and all below it
    assert "border-top" not in mail.reply_html and "Sent:" not in mail.reply_html
    assert (mail.from_address, mail.from_name) == ("max.mueller@contoso.com", "Max Müller")
    assert mail.subject == "RE: [#12] New reply: Printer"
    assert mail.message_id == "AM0PR07MB45316E2B7A9F3C1D8E4B5A6C9F012@AM0PR07MB4531.eurprd07.prod.outlook.com"
    assert mail.in_reply_to == (OUR_ID,)
    assert mail.automatic == "" and mail.repairs == ()  # windows-1252 was declared: nothing to repair


def test_outlook_on_the_web_reply_in_german(line_ends: str) -> None:
    mail = corpus("outlook_web_reply_de", line_ends)
    expected = "Hallo Sam,\n\nder Drucker druckt wieder, vielen Dank!\n\nViele Grüße\nErika Mustermann"
    assert mail.reply_text == expected  # "____" line and the "Von: … Gesendet: …" block are gone
    assert visible(mail.reply_html) == expected
    for gone in ("divRplyFwdMsg", "appendonsend", "<hr", "Gesendet"):
        assert gone not in mail.reply_html
    assert mail.cc == ("it-team@fabrikam.example",)
    assert mail.subject == "AW: [#12] New reply: Printer"


def test_apple_mail_reply(line_ends: str) -> None:
    mail = corpus("apple_mail_reply", line_ends)
    expected = "Bonjour Sam,\n\nMerci, ça marche à nouveau ! Le café est servi.\n\nChloé"
    assert mail.reply_text == expected
    assert visible(mail.reply_html) == expected
    assert "blockquote" not in mail.reply_html and "a écrit" not in mail.reply_html
    assert (mail.from_address, mail.from_name) == ("chloe.martin.fdtest@icloud.com", "Chloé Martin")
    assert mail.message_id == "8E2B7C41-93D5-4F0A-B6C8-1D2E3F4A5B6C@icloud.com"


def test_thunderbird_reply_with_flowed_text(line_ends: str) -> None:
    mail = corpus("thunderbird_reply_de", line_ends)
    expected = "Danke, das hat geholfen! Der Drucker läuft wieder, auch der Duplexdruck funktioniert.\n\nJürgen"
    assert mail.reply_text == expected  # format=flowed: the soft line break is joined
    assert visible(mail.reply_html) == expected
    assert "moz-cite-prefix" not in mail.reply_html


@pytest.mark.parametrize(
    "name",
    ["gmail_reply_text", "gmail_reply_html", "outlook_reply_html", "outlook_web_reply_de", "apple_mail_reply"]
    + ["thunderbird_reply_de", "forged_key_reply"],
)
def test_replies_are_cut_the_same_without_our_marker(name: str) -> None:
    """A reply to a mail we sent without the marker line (or from before it existed) loses its quote too."""
    with_marker, without = corpus(name), corpus(name, reply_marker="")
    assert without.reply_text == with_marker.reply_text
    assert visible(without.reply_html) == visible(with_marker.reply_html)


def test_lead_templates_are_plain_replies() -> None:
    forged = corpus("forged_key_reply")
    assert forged.subject == "Re: [#12] Printer"
    assert (forged.from_address, forged.from_name) == ("mallory@attacker.example", "Jane Doe")
    assert forged.reply_text == "Please close this ticket and send the invoice to my new address."
    assert forged.in_reply_to == (OUR_ID,)
    stranger = corpus("stranger_known_number")
    assert stranger.subject == "Re: [#12] Printer"
    assert stranger.in_reply_to == stranger.references == ()
    assert stranger.reply_text == (
        "Hi, I have the same problem as in ticket 12 with our printer. Can you\nsend me the driver as well?\n\nTom"
    )
    assert forged.automatic == stranger.automatic == ""


def test_a_reply_written_below_the_quote_is_kept_whole() -> None:
    body = "On Tue, 4 Mar 2025 at 10:12, Support <support@desk.example.com> wrote:\n> old text\n\nMy answer below.\n"
    assert parse(mail(body=body)).reply_text == body.strip()


def test_the_marker_cuts_in_plain_text_with_the_line_above() -> None:
    body = f"Yes, please.\n\nSupport wrote on Tuesday:\n{REPLY_MARKER}\n\nHello Jane,\n"
    assert parse(mail(body=body)).reply_text == "Yes, please.\n\nSupport wrote on Tuesday:"
    body = f"Yes, please.\n\nOn Tue, 4 Mar 2025 Support wrote:\n\n> {REPLY_MARKER}\n> Hello Jane,\n"
    assert parse(mail(body=body)).reply_text == "Yes, please."


def test_a_trailing_quote_without_intro_line_is_cut() -> None:
    body = "Done, thanks.\n\n> Please restart the printer.\n> Sam\n"
    assert parse(mail(body=body)).reply_text == "Done, thanks."


# -- automatic mail


def test_out_of_office(line_ends: str) -> None:
    mail = corpus("outlook_out_of_office", line_ends)
    assert mail.automatic == "Auto-Submitted: auto-replied, X-Auto-Response-Suppress, null return path"
    assert mail.subject == "Automatic reply: [#12] New reply: Printer"
    assert mail.reply_text.startswith("Thank you for your message. I am out of the office until Monday, March 10,")
    assert mail.bounce is None


def test_mailing_list(line_ends: str) -> None:
    mail = corpus("mailing_list", line_ends)
    assert mail.automatic == "Precedence: list, List-Id, List-Unsubscribe"
    assert mail.from_address == "bob@example.com"
    assert mail.to == ("printers@lists.example.org",)


def test_another_help_desk_acknowledgement(line_ends: str) -> None:
    mail = corpus("other_helpdesk_ack", line_ends)
    assert mail.automatic == "Precedence: auto_reply"
    assert mail.subject == "[#4711] We received your request: [#12] New reply: Printer"
    assert mail.in_reply_to == (OUR_ID,)


@pytest.mark.parametrize(
    ("header", "reason"),
    [
        ("Auto-Submitted: auto-generated", "Auto-Submitted: auto-generated"),
        ("Auto-Submitted: Auto-Replied; owner-email=x@example.com", "Auto-Submitted: auto-replied"),
        ("Precedence: bulk", "Precedence: bulk"),
        ("Precedence: junk", "Precedence: junk"),
        ("Precedence: LIST", "Precedence: list"),
        ("Precedence: auto_reply", "Precedence: auto_reply"),
        ("X-Auto-Response-Suppress: All", "X-Auto-Response-Suppress"),
        ("X-Auto-Response-Suppress: OOF, AutoReply", "X-Auto-Response-Suppress"),
        ("X-Autoreply: yes", "X-Autoreply"),
        ("X-Autorespond: vacation", "X-Autorespond"),
        ("List-Id: <news.example.com>", "List-Id"),
        ("List-Unsubscribe: <https://example.com/u/1>", "List-Unsubscribe"),
        ("Return-Path: <>", "null return path"),
        ("X-Loop: Support@Desk.Example.com", "X-Loop: Support@Desk.Example.com"),
    ],
)
def test_automatic_headers(header: str, reason: str) -> None:
    parsed = parse(mail(header + "\n"), our_loop_ids=frozenset({"support@desk.example.com"}))
    assert parsed.automatic == reason


@pytest.mark.parametrize(
    "header",
    [
        "",
        "Auto-Submitted: no",
        "Precedence: first-class",
        "X-Loop: someone-else@example.org",
        "Return-Path: <jane@example.com>",
        "X-Portal-Automatic: yes",
    ],
)
def test_mail_from_a_person(header: str) -> None:
    parsed = parse(mail(header + "\n" if header else ""), our_loop_ids=frozenset({"support@desk.example.com"}))
    assert parsed.automatic == ""


def test_null_envelope_sender_and_daemons() -> None:
    assert parse(mail(), envelope_from="").automatic == "null return path"
    assert parse(mail(), envelope_from="<>").automatic == "null return path"
    assert parse(mail(), envelope_from="jane@example.com").automatic == ""
    daemon = mail().replace(
        b"From: Jane Doe <jane@example.com>", b"From: Mail Delivery System <MAILER-DAEMON@mx.example.com>"
    )
    assert parse(daemon).automatic == "From: MAILER-DAEMON"
    postmaster = mail().replace(b"From: Jane Doe <jane@example.com>", b"From: postmaster@example.com")
    assert parse(postmaster).automatic == "From: postmaster"


def test_automatic_reason_is_a_pure_function_of_the_headers() -> None:
    headers = corpus_message("outlook_out_of_office")
    assert automatic_reason(headers, None, frozenset()) == corpus("outlook_out_of_office").automatic
    assert "X-Loop" not in automatic_reason(headers, "x@example.com", frozenset({"ours@example.com"}))


def corpus_message(name: str) -> Message:
    return message_from_bytes(raw(name), policy=policy.default)


# -- bounces


def test_exchange_bounce(line_ends: str) -> None:
    mail = corpus("exchange_bounce", line_ends)
    assert mail.bounce == Bounce(
        recipients=("max.mustermann@contoso.com",),
        original_message_id=OUR_ID,
        reason="550 5.1.10 RESOLVER.ADR.RecipientNotFound; Recipient max.mustermann@contoso.com not found by "
        "SMTP address lookup",
    )
    assert mail.automatic == "null return path, delivery-status report, From: postmaster"
    [returned] = mail.attachments  # the returned mail, as an .eml file
    assert returned.content_type == "message/rfc822"
    assert returned.filename == "[#12] New reply_ Printer.eml"
    assert b"Message-ID: <" + OUR_ID.encode() + b">" in returned.data
    assert mail.reply_text.startswith("Your message to max.mustermann@contoso.com couldn't be delivered.")


def test_postfix_bounce(line_ends: str) -> None:
    mail = corpus("postfix_bounce", line_ends)
    assert mail.bounce == Bounce(
        recipients=("old.customer@example.org", "info@gone.example.net"),
        original_message_id="174108312577.4021.1029384756473829101@desk.example.com",
        reason="550 5.1.1 <Old.Customer@Example.ORG>: Recipient address rejected: User unknown in virtual "
        "mailbox table",
    )
    assert (
        mail.automatic == "Auto-Submitted: auto-replied, null return path, delivery-status report, From: MAILER-DAEMON"
    )
    assert (mail.from_address, mail.from_name) == ("mailer-daemon@mx.desk.example.com", "Mail Delivery System")
    assert mail.attachments == ()  # the delivery status and the returned headers are no files
    assert mail.text.startswith("This is the mail system at host mx.desk.example.com.")


def test_a_delay_warning_names_no_failed_recipient() -> None:
    delayed = raw("postfix_bounce").replace(b"Action: failed\nStatus: 5.1.1", b"Action: delayed\nStatus: 4.4.1")
    delayed = delayed.replace(b"Action: failed\nStatus: 5.4.4", b"Action: delayed\nStatus: 4.4.3")
    bounce = parse(delayed).bounce
    assert bounce is not None and bounce.recipients == ()
    assert bounce.original_message_id == "174108312577.4021.1029384756473829101@desk.example.com"


def test_a_mail_without_delivery_status_is_no_bounce() -> None:
    for name in NAMES:
        if name not in ("exchange_bounce", "postfix_bounce"):
            assert corpus(name).bounce is None, name


# -- attachments


def test_new_request_with_attachment_and_inline_image(line_ends: str) -> None:
    mail = corpus("new_request_with_attachment", line_ends)
    image, pdf = mail.attachments
    assert (image.filename, image.content_type, image.content_id, image.inline) == (
        "error41.png",
        "image/png",
        "part1.Xy7Z3a9B.Qw2Er4Ty@bergmann.example",
        True,
    )
    assert image.data.startswith(b"\x89PNG\r\n\x1a\n") and len(image.data) == 74
    assert (pdf.filename, pdf.content_type, pdf.content_id, pdf.inline) == (
        "Rechnung März 2025.pdf",
        "application/pdf",
        "",
        False,
    )
    assert pdf.data.startswith(b"%PDF-1.4") and pdf.data.rstrip().endswith(b"%%EOF")
    assert 'src="cid:part1.Xy7Z3a9B.Qw2Er4Ty@bergmann.example"' in mail.html
    assert mail.subject == "Drucker im Empfang zeigt \u201eFehler 41\u201c"
    assert (mail.from_address, mail.from_name) == ("j.weiss@bergmann.example", "Jürgen Weiß")
    assert mail.reply_text == mail.text.rstrip()  # nothing quoted: the whole text
    assert mail.text.startswith(
        "Guten Tag,\n\nunser Drucker im Empfang (HP LaserJet M404) zeigt seit heute Morgen \u201eFehler 41\u201c an, "
        "siehe Foto. Die Rechnung vom März hängt an.\n\nViele Grüße\nJürgen Weiß\n-- \n"
    )
    assert mail.in_reply_to == () and mail.automatic == "" and mail.repairs == ()


def multipart(*parts: str, kind: str = "mixed") -> bytes:
    body = "".join(f"--b0\n{part}\n" for part in parts) + "--b0--\n"
    return mail(body="preamble\n" + body, content_type=f'multipart/{kind}; boundary="b0"')


TEXT_PART = "Content-Type: text/plain; charset=utf-8\n\nSee attached.\n"


@pytest.mark.parametrize(
    ("headers", "filename"),
    [
        ('Content-Disposition: attachment; filename="=?UTF-8?B?UHLDvGZwcm90b2tvbGwucGRm?="', "Prüfprotokoll.pdf"),
        ("Content-Disposition: attachment; filename*=iso-8859-1''Pr%FCfung.pdf", "Prüfung.pdf"),
        (
            "Content-Disposition: attachment;\n filename*0*=UTF-8''Sehr%20langer%20Name%20f%C3%BCr%20;\n filename*1*=eine%20Datei.pdf",
            "Sehr langer Name für eine Datei.pdf",
        ),
        ("Content-Disposition: attachment; filename*=x-unknown''caf%E9.pdf", "café.pdf"),
        ('Content-Disposition: attachment; filename="..\\\\..\\\\windows\\\\evil.pdf"', "evil.pdf"),
        ('Content-Disposition: attachment; filename="../../etc/passwd"', "passwd"),
        ('Content-Type: application/pdf; name="old-style.pdf"', "old-style.pdf"),
        ("Content-Disposition: attachment", "part-3.pdf"),
        ("", "part-3.pdf"),
    ],
)
def test_attachment_names(headers: str, filename: str) -> None:
    kind = "" if headers.startswith("Content-Type") else "Content-Type: application/pdf"
    lines = [line for line in (kind, headers, "Content-Transfer-Encoding: base64") if line]
    part = "\n".join(lines) + "\n\nJVBERi0xLjQK\n"
    [attachment] = parse(multipart(TEXT_PART, part)).attachments
    assert (attachment.filename, attachment.data, attachment.content_type) == (
        filename,
        b"%PDF-1.4\n",
        "application/pdf",
    )


def test_a_content_type_that_trips_the_stdlib_parser() -> None:
    """CPython 3.11's header parser raises IndexError on this value, from inside the message parser."""
    part = "Content-Type: application/pdf; x*\nContent-Transfer-Encoding: base64\n\nJVBERi0xLjQK\n"
    [attachment] = parse(multipart(TEXT_PART, part)).attachments
    assert (attachment.content_type, attachment.data) == ("application/pdf", b"%PDF-1.4\n")


def test_an_attached_mail_is_named_by_its_subject() -> None:
    inner = "From: a@example.com\nSubject: =?utf-8?q?Angebot_f=C3=BCr_M=C3=A4rz?=\nMessage-ID: <inner@x>\n\nBody\n"
    parsed = parse(multipart(TEXT_PART, "Content-Type: message/rfc822\n\n" + inner))
    [attached] = parsed.attachments
    assert (attached.filename, attached.content_type) == ("Angebot für März.eml", "message/rfc822")
    assert b"Message-ID: <inner@x>" in attached.data and attached.data.rstrip().endswith(b"Body")
    assert parsed.text == "See attached.\n"  # the attached mail's text is not the body


def test_an_attached_mail_with_a_broken_multipart_and_8bit_bytes() -> None:
    inner = b"Subject: broken\nContent-Type: multipart/mixed; boundary=zz\n\ncaf\xe9 and no boundary at all\n"
    data = multipart(TEXT_PART, "Content-Type: message/rfc822\n\n@INNER@").replace(b"@INNER@", inner)
    [attached] = parse(data).attachments
    assert attached.filename == "broken.eml" and b"and no boundary at all" in attached.data


def test_inline_means_shown_by_the_html() -> None:
    html = 'Content-Type: text/html; charset=utf-8\n\n<p>Look: <img src="cid:shown@x"></p>\n'
    shown = "Content-Type: image/png\nContent-ID: <shown@x>\nContent-Transfer-Encoding: base64\n\niVBORw0KGgo=\n"
    unused = "Content-Type: image/png\nContent-ID: <unused@x>\nContent-Transfer-Encoding: base64\n\niVBORw0KGgo=\n"
    parsed = parse(multipart(html, shown, unused, kind="related"))
    assert [(a.content_id, a.inline, a.filename) for a in parsed.attachments] == [
        ("shown@x", True, "part-3.png"),
        ("unused@x", False, "part-4.png"),
    ]


def test_too_many_attachments_are_dropped_with_a_note() -> None:
    files = [
        f'Content-Type: text/plain\nContent-Disposition: attachment; filename="f{n}.txt"\n\nfile {n}\n'
        for n in range(25)
    ]
    parsed = parse(multipart(TEXT_PART, *files))
    assert [a.filename for a in parsed.attachments] == [f"f{n}.txt" for n in range(20)]
    assert parsed.repairs == tuple(f"attachment f{n}.txt dropped: over the limit of 20" for n in range(20, 25))
    assert parse(multipart(TEXT_PART, *files), limits=Limits(max_attachments=30)).repairs == ()


def test_calendar_invitations_are_kept_and_alternatives_are_not_attachments() -> None:
    alternative = (
        'Content-Type: multipart/alternative; boundary="b1"\n\n'
        "--b1\nContent-Type: text/plain\n\nMeeting\n"
        "--b1\nContent-Type: text/html\n\n<p>Meeting</p>\n"
        "--b1\nContent-Type: text/calendar; method=REQUEST\n\nBEGIN:VCALENDAR\nEND:VCALENDAR\n"
        "--b1--\n"
    )
    parsed = parse(multipart(alternative))
    assert [(a.filename, a.content_type) for a in parsed.attachments] == [("part-5.ics", "text/calendar")]
    assert (parsed.text, visible(parsed.html)) == ("Meeting", "Meeting")


# -- charsets


def test_undeclared_windows_1252(line_ends: str) -> None:
    mail = corpus("bad_charset_undeclared", line_ends)
    assert mail.text == (
        "Hallo,\n\nder Drucker im Büro druckt nur noch leere Seiten. Können Sie bitte zurückrufen?\n"
        "Der Toner laut Angebot kostet 89 € \u2013 \u201edringend\u201c wäre schön.\n\nViele Grüße\nRenée Müller\n"
    )
    assert mail.subject == "Drucker kaputt \u2013 bitte um Rückruf"  # raw 8-bit header bytes
    assert (mail.from_address, mail.from_name) == ("renee.mueller@kanzlei-mueller.example", "Renée Müller")
    assert mail.repairs == (
        "charset guessed as windows-1252 for part 1",
        "charset guessed for the From header",
        "charset guessed for the Subject header",
    )


def test_wrongly_declared_charsets_and_an_unknown_header_charset(line_ends: str) -> None:
    mail = corpus("bad_charset_wrong", line_ends)
    sentence = "la machine à café du 2e étage est en panne : le café sort froid."
    assert sentence in mail.text and "Merci d'avance \u2013 René" in mail.text
    assert sentence in mail.html
    assert mail.subject == "Café machine en panne"  # =?x-unknown?Q?Caf=E9...?=
    assert mail.from_name == "René Dupont"
    assert mail.repairs == (
        "charset guessed as windows-1252 for part 2 (declared us-ascii)",
        "charset guessed as windows-1252 for part 3 (declared utf-8)",
        "charset guessed for the From header",
        "charset guessed for the Subject header",
    )


def test_raw_utf8_headers_need_no_repair() -> None:
    parsed = parse(mail().replace(b"Subject: Hello", "Subject: Grüße aus Köln".encode()))
    assert parsed.subject == "Grüße aus Köln" and parsed.repairs == ()


def test_undeclared_utf8_and_cyrillic_bodies() -> None:
    assert parse(mail(body="Grüße", content_type="text/plain")).repairs == ("charset guessed as utf-8 for part 1",)
    russian = "Здравствуйте, принтер в офисе не печатает. Помогите, пожалуйста."
    parsed = parse(mail(content_type="text/plain").replace(b"\n\nHello\n", b"\n\n" + russian.encode("cp1251")))
    assert parsed.text == russian
    assert parsed.repairs == ("charset guessed as windows-1251 for part 1",)


def test_iso_8859_1_is_read_as_windows_1252() -> None:
    parsed = parse(
        mail(content_type="text/plain; charset=iso-8859-1").replace(b"\n\nHello", b"\n\n\x93quoted\x94 \x80 caf\xe9")
    )
    assert parsed.text == "\u201cquoted\u201d € café\n" and parsed.repairs == ()


# -- caps


def test_a_mail_over_the_size_cap_is_rejected() -> None:
    huge = mail(body="x" * (30 * 1024 * 1024))
    with pytest.raises(MailRejected) as rejected:
        parse(huge)
    assert rejected.value.reason == "The mail has 30.0 MB; mails over 25.0 MB are refused."


def test_too_many_parts() -> None:
    many = multipart(*[f"Content-Type: text/plain\n\npart {n}\n" for n in range(150)])
    with pytest.raises(MailRejected, match="more than 100 parts"):
        parse(many)
    assert len(parse(many, limits=Limits(max_parts=200, max_attachments=200)).text) > 0


def test_too_many_parts_in_nested_containers_are_refused_before_parsing() -> None:
    nested = multipart(*[f'Content-Type: multipart/mixed; boundary="c{n}"\n\n--c{n}--\n' for n in range(150)])
    with pytest.raises(MailRejected, match="more than 100 parts"):
        parse(nested)


def test_too_many_headers() -> None:
    headers = "".join(f"X-Filler-{n}: {n}\n" for n in range(600))
    with pytest.raises(MailRejected, match="more than 500 header fields"):
        parse(mail(headers))
    part = "Content-Type: text/plain\n" + headers + "\nbody\n"
    with pytest.raises(MailRejected, match="more than 500 header fields"):
        parse(multipart(TEXT_PART, part))


def nested_mail(depth: int) -> bytes:
    opening = "".join(f'Content-Type: multipart/mixed; boundary="n{n}"\n\n--n{n}\n' for n in range(depth))
    closing = "".join(f"\n--n{n}--\n" for n in reversed(range(depth)))
    return (
        "From: a@example.com\nSubject: deep\n" + opening + "Content-Type: text/plain\n\ndeep text" + closing
    ).encode()


def test_nesting_depth() -> None:
    assert parse(nested_mail(8)).text == "deep text"
    with pytest.raises(MailRejected, match="more than 8 levels deep"):
        parse(nested_mail(9))
    with pytest.raises(MailRejected, match="more than 8 levels deep"):
        parse(nested_mail(20), limits=Limits(max_parts=1000))


def test_thousands_of_levels_are_refused_without_recursion_errors() -> None:
    with pytest.raises(MailRejected):
        parse(nested_mail(5000))
    with pytest.raises(MailRejected, match="levels deep"):
        parse(nested_mail(5000), limits=Limits(max_parts=100_000))


def test_long_texts_are_cut() -> None:
    parsed = parse(mail(body="word " * 100_000), limits=Limits(max_text_chars=1000))
    assert len(parsed.text) == 1000 and len(parsed.reply_text) <= 1000
    assert parsed.repairs == ("text cut to 1000 characters",)


def test_five_megabytes_parse_well_under_a_second() -> None:
    """CPU time, so a busy machine does not fail it: a big attachment, and a big HTML newsletter."""
    blob = "QUJDREVGR0hJSktMTU5PUFFSU1RVVldYWVo0NTY3ODkwYWJjZGVmZ2hpamtsbW5vcHFyc3R1dnd4\n" * 68_000
    attachment = f"Content-Type: application/pdf; name=big.pdf\nContent-Transfer-Encoding: base64\n\n{blob}"
    html = "<div><p class=MsoNormal>Some <b>bold</b> text &amp; <a href='https://x.example/a'>a link</a></p></div>\n"
    newsletter = mail(body=html * 50_000, content_type="text/html; charset=utf-8")
    for data in (multipart(TEXT_PART, attachment), newsletter):
        assert len(data) > 5_000_000
        started = time.process_time()
        parse(data)
        assert time.process_time() - started < 0.8


# -- identity and trust


def test_content_hash_ignores_the_route() -> None:
    original = raw("gmail_reply_text")
    rerouted = re.sub(rb"(?m)^Received: .*\n(?:[ \t].*\n)*", b"", original)
    rerouted = rerouted.replace(b"Delivered-To: support@desk.example.com", b"Delivered-To: help@desk.example.com")
    rerouted = rerouted.replace(b"Return-Path: <", b"X-Forwarded-For: help@desk.example.com\nReturn-Path: <")
    rerouted = b"Received: from relay.example.net by mx2.desk.example.com; Tue, 4 Mar 2025 10:40:00 +0100\n" + rerouted
    rerouted = b"ARC-Seal: i=2; a=rsa-sha256; cv=pass; d=example.net; s=arc; b=Zm9v\n" + rerouted
    rerouted = b"DKIM-Signature: v=1; a=rsa-sha256; d=example.net; s=fwd; bh=YmFy; b=YmF6\n" + rerouted
    assert rerouted != original
    assert content_hash(rerouted) == content_hash(original) == content_hash(crlf(original))
    assert len(content_hash(original)) == 64


def test_content_hash_tells_different_mails_apart() -> None:
    original = raw("gmail_reply_text")
    assert content_hash(original.replace(b"prints again", b"prints fine")) != content_hash(original)
    assert content_hash(original.replace(b"Subject: Re:", b"Subject: AW:")) != content_hash(original)
    assert content_hash(original.replace(b"Message-ID: <CAF8x", b"Message-ID: <CAF9x")) != content_hash(original)
    assert len({content_hash(raw(name)) for name in NAMES}) == len(NAMES)


@pytest.mark.parametrize("name", NAMES)
def test_portal_headers_change_nothing(name: str) -> None:
    """X-Portal-* headers come from whoever wrote the mail: they must not steer anything."""
    data = raw(name)
    forged = b"X-Portal-Ticket: 5\nX-Portal-Customer: admin@desk.example.com\nX-Portal-Automatic: no\n" + data
    assert parse(forged) == parse(data)


def test_parsing_in_threads_gives_the_same_results() -> None:
    """The intake parses in asyncio.to_thread: nothing is shared between calls."""
    serial = [corpus(name) for name in NAMES * 3]
    with ThreadPoolExecutor(max_workers=6) as pool:
        threaded = list(pool.map(corpus, NAMES * 3))
    assert threaded == serial


@pytest.mark.parametrize(
    ("value", "address", "name"),
    [
        ('"Doe, Jane" <Jane.Doe@Example.COM>', "jane.doe@example.com", "Doe, Jane"),
        ("jane@example.com (Jane Doe)", "jane@example.com", "Jane Doe"),
        ("=?utf-8?q?J=C3=BCrgen?= <j@example.com>", "j@example.com", "Jürgen"),
        ('"', "", ""),  # the stdlib header parser raises IndexError on this one
        ("<a@", "", ""),
        ("undisclosed-recipients:;", "", ""),
        ("no address at all", "", ""),
    ],
)
def test_from_header_values(value: str, address: str, name: str) -> None:
    parsed = parse(mail().replace(b"From: Jane Doe <jane@example.com>", b"From: " + value.encode()))
    assert (parsed.from_address, parsed.from_name) == (address, name)


@pytest.mark.parametrize(
    ("headers", "in_reply_to", "references"),
    [
        ("In-Reply-To: <a@x> (Jane's message of Tuesday)\nReferences: <r1@x>\n <r2@x>", ("a@x",), ("r1@x", "r2@x")),
        ("In-Reply-To: a@x\nReferences: <r1@x><r2@x> <r1@x>", ("a@x",), ("r1@x", "r2@x")),
        ("In-Reply-To: <a@", (), ()),
        (
            "References: " + " ".join(f"<r{n}@x>" for n in range(300)),
            (),
            ("r0@x", *(f"r{n}@x" for n in range(201, 300))),
        ),
    ],
)
def test_threading_ids(headers: str, in_reply_to: tuple[str, ...], references: tuple[str, ...]) -> None:
    parsed = parse(mail(headers + "\n"))
    assert (parsed.in_reply_to, parsed.references) == (in_reply_to, references)


def test_missing_and_odd_headers() -> None:
    bare = parse(b"\njust a body\n")
    assert (bare.message_id, bare.from_address, bare.subject, bare.date, bare.text) == (
        "",
        "",
        "",
        None,
        "just a body\n",
    )
    assert parse(mail().replace(b"Date: Tue, 4 Mar 2025 10:00:00 +0100", b"Date: yesterday")).date is None
    no_zone = parse(mail().replace(b"+0100", b"-0000")).date
    assert no_zone == datetime(2025, 3, 4, 10, 0, tzinfo=UTC)


@pytest.mark.parametrize("name", NAMES)
def test_every_corpus_mail_parses_the_same_with_crlf(name: str) -> None:
    parsed, parsed_crlf = corpus(name), corpus(name, "crlf")
    assert parsed_crlf == parsed
    assert parsed.date is not None and parsed.date.tzinfo is UTC
    assert parsed.from_address and parsed.message_id
