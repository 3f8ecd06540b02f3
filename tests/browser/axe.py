"""axe-core in the browser tests: ``assert_accessible(page)`` fails on any critical or serious violation.

axe is vendored (tests/browser/vendor: the npm package's axe.min.js, version and SHA256 in
SHA256SUMS, see the README there). ``serve_axe`` makes a path answer with it in one browser context
only (``context.route``), and the page loads it with a ``<script src>`` of its own origin: the
portal's CSP allows scripts from 'self', so the page is checked under its real policy and the
portal has no test-only route.

A page of a context with JavaScript disabled cannot run axe (its timers never fire). Its HTML, as the
browser built it, is shown in a scripted context on the same origin with the page's own scripts
blocked and ``<noscript>`` content kept, and checked there.
"""

from __future__ import annotations

import hashlib
import re
import weakref
from pathlib import Path

from playwright.sync_api import BrowserContext, Page, Route

VENDOR = Path(__file__).resolve().parent / "vendor"
AXE_FILE = VENDOR / "axe-4.14.1.min.js"
AXE_PATH = "/__browser-tests__/axe.min.js"
FAILING_IMPACTS = ("critical", "serious")
RUN_OPTIONS = {"runOnly": {"type": "tag", "values": ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "best-practice"]}}


def _axe_source() -> bytes:
    data = AXE_FILE.read_bytes()
    sums = dict(line.split()[::-1] for line in (VENDOR / "SHA256SUMS").read_text().splitlines() if line.strip())
    digest = hashlib.sha256(data).hexdigest()
    assert sums.get(AXE_FILE.name) == digest, f"{AXE_FILE} does not match SHA256SUMS ({digest})"
    return data


AXE_SOURCE = _axe_source()
_WITHOUT_JAVASCRIPT: weakref.WeakSet[BrowserContext] = weakref.WeakSet()


def prepare(context: BrowserContext, *, java_script_enabled: bool = True) -> None:
    """Called by the ``new_page`` fixture for every context it makes."""
    serve_axe(context)
    if not java_script_enabled:
        _WITHOUT_JAVASCRIPT.add(context)


def serve_axe(context: BrowserContext) -> None:
    """Make ``AXE_PATH`` answer with axe in every page of ``context`` (the request never leaves the browser)."""

    def fulfil(route: Route) -> None:
        route.fulfill(status=200, body=AXE_SOURCE, headers={"Content-Type": "text/javascript; charset=utf-8"})

    context.route(f"**{AXE_PATH}", fulfil)


def _describe(violations: list[dict]) -> str:
    lines = []
    for v in violations:
        lines.append(f"- [{v['impact']}] {v['id']}: {v['help']} ({v['helpUrl']})")
        for node in v["nodes"][:6]:
            summary = " ".join((node.get("failureSummary") or "").split())
            lines.append(f"    {' '.join(map(str, node['target']))}: {node['html'][:160]} — {summary[:240]}")
        if len(v["nodes"]) > 6:
            lines.append(f"    … and {len(v['nodes']) - 6} more")
    return "\n".join(lines)


def axe_violations(page: Page) -> list[dict]:
    """The critical and serious violations axe finds in ``page`` as it is now (axe served by ``serve_axe``)."""
    if not page.evaluate("() => typeof window.axe === 'object'"):
        page.add_script_tag(url=AXE_PATH)
    results = page.evaluate("options => axe.run(document, options)", RUN_OPTIONS)
    return [v for v in results["violations"] if v.get("impact") in FAILING_IMPACTS]


def assert_accessible(page: Page, what: str = "") -> None:
    """Fail when axe finds a critical or serious violation on ``page``, listing each with its elements."""
    checked = _scripted_copy(page) if page.context in _WITHOUT_JAVASCRIPT else page
    try:
        violations = axe_violations(checked)
    finally:
        if checked is not page:
            checked.context.close()
    label = what or page.url
    assert not violations, f"axe: {len(violations)} critical/serious violation(s) on {label}:\n{_describe(violations)}"


def _scripted_copy(page: Page) -> Page:
    """``page``'s HTML in a scripted context of the same origin, its own scripts blocked."""
    html = re.sub(r"<(/?)noscript>", r"<\1div>", page.content())
    browser = page.context.browser
    assert browser is not None
    context = browser.new_context()
    serve_axe(context)
    context.route(re.compile(r"/static/.*\.js(\?.*)?$"), lambda route: route.abort())
    copy = context.new_page()
    copy.route(page.url, lambda route: route.fulfill(status=200, body=html, headers={"Content-Type": "text/html"}))
    copy.goto(page.url)
    return copy
