"""Readable plain text from a mail's HTML, for search, notifications and mails sent without a text part.

Blocks become lines, ``<br>`` a line break, list items "- ", quoted blocks "> " (so the quote finder sees
them), links keep their address in brackets when it differs from their text. Script, style and head are
dropped. Outlook's ``<p class=MsoNormal>`` has no margins, so it is a line, while a plain ``<p>`` is a
paragraph followed by a blank line.

libxml2 (through lxml, which quotequail brings) parses: it copes with any tag soup, and it is fast enough
for a megabyte of newsletter HTML, where the standard library's parser takes seconds.
"""

from __future__ import annotations

import re
from typing import Any

import lxml.etree
import lxml.html

_SKIP = {"script", "style", "head", "title", "template", "noscript", "xml"}
_BLOCK = {
    "address",
    "article",
    "aside",
    "blockquote",
    "center",
    "dd",
    "div",
    "dl",
    "dt",
    "fieldset",
    "figcaption",
    "figure",
    "footer",
    "form",
    "h1",
    "h2",
    "h3",
    "h4",
    "h5",
    "h6",
    "header",
    "hr",
    "li",
    "main",
    "nav",
    "ol",
    "p",
    "pre",
    "section",
    "table",
    "tbody",
    "thead",
    "tfoot",
    "tr",
    "ul",
}
_PARAGRAPH = {"blockquote", "p", "h1", "h2", "h3", "h4", "h5", "h6", "table", "ul", "ol", "pre"}
_SPACES = re.compile(r"[ \t\r\n\f\v\u00a0\u200b]+")
_BLANK_RUNS = re.compile(r"\n{3,}")
_XML_ILLEGAL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f]")


def parse_html(html: str) -> Any | None:
    """An lxml document for any HTML string, or None when it holds no markup at all."""
    data = _XML_ILLEGAL.sub("", html).encode("utf-8", "replace")
    try:  # huge_tree: libxml2 otherwise drops documents nested deeper than 256 (this code walks without recursion)
        parser = lxml.html.HTMLParser(encoding="utf-8", huge_tree=True)  # one per call: threads parse at once
        return lxml.html.document_fromstring(data, parser=parser)
    except (lxml.etree.ParserError, ValueError):
        return None  # an empty document


def html_to_text(html: str) -> str:
    """Plain text of an HTML document or fragment; "" for markup without text."""
    doc = parse_html(html)
    return "" if doc is None else tree_to_text(doc)


def tree_to_text(doc: Any) -> str:
    writer = _TextWriter()
    for event, el in lxml.etree.iterwalk(doc, events=("start", "end", "comment", "pi")):
        tag = el.tag.lower() if isinstance(el.tag, str) else ""
        if event == "start":
            writer.start(tag, el)
        elif event == "end":
            writer.end(tag, el)
        if event != "start":
            writer.data(el.tail)  # text after the element (or comment) belongs to its parent
    writer.flush()
    text = "\n".join(writer.lines)
    return _BLANK_RUNS.sub("\n\n", text).strip("\n").rstrip()


class _TextWriter:
    def __init__(self) -> None:
        self.lines: list[str] = []
        self._inline: list[str] = []
        self._skip = 0
        self._quote = 0
        self._pre = 0
        self._links: list[tuple[str, int]] = []

    def flush(self, *, keep_empty: bool = False) -> None:
        raw = "".join(self._inline)
        self._inline = []
        if self._pre:
            lines = raw.split("\n")
        else:
            line = _SPACES.sub(" ", raw).strip()
            if not line and not (keep_empty or "\u00a0" in raw):
                return
            lines = [line]
        prefix = "> " * self._quote
        self.lines.extend((prefix + line).rstrip() for line in lines)

    def _blank(self) -> None:
        prefix = ("> " * self._quote).rstrip()
        if self.lines and self.lines[-1] != prefix:
            self.lines.append(prefix)

    def data(self, text: str | None) -> None:
        if text and not self._skip:
            self._inline.append(text)

    def start(self, tag: str, el: Any) -> None:
        if tag in _SKIP or self._skip:
            self._skip += 1
            return
        tag = _as_line(tag, el)
        if tag == "br":
            self.flush(keep_empty=True)
        elif tag in _BLOCK:
            self.flush()
            if tag == "blockquote":
                self._quote += 1
            elif tag == "pre":
                self._pre += 1
            elif tag == "li":
                self._inline.append("- ")
            elif tag == "hr":
                self.lines.append("> " * self._quote + "---")
        elif tag in ("td", "th"):
            self._inline.append(" ")
        elif tag == "a":
            self._links.append((el.get("href") or "", len(self._inline)))
        self.data(el.text)

    def end(self, tag: str, el: Any) -> None:
        if self._skip:
            self._skip -= 1
            return
        tag = _as_line(tag, el)
        if tag in _BLOCK:
            self.flush()
            if tag == "blockquote":
                while self.lines and self.lines[-1] == ("> " * self._quote).rstrip():
                    self.lines.pop()
                self._quote -= 1
            elif tag == "pre":
                self._pre -= 1
            if tag in _PARAGRAPH:
                self._blank()
        elif tag == "a" and self._links:
            href, start = self._links.pop()
            text = _SPACES.sub(" ", "".join(self._inline[start:])).strip()
            if href.startswith(("http://", "https://")) and text and href.rstrip("/") != text.rstrip("/"):
                self._inline.append(f" ({href})")


def _as_line(tag: str, el: Any) -> str:
    """Outlook's ``<p class="MsoNormal">`` has no margins: a line (div), not a paragraph."""
    if tag == "p" and "msonormal" in (el.get("class") or "").lower():
        return "div"
    return tag
