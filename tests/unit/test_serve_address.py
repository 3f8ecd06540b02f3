"""Mailed links follow the address ``portal serve`` listens on unless PORTAL_BASE_URL says otherwise."""

from __future__ import annotations

import pytest
import uvicorn
from click.testing import CliRunner

from portal import cli
from portal import settings as settings_module
from portal.settings import get_settings, serve_base_url
from portal.web.templating import linkify


def test_serve_base_url():
    assert serve_base_url("127.0.0.1", 8041) == "http://127.0.0.1:8041"
    assert serve_base_url("0.0.0.0", 8041) == "http://127.0.0.1:8041"
    assert serve_base_url("::", 9000) == "http://127.0.0.1:9000"
    assert serve_base_url("::1", 9000) == "http://[::1]:9000"
    assert serve_base_url("desk.local", 80) == "http://desk.local:80"


@pytest.fixture
def served(monkeypatch, tmp_path):
    """``portal serve`` up to the point where uvicorn would start; returns the settings then in force."""
    seen = {}
    monkeypatch.setattr(uvicorn, "run", lambda *a, **k: seen.setdefault("settings", get_settings()))
    monkeypatch.setenv("PORTAL_VAR_DIR", str(tmp_path))
    monkeypatch.setenv("PORTAL_BASE_URL", "")  # whatever serve writes there is undone after the test
    monkeypatch.setattr(settings_module, "_active", None)  # restored after the test

    def serve(*args: str):
        result = CliRunner().invoke(cli.main, ["serve", "--no-migrate", *args])
        assert result.exit_code == 0, result.output
        return seen["settings"]

    return serve


def test_mailed_links_follow_the_served_port(served, monkeypatch):
    monkeypatch.delenv("PORTAL_BASE_URL")
    assert served("--port", "8041").base_url == "http://127.0.0.1:8041"


def test_an_explicit_base_url_wins(served, monkeypatch):
    monkeypatch.setenv("PORTAL_BASE_URL", "https://help.example.org/")
    assert served("--port", "8041").base_url == "https://help.example.org"


def test_linkify_escapes_and_links_only_http():
    html = str(
        linkify(
            "Go to https://a.example/x?a=1&b=2. Or (http://b.example/y), "
            "not javascript:alert(1) nor http://c.example/t/… <b>"
        )
    )
    assert (
        '<a href="https://a.example/x?a=1&amp;b=2" rel="noreferrer noopener">https://a.example/x?a=1&amp;b=2</a>.'
        in html
    )
    assert '(<a href="http://b.example/y" rel="noreferrer noopener">http://b.example/y</a>),' in html
    assert "javascript:alert(1)" in html and 'href="javascript' not in html
    assert "http://c.example/t/…" in html and 'href="http://c.example' not in html
    assert "&lt;b&gt;" in html and "<b>" not in html
