"""What the customer typed: a reply's quoted history cut off, in plain text and in HTML.

Three passes, each only ever cutting from a point to the end:

1. Our own marker line ("##- Please type your reply above this line -##"), wherever the client put it.
2. The shapes clients give the quoted history: Outlook's "From: … Sent: …" header block (text) and its
   ``border-top`` div or ``divRplyFwdMsg`` (HTML), Gmail's ``gmail_quote``, Apple Mail's and Thunderbird's
   ``<blockquote type="cite">``, Yahoo's ``yahoo_quoted``.
3. quotequail, which knows the "On … wrote:" lines of many clients and languages and the forward
   separators; the intro line is cut with the quote. Trailing "> " lines go last (text).

When cutting would leave nothing (a customer who wrote below the quote), the whole text is kept.
"""

from __future__ import annotations

import re
from typing import Any

import lxml.etree
import lxml.html
import quotequail

from portal.mailin.htmltext import html_to_text, parse_html

_FROM_LINE = re.compile(r"^\s*\*?(from|von|de|van|från|fra|da|od|от)\s*:\*?\s*\S", re.IGNORECASE)
_SENT_LINE = re.compile(
    r"^\s*\*?(sent|date|gesendet|datum|envoyé|enviado|enviada|verzonden|skickat|sendt|inviato|data|wysłano"
    r"|отправлено)\s*:",
    re.IGNORECASE,
)
_OUTLOOK_BORDER = re.compile(r"border-top:\s*solid\b[^;]*;\s*padding:\s*3\.0pt", re.IGNORECASE)
_QUOTE_CLASSES = {"gmail_quote", "gmail_quote_container", "yahoo_quoted", "moz-cite-prefix"}
_QUOTEQUAIL_MAX = 150_000  # characters of HTML; above that only the structural passes run
_NO_LIMIT = 10_000_000  # quotequail quotes everything after `limit` lines unless told otherwise
_SCAN_LINES = 1000  # quotequail looks for "On … wrote:" in the first lines only (a person's reply is short)
# Elements that may start the quoted history, found by libxml2 rather than a Python loop over the tree;
# _starts_quote() decides. The second form adds the elements whose own text holds the marker.
_QUOTE_XPATH = (
    "@id='divRplyFwdMsg' or @id='appendonsend' or contains(@class, 'gmail_quote')"
    " or contains(@class, 'yahoo_quoted') or contains(@class, 'moz-cite-prefix')"
    " or (local-name()='blockquote' and @type) or (local-name()='div' and contains(@style, 'order-top'))"
)


# -- plain text


def strip_text(text: str, marker: str) -> str:
    """The reply in ``text`` without the quoted history below it."""
    lines = text.split("\n")
    lines = _cut_at_marker(lines, marker)
    lines = _cut_at_header_block(lines)
    head = lines[:_SCAN_LINES]
    parts = quotequail.quote("\n".join(head), limit=_NO_LIMIT, quote_intro_line=True)
    if len(parts) > 1:
        lines = parts[0][1].split("\n")
    lines = _drop_trailing_quote(lines)
    reply = "\n".join(lines).strip("\n").rstrip()
    return reply or text.strip("\n").rstrip()


def _cut_at_marker(lines: list[str], marker: str) -> list[str]:
    if marker:
        for index, line in enumerate(lines):
            if marker in line:
                return lines[:index]
    return lines


def _cut_at_header_block(lines: list[str]) -> list[str]:
    """Outlook quotes with a header block ("From: …" then "Sent: …") and no "wrote:" line."""
    for index, line in enumerate(lines):
        if _FROM_LINE.match(line) and any(_SENT_LINE.match(nxt) for nxt in lines[index + 1 : index + 4]):
            return lines[:index]
    return lines


def _drop_trailing_quote(lines: list[str]) -> list[str]:
    end = len(lines)
    while end and (not lines[end - 1].strip() or lines[end - 1].lstrip().startswith(">")):
        end -= 1
    return lines[:end]


# -- HTML


def strip_html(html: str, marker: str) -> str:
    """The reply in ``html`` without the quoted history; ``html`` itself when nothing was cut."""
    doc = parse_html(html)
    if doc is None:
        return html
    cut = _structural_cut(doc, marker)
    reply = lxml.html.tostring(doc, encoding="unicode") if cut else html
    if len(reply) <= _QUOTEQUAIL_MAX:
        parts = quotequail.quote_html(reply, limit=_NO_LIMIT, quote_intro_line=True)
        if len(parts) > 1:
            reply, cut = parts[0][1], True
    if not cut or not _has_content(reply):
        return html
    return reply


def _has_content(html: str) -> bool:
    return bool(html_to_text(html).strip()) or "<img" in html.lower()


def _structural_cut(doc: Any, marker: str) -> bool:
    """Cut at the first quote structure or marker, in document order; whether anything was cut.

    The marker may be wrapped over lines in the HTML source (Thunderbird does), so white space in it
    matches any white space."""
    if marker:  # (doc.xpath compiles per call: compiled XPath objects are not for sharing between threads)
        candidates = doc.xpath(
            f"//*[{_QUOTE_XPATH} or text()[contains(normalize-space(.), $m)]]", m=" ".join(marker.split())
        )
        pattern = re.compile(r"\s+".join(map(re.escape, marker.split())))
    else:
        candidates = doc.xpath(f"//*[{_QUOTE_XPATH}]")
    for el in candidates:  # in document order
        if _starts_quote(el):
            _cut_from(_with_separator(el))
        elif marker and (found := pattern.search(el.text or "")):
            quote = _outermost_blockquote(el)
            _cut_from(quote if quote is not None else _truncate_text(el, found.start()))
        elif marker and (tail := _marker_in_tail(el, pattern)) is not None:
            child, at = tail
            child.tail = child.tail[:at]
            _drop_following(child)
        else:
            continue
        _trim_end(doc)
        return True
    return False


def _marker_in_tail(el: Any, pattern: re.Pattern[str]) -> tuple[Any, int] | None:
    """The child of ``el`` whose tail holds the marker, and where."""
    for child in el:
        found = pattern.search(child.tail or "")
        if found:
            return child, found.start()
    return None


def _starts_quote(el: Any) -> bool:
    tag = el.tag.lower()
    ident = el.get("id") or ""
    if ident in ("divRplyFwdMsg", "appendonsend"):
        return True
    if _QUOTE_CLASSES.intersection((el.get("class") or "").split()):
        return True
    if tag == "blockquote" and (el.get("type") or "").lower() == "cite":
        return True
    return tag == "div" and bool(_OUTLOOK_BORDER.search(el.get("style") or ""))


def _with_separator(el: Any) -> Any:
    """Outlook on the web draws an ``<hr>`` right before its header block: cut it too."""
    previous = el.getprevious()
    if previous is not None and isinstance(previous.tag, str) and previous.tag.lower() == "hr":
        if not (previous.tail or "").strip():
            return previous
    return el


def _outermost_blockquote(el: Any) -> Any | None:
    found = None
    for ancestor in el.iterancestors():
        if isinstance(ancestor.tag, str) and ancestor.tag.lower() == "blockquote":
            found = ancestor
    return found


def _truncate_text(el: Any, at: int) -> Any:
    """Keep the text before ``at`` inside ``el``; returns the (now empty) node to cut from."""
    before = el.text[:at]
    if not before.strip() and el.getparent() is not None:
        return el
    el.text = before
    for child in list(el):
        el.remove(child)
    holder = lxml.html.Element("span")
    el.append(holder)
    return holder


def _cut_from(el: Any) -> None:
    """Remove ``el`` and everything after it in document order."""
    _drop_following(el)
    parent = el.getparent()
    if parent is not None:
        parent.remove(el)  # lxml removes the element's tail with it


def _drop_following(el: Any) -> None:
    """Remove what follows ``el`` in document order, except its own tail."""
    node = el
    while (parent := node.getparent()) is not None:
        for sibling in list(node.itersiblings()):
            parent.remove(sibling)
        if node is not el:
            node.tail = None
        node = parent


def _trim_end(doc: Any) -> None:
    """Drop the empty lines (``<br>``, empty blocks) a cut leaves at the end."""
    while True:
        last = doc
        while len(last):
            last = last[-1]
        parent = last.getparent()
        if parent is None or not _is_empty(last) or (last.tail or "").strip() or last.tag == "body":
            return
        parent.remove(last)


def _is_empty(el: Any) -> bool:
    if not isinstance(el.tag, str):
        return True
    tag = el.tag.lower()
    if tag == "br":
        return True
    return tag in ("div", "p", "span", "font", "o:p", "blockquote") and not (el.text or "").strip() and not len(el)
