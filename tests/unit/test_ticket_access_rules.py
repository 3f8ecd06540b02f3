"""TicketAccess as plain data: who sees which ticket row, the SQL condition lists add, live events."""

from __future__ import annotations

import pytest

from portal.accounts.rules import Actor
from portal.tickets.access import SYSTEM, TicketAccess, for_guest, for_requester, staff_access

ANN = Actor(id=1, email="ann@example.org", name="Ann", role="customer")
BEN = Actor(id=2, email="ben@example.org", name="Ben", role="agent")
ADA = Actor(id=3, email="ada@example.org", name="Ada", role="admin")


def row(id: int = 10, team: int | None = 5, requester: int | None = 1) -> dict:
    return {"id": id, "team": team, "requester": requester}


def test_a_requester_sees_what_they_requested_and_nothing_internal():
    access = for_requester(ANN)
    assert access.sees(row(requester=1)) and not access.sees(row(requester=9)) and not access.sees(row(requester=None))
    assert access.sql() == ("t.requester = {}", (1,))
    assert not access.sees_internal and not access.sees_event({"type": "ticket", "team": 5})
    assert access.page_url(12) == "/tickets/12"


def test_staff_are_requesters_in_the_front_office():
    assert not for_requester(BEN).staff and for_requester(BEN).sql() == ("t.requester = {}", (2,))


def test_a_guest_link_opens_exactly_its_ticket():
    access = for_guest(10, "tok")
    assert access.is_guest and access.sees(row(id=10)) and not access.sees(row(id=11))
    assert access.sql("x") == ("x.id = {}", (10,))
    assert access.page_url(99) == "/t/tok" and not access.sees_internal


@pytest.mark.parametrize(
    "access,visible_teams,sql",
    [
        (staff_access(BEN, frozenset({5, 6}), limited=False), {None, 5, 6, 7}, ("", ())),
        (staff_access(BEN, frozenset({6, 5}), limited=True), {5, 6}, ("t.team IN ({}, {})", (5, 6))),
        (staff_access(BEN, frozenset(), limited=True), set(), ("1 = 0", ())),
        (staff_access(ADA, frozenset(), limited=True), {None, 5, 6, 7}, ("", ())),  # admins are never limited
        (SYSTEM, {None, 5, 6, 7}, ("", ())),
    ],
)
def test_staff_see_the_desk_or_their_teams(access: TicketAccess, visible_teams: set, sql: tuple):
    for team in (None, 5, 6, 7):
        assert access.sees(row(team=team)) is (team in visible_teams)
        assert access.sees_event({"type": "ticket", "team": team}) is (team in visible_teams)
    assert access.sql() == sql and access.sees_internal
    assert not access.sees_event({"type": "presence", "team": 5})


def test_nobody_sees_nothing():
    assert TicketAccess().sql() == ("1 = 0", ()) and not TicketAccess().sees(row())


# Public functions that read or change tickets without an access of their own, and why.
WITHOUT_ACCESS = {
    "portal.tickets.reads": {
        "categories": "the intake form's categories, no ticket",
        "directory": "staff, teams and categories for the console's menus, no ticket",
        "timeline": "pure: orders what thread() and history() already read through an access",
        "tags": "the tags of a ticket row already read through an access",
        "message_count": "the count for a ticket row already read through an access",
    },
    "portal.tickets.queue": {
        "rebuild_tallies": "maintenance (portal recount): recounts every ticket, shows none",
    },
    "portal.tickets.write": {
        "open_ticket": "filing creates a ticket: there is none to check yet",
        "use_guest_link": "turns a link into an access",
        "claim_guest_tickets": "the accounts hook after an address is proven",
        "close_solved_tickets": "the job, acting as SYSTEM",
        "resend_link": "queues a job; answers alike whether or not the ticket exists",
        "mail_ticket_link": "the job: mails the link only to the ticket's own address",
        "file_mailed": "filing creates a ticket: there is none to check yet (the mail intake, as SYSTEM)",
    },
}


@pytest.mark.parametrize("module_name", sorted(WITHOUT_ACCESS))
def test_every_public_ticket_function_takes_an_access(module_name: str):
    import importlib
    import inspect

    module = importlib.import_module(module_name)
    missing = []
    for name, function in inspect.getmembers(module, inspect.iscoroutinefunction):
        if name.startswith("_") or function.__module__ != module_name or name in WITHOUT_ACCESS[module_name]:
            continue
        first = next(iter(inspect.signature(function).parameters.values()), None)
        if first is None or first.annotation not in (TicketAccess, "TicketAccess"):
            missing.append(name)
    assert missing == [], f"{module_name}: take a TicketAccess first, or list the function here with why"
