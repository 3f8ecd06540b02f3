"""User-written Markdown to safe HTML, rendered once when a message is written.

Two layers, on purpose:

1. markdown-it-py (CommonMark, raw HTML *disabled*, plus tables and strikethrough) turns the
   source into HTML. Our own image rule emits an ``<img>`` only for our attachment URLs and
   prints the alt text otherwise; table alignment becomes an ``align`` attribute.
2. nh3 (ammonia) sanitises that HTML against a small allowlist anyway: Markdown link and image
   syntax can still carry ``javascript:`` and friends, and a renderer bug must not become an XSS.
   Its ``attribute_filter`` applies our URL policy to ``href`` and ``src``.

URL policy: links may point to http, https and mailto URLs, or to a URL under one of the
``attachment_url_prefixes`` given by the caller; any other href (relative elsewhere, other
schemes) is dropped and the link text stays. Images are kept only under those prefixes: no
remote images (tracking pixels), no ``data:`` URLs.

Stored messages are viewer-neutral: ``render_stored`` turns each attachment URL into a reference
``attachment:<id>``, and ``resolve_attachment_urls`` turns the references into the URL of whoever
reads the page (the customer's page, a guest link, the console). A URL baked in at write time
would break for the other viewers and after a merge (the ticket number changes).
"""

from __future__ import annotations

import functools
import html
import re
from collections.abc import Callable, Sequence
from typing import Any
from urllib.parse import unquote

import nh3
from markdown_it import MarkdownIt
from markdown_it.common.utils import escapeHtml
from markdown_it.renderer import RendererHTML
from markdown_it.token import Token
from markdown_it.utils import EnvType, OptionsDict

__all__ = [
    "ALLOWED_TAGS",
    "ALLOWED_ATTRIBUTES",
    "LINK_REL",
    "URL_SCHEMES",
    "render_markdown",
    "render_stored",
    "resolve_attachment_urls",
    "markdown_to_text",
]

ALLOWED_TAGS: frozenset[str] = frozenset(
    {
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
)
ALLOWED_ATTRIBUTES: dict[str, frozenset[str]] = {
    "a": frozenset({"href", "title"}),  # nh3 adds rel (LINK_REL) itself
    "img": frozenset({"src", "alt", "title"}),
    "ol": frozenset({"start"}),
    "th": frozenset({"align"}),
    "td": frozenset({"align"}),
}
URL_SCHEMES: frozenset[str] = frozenset({"http", "https", "mailto"})
LINK_REL = "nofollow noopener noreferrer"

_SCHEME = re.compile(r"([A-Za-z][A-Za-z0-9+.\-]*):")
# Whitespace and control characters: markdown-it percent-encodes them, so their presence in a
# URL attribute means something odd; browsers strip or ignore some of them (java\tscript:).
_URL_BAD_CHARS = re.compile(r"[\x00-\x20\x7f-\x9f\\]")
_ALIGN_STYLE = re.compile(r"text-align:(left|right|center)")
# nh3's serialiser always writes double-quoted attribute values with '"' escaped, so this
# matches its <img> tags exactly.
_IMG_TAG = re.compile(r'<img((?:\s+[^\s"\'>/=]+(?:="[^"]*")?)*)\s*/?>')
_ALT_ATTR = re.compile(r'\salt="([^"]*)"')
_SRC_ATTR = re.compile(r'\ssrc="')


def _under_prefix(url: str, prefixes: tuple[str, ...]) -> bool:
    """True when url starts with one of the prefixes and does not climb out of it."""
    if _URL_BAD_CHARS.search(url):
        return False
    for prefix in prefixes:
        if url.startswith(prefix):
            path = url[len(prefix) :].split("#", 1)[0].split("?", 1)[0]
            return not any(unquote(segment) in (".", "..") for segment in path.split("/"))
    return False


def _href_allowed(url: str, prefixes: tuple[str, ...]) -> bool:
    if _under_prefix(url, prefixes):
        return True
    if _URL_BAD_CHARS.search(url):
        return False
    scheme = _SCHEME.match(url)
    return scheme is not None and scheme.group(1).lower() in URL_SCHEMES


def _render_image(self: RendererHTML, tokens: Sequence[Token], idx: int, options: OptionsDict, env: EnvType) -> str:
    """markdown-it image rule: an <img> only for our own attachment URLs, else the alt text."""
    token = tokens[idx]
    alt = self.renderInlineAsText(token.children or [], options, env)
    src = token.attrGet("src") or ""
    if not isinstance(src, str) or not _under_prefix(src, env.get("attachment_url_prefixes", ())):
        return escapeHtml(alt)
    title = token.attrGet("title")
    title_attr = f' title="{escapeHtml(str(title))}"' if title else ""
    return f'<img src="{escapeHtml(src)}" alt="{escapeHtml(alt)}"{title_attr}>'


def _make_markdown() -> MarkdownIt:
    md = MarkdownIt("commonmark", {"html": False, "linkify": False, "breaks": True})
    for rule in ("table", "strikethrough"):
        try:
            md.enable(rule)
        except ValueError:  # pragma: no cover - both ship with markdown-it-py >= 3
            pass
    # html=False already makes these rules print raw HTML as text; switching them off as well
    # keeps it so even if options change.
    md.disable(["html_block", "html_inline"])
    md.add_render_rule("image", _render_image)
    return md


_MD = _make_markdown()


@functools.lru_cache(maxsize=64)
def _cleaner(prefixes: tuple[str, ...]) -> Callable[[str], str]:
    def attribute_filter(element: str, attribute: str, value: str) -> str | None:
        if attribute == "href":
            return value if _href_allowed(value, prefixes) else None
        if attribute == "src":
            return value if element == "img" and _under_prefix(value, prefixes) else None
        if attribute == "align":
            return value if value in ("left", "right", "center") else None
        if attribute == "start":
            return value if value.isascii() and value.isdecimal() and len(value) <= 9 else None
        return value

    options: dict[str, Any] = dict(
        tags=set(ALLOWED_TAGS),
        clean_content_tags={"script", "style"},
        attributes={tag: set(attrs) for tag, attrs in ALLOWED_ATTRIBUTES.items()},
        attribute_filter=attribute_filter,
        strip_comments=True,
        link_rel=LINK_REL,
        url_schemes=set(URL_SCHEMES),
    )
    if hasattr(nh3, "Cleaner"):  # newer nh3: reusable, built once per prefix set
        return nh3.Cleaner(**options).clean
    return functools.partial(nh3.clean, **options)  # pragma: no cover - older nh3


def _drop_srcless_images(fragment: str) -> str:
    """An <img> whose src the sanitiser removed becomes its alt text (plain, escaped)."""

    def replace(match: re.Match[str]) -> str:
        attrs = match.group(1)
        if _SRC_ATTR.search(attrs):
            return match.group(0)
        alt = _ALT_ATTR.search(attrs)
        return html.escape(html.unescape(alt.group(1)), quote=False) if alt else ""

    return _IMG_TAG.sub(replace, fragment)


def _sanitize(fragment: str, prefixes: tuple[str, ...]) -> str:
    cleaned = _cleaner(prefixes)(fragment)
    return _drop_srcless_images(cleaned) if "<img" in cleaned else cleaned


def render_markdown(source: str, *, attachment_url_prefixes: tuple[str, ...] = ()) -> str:
    """Markdown source to sanitised HTML, safe to mark as such in templates.

    ``attachment_url_prefixes`` are the URL prefixes of our own attachments (for example
    ``"/tickets/12/attachments/"``): images are shown only from there, and relative links only
    to there. Empty prefixes are ignored.
    """
    if isinstance(attachment_url_prefixes, str):  # one prefix given bare: not its characters
        attachment_url_prefixes = (attachment_url_prefixes,)
    prefixes = tuple(p for p in attachment_url_prefixes if p)
    env = {"attachment_url_prefixes": prefixes}
    tokens = _MD.parse(source, env)
    for token in tokens:
        if token.type in ("th_open", "td_open") and token.attrs:
            style = token.attrs.pop("style", None)
            found = _ALIGN_STYLE.fullmatch(str(style or ""))
            if found:
                token.attrs["align"] = found.group(1)
    return _sanitize(_MD.renderer.render(tokens, _MD.options, env), prefixes).strip()


def markdown_to_text(source: str) -> str:
    """The plain-text counterpart (e-mail text parts): Markdown is readable as it is."""
    return source.replace("\r\n", "\n").replace("\r", "\n")


# --- viewer-neutral attachment references -------------------------------------------------------

ATTACHMENT_REF = "attachment:"
# nh3's output (and so every stored message) has double-quoted attribute values with '"' escaped;
# '>' may stay raw inside a value (a title), hence the attribute-wise tag pattern.
_LINK_OR_IMG_TAG = re.compile(r'<(?:a|img)((?:\s+[^\s"\'>/=]+(?:="[^"]*")?)*)\s*/?>')
_URL_ATTR = re.compile(r'(\s(?:href|src)=")([^"]*)(")')
_ATTACHMENT_ID = re.compile(r"(\d{1,18})(?:[/?#]|$)")
# Messages stored before the references: the customer-page URL of the ticket they were written
# on. The number is ignored (a merge moves attachments to another ticket); only the id counts.
_LEGACY_ATTACHMENT_URL = re.compile(r"/tickets/\d{1,18}/attachments/(\d{1,18})(?:[/?#]|$)")
_STORED_REF = re.compile(re.escape(ATTACHMENT_REF) + r"(\d{1,18})$")


def _rewrite_url_attrs(fragment: str, rewrite: Callable[[str], str | None]) -> str:
    """Apply ``rewrite`` to every href/src of the links and images in sanitised HTML; None drops
    the attribute (an image without src then becomes its alt text)."""

    def attr(match: re.Match[str]) -> str:
        old = html.unescape(match.group(2))
        value = rewrite(old)
        if value == old:
            return match.group(0)
        return "" if value is None else f"{match.group(1)}{html.escape(value)}{match.group(3)}"

    def tag(match: re.Match[str]) -> str:
        whole, attrs = match.group(0), match.group(1)
        return whole.replace(attrs, _URL_ATTR.sub(attr, attrs), 1)

    rewritten = _LINK_OR_IMG_TAG.sub(tag, fragment)
    return _drop_srcless_images(rewritten) if "<img" in rewritten else rewritten


def render_stored(source: str, *, attachment_url_prefixes: tuple[str, ...]) -> str:
    """``render_markdown`` for storing: URLs under the prefixes become ``attachment:<id>``, and one
    under a prefix that names no attachment id is dropped, so no viewer's URL is stored."""
    prefixes = tuple(p for p in attachment_url_prefixes if p)

    def to_reference(url: str) -> str | None:
        prefix = next((p for p in prefixes if url.startswith(p)), None)
        if prefix is None:
            return url
        found = _ATTACHMENT_ID.match(url[len(prefix) :])
        return f"{ATTACHMENT_REF}{int(found.group(1))}" if found else None

    return _rewrite_url_attrs(render_markdown(source, attachment_url_prefixes=prefixes), to_reference)


def resolve_attachment_urls(fragment: str, base: str) -> str:
    """A stored message's HTML for one viewer: each attachment reference (and each customer-page
    attachment URL of messages stored before references) becomes ``{base}/attachments/<id>``.

    ``base`` is the viewer's ticket URL (``/tickets/12``, ``/t/<token>``, ``/back/tickets/12``).
    The download routes still decide who may fetch what (internal notes' files stay hidden from
    customers); this only points each viewer at the route they can use."""
    if ATTACHMENT_REF not in fragment and "/attachments/" not in fragment:
        return fragment

    def to_viewer(url: str) -> str:
        found = _STORED_REF.match(url) or _LEGACY_ATTACHMENT_URL.match(url)
        return f"{base}/attachments/{int(found.group(1))}" if found else url

    return _rewrite_url_attrs(fragment, to_viewer)


# --- mail ------------------------------------------------------------------------------------------

CID_REF = "cid:"
_REMOTE = re.compile(r"^https?://", re.IGNORECASE)


@functools.lru_cache(maxsize=2)
def _mail_cleaner(remote_images: bool) -> Callable[[str], str]:
    """The same allowlist as messages, for a mail's HTML: images from ``cid:`` parts of the mail
    (stored as its attachments), and remote images only when an agent asked to load them."""

    def attribute_filter(element: str, attribute: str, value: str) -> str | None:
        if attribute == "href":
            return value if _href_allowed(value, ()) else None
        if attribute == "src":
            if element != "img" or _URL_BAD_CHARS.search(value):
                return None
            if value.lower().startswith(CID_REF) or (remote_images and _REMOTE.match(value)):
                return value
            return None
        if attribute == "align":
            return value if value in ("left", "right", "center") else None
        if attribute == "start":
            return value if value.isascii() and value.isdecimal() and len(value) <= 9 else None
        return value

    return nh3.Cleaner(
        tags=set(ALLOWED_TAGS) | {"div", "span", "u", "b", "i", "small", "sup", "sub", "caption", "tfoot"},
        clean_content_tags={"script", "style", "title", "head"},
        attributes={tag: set(attrs) for tag, attrs in ALLOWED_ATTRIBUTES.items()},
        attribute_filter=attribute_filter,
        strip_comments=True,
        link_rel=LINK_REL,
        url_schemes=set(URL_SCHEMES) | {"cid"},
    ).clean


def has_remote_images(fragment: str) -> bool:
    """Whether a mail's HTML shows images from elsewhere (blocked until an agent loads them)."""
    return bool(re.search(r"<img\b[^>]*\ssrc\s*=\s*[\"']?\s*https?://", fragment, re.IGNORECASE))


def sanitize_mail_html(fragment: str, *, remote_images: bool = False) -> str:
    """A received mail's HTML, safe to show: our allowlist; remote images become their alt text
    unless ``remote_images`` (tracking pixels load only when someone chooses to)."""
    cleaned = _mail_cleaner(remote_images)(fragment)
    return (_drop_srcless_images(cleaned) if "<img" in cleaned else cleaned).strip()


def link_inline_images(fragment: str, attachment_ids: dict[str, int]) -> str:
    """``cid:<content-id>`` images of a stored mail → ``attachment:<id>`` references (the part was
    stored as that attachment); an unknown content id drops the image (its alt text stays)."""

    def rewrite(url: str) -> str | None:
        if not url.lower().startswith(CID_REF):
            return url
        found = attachment_ids.get(unquote(url[len(CID_REF) :]).strip("<>"))
        return f"{ATTACHMENT_REF}{found}" if found else None

    return _rewrite_url_attrs(fragment, rewrite)


def render_plain_text(text: str) -> str:
    """A plain-text mail as HTML: paragraphs and line breaks kept, everything escaped."""
    paragraphs = [p.strip("\n") for p in re.split(r"\n\s*\n", text.replace("\r\n", "\n")) if p.strip()]
    return "".join(f"<p>{html.escape(p).replace(chr(10), '<br>')}</p>" for p in paragraphs)
