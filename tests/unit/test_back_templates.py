"""Back-office templates build their addresses with ``url_for('domain:action', ...)``, never with a
literal ``/back/...`` path, so a moved route cannot leave a stale link or form action behind."""

from __future__ import annotations

import re

from portal.web.templating import TEMPLATES

BACK_OFFICE = ("back", "backoffice", "booking/back", "tickets/back")
LITERAL = re.compile(r"""["']/back\b[^"']*""")  # an attribute value or a Jinja string that is a /back path


def back_office_templates() -> list:
    return sorted(path for folder in BACK_OFFICE for path in (TEMPLATES / folder).rglob("*.html"))


def test_the_back_office_folders_hold_templates():
    assert len(back_office_templates()) > 40


def test_no_back_office_template_has_a_literal_back_url():
    found = [
        f"{path.relative_to(TEMPLATES)}:{text[: m.start()].count(chr(10)) + 1}: {m.group(0)}"
        for path in back_office_templates()
        for text in [path.read_text()]
        for m in LITERAL.finditer(text)
    ]
    assert found == []


def test_the_check_sees_literal_urls_in_attributes_and_expressions():
    for sample in ('<a href="/back">', '<form action="/back/users/1/role">', "{% set a = '/back/services/' ~ s.id %}"):
        assert LITERAL.search(sample), sample
    assert not LITERAL.search("""<a href="{{ url_for('back:users') }}">{% include "booking/back/_book.html" %}""")
