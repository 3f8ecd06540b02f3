import pytest

from portal.accounts.rules import (
    Actor,
    can_manage_user,
    email_problem,
    name_problem,
    normalize_email,
    password_problem,
)
from portal.clock import time_zones, timezone_problem


def test_email_rules():
    assert normalize_email("  Ann@Example.ORG ") == "ann@example.org"
    assert email_problem("ann@example.org") is None
    assert email_problem("ann.lee+desk@mail.example.co.uk") is None
    for bad in (
        "",
        "ann",
        "ann@",
        "@example.org",
        "ann@example",
        "a b@example.org",
        "ann@exa mple.org",
        "<ann>@example.org",
        "a" * 250 + "@example.org",
    ):
        assert email_problem(bad), bad


def test_password_rules():
    assert password_problem("purple otter canoe") is None
    assert "at least" in password_problem("short")
    assert "at most" in password_problem("x" * 129)
    assert "too easy" in password_problem("Password123")
    assert "too easy" in password_problem("aaaaaaaaaaaa")
    assert "email or name" in password_problem("annlee-rocks-2026", email="annlee@example.org")
    assert "email or name" in password_problem("i-am-annlee-ok", name="Ann Lee")
    assert password_problem("i-am-annlee-ok", name="Bo") is None


def test_name_rules():
    assert name_problem("Ann Lee") is None
    assert name_problem("   ")
    assert name_problem("x" * 121)
    assert name_problem("Ann\x00Lee")


def test_time_zones():
    assert "Europe/Paris" in time_zones() and "UTC" in time_zones()
    assert timezone_problem("America/New_York") is None
    assert timezone_problem("Mars/Olympus")
    assert timezone_problem("")


def test_admins_manage_others_but_not_themselves():
    admin = Actor(id=1, email="a@x.org", name="A", role="admin")
    agent = Actor(id=2, email="b@x.org", name="B", role="agent")
    assert can_manage_user(admin, 2, "agent")
    assert not can_manage_user(admin, 1, "admin")
    assert not can_manage_user(agent, 3, "customer")
    assert agent.is_staff and not agent.is_admin and agent.at_least("customer") and not agent.at_least("admin")


@pytest.mark.parametrize(
    "email",
    [
        "ann\x01@example.org",
        "ann\x7f@example.org",
        "ann\x85@example.org",
        "ann\u200b@example.org",
        "ann\u202e@example.org",
        "ann@exa\x1bmple.org",
    ],
)
def test_email_addresses_refuse_control_and_invisible_characters(email):
    assert "control or invisible characters" in email_problem(email)


def test_names_refuse_control_characters_but_keep_zero_width_joiners():
    assert name_problem("Ann\x7fLee") and name_problem("Ann\x85") and name_problem("Ann\x1b[31m")
    assert name_problem("مهرداد\u200cی") is None
