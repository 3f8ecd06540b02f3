"""Reads the forms and links of rendered pages, so that tests can send hostile values to every field
a page offers (derived from the app itself, not from a hand-kept list)."""

from __future__ import annotations

from dataclasses import dataclass, field
from html.parser import HTMLParser
from urllib.parse import parse_qsl, urlsplit


@dataclass
class Form:
    method: str
    action: str
    fields: dict[str, str] = field(default_factory=dict)  # name -> the value the page put there
    types: dict[str, str] = field(default_factory=dict)  # name -> input type (text, date, number, …)
    multipart: bool = False

    @property
    def key(self) -> tuple:
        return self.method, self.action, tuple(sorted(self.fields))


class _PageParser(HTMLParser):
    def __init__(self, page_url: str) -> None:
        super().__init__(convert_charrefs=True)
        self.page_url = page_url
        self.forms: list[Form] = []
        self.links: set[str] = set()
        self._form: Form | None = None
        self._select: str | None = None
        self._textarea: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        for attr in ("href", "hx-get"):
            if a.get(attr, "").startswith("/") or a.get(attr, "").startswith("?"):
                self.links.add(a[attr])
        if tag == "form":
            action = a.get("action") or a.get("hx-post") or a.get("hx-get") or self.page_url
            method = "POST" if (a.get("method", "get").lower() == "post" or "hx-post" in a) else "GET"
            self._form = Form(method, action, multipart="multipart" in a.get("enctype", ""))
            self.forms.append(self._form)
        elif self._form is not None and tag in ("input", "select", "textarea", "button") and a.get("name"):
            name, kind = a["name"], a.get("type", tag).lower()
            if name == "_csrf_token" or kind in ("submit", "button", "reset"):
                return
            if kind in ("checkbox", "radio") and "checked" not in a and name in self._form.fields:
                return
            self._form.fields[name] = a.get("value", "") if kind not in ("select", "textarea") else ""
            self._form.types[name] = kind
            if tag == "select":
                self._select = name
            elif tag == "textarea":
                self._textarea = name
        elif tag == "option" and self._form is not None and self._select:
            if not self._form.fields.get(self._select) or "selected" in a:
                self._form.fields[self._select] = a.get("value", "")

    def handle_data(self, data: str) -> None:
        if self._form is not None and self._textarea:
            self._form.fields[self._textarea] += data

    def handle_endtag(self, tag: str) -> None:
        if tag == "form":
            self._form = None
        elif tag == "select":
            self._select = None
        elif tag == "textarea":
            self._textarea = None


def read_page(page_url: str, html: str) -> tuple[list[Form], dict[str, set[str]]]:
    """The page's forms, and the query parameters its links use: {path: {param names}}."""
    parser = _PageParser(page_url)
    parser.feed(html)
    params: dict[str, set[str]] = {}
    for link in parser.links:
        parts = urlsplit(link if link.startswith("/") else urlsplit(page_url).path + link)
        names = {name for name, _ in parse_qsl(parts.query, keep_blank_values=True)}
        if names:
            params.setdefault(parts.path, set()).update(names)
    for form in parser.forms:
        form.action = form.action.split("#")[0]
    return parser.forms, params
