"""No emoji in what the portal shows or mails: without an emoji font (many Linux desktops, some mail
clients) they render as empty boxes. Icons are inline SVG (templates/_icons.html) beside words."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
# Pictographs, dingbats and symbols that fonts without emoji lack, and the emoji presentation selector.
EMOJI = re.compile("[\U0001f000-\U0001faff\u2600-\u27bf\u2b00-\u2bff\ufe0f]")


def test_templates_and_static_files_have_no_emoji():
    found = []
    for folder, pattern in (
        ("templates", "*.*"),
        ("static/css", "*.css"),
        ("static/js", "*.js"),
        ("static/img", "*.svg"),
    ):
        for path in sorted((ROOT / folder).rglob(pattern)):
            for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
                if EMOJI.search(line):
                    found.append(f"{path.relative_to(ROOT)}:{number}: {line.strip()[:80]}")
    assert not found, "emoji (use an SVG icon or words):\n" + "\n".join(found)
