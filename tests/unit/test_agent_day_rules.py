"""Pure pieces of the agent's day: queue headings, the home's numbers and their links, unread."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from portal.backoffice import home
from portal.tickets import rules
from portal.tickets.queue import Filters, parse_query_string, view_title

T0 = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)


def test_queue_heading_names_the_view_a_saved_view_and_the_search():
    assert view_title(Filters(view="mine"), []) == "Tickets: Mine"
    assert view_title(Filters(view="open", q="printer"), []) == "Tickets: All open · search “printer”"
    views = [{"id": 7, "name": "Urgent billing"}]
    assert view_title(Filters(view="saved-7"), views) == "Tickets: Urgent billing"
    assert view_title(Filters(view="saved-8"), views) == "Tickets: Tickets"


def test_home_numbers_link_to_the_filters_they_count():
    numbers = {n.key: n for n in home.my_numbers({"mine": 4, "waiting": 1})}
    assert [n.count for n in numbers.values()] == [4, 0, 0, 1]
    assert numbers["waiting"].query == "view=mine&status=pending"
    assert numbers["overdue"].query == "view=mine&sla=overdue"
    for key, number in numbers.items():  # the link parses back to exactly the counted filters
        assert parse_query_string(number.query) == home.MY_NUMBERS[key][1]
    desk = home.desk_numbers({"unassigned": 2, "open": 9})
    assert [(n.key, n.count, n.query) for n in desk][:2] == [
        ("unassigned", 2, "view=unassigned"),
        ("open", 9, "view=open"),
    ]


def test_unread_means_written_after_the_reader_last_looked():
    assert rules.is_unread(T0, None)  # never opened
    assert rules.is_unread(T0 + timedelta(minutes=1), T0)
    assert not rules.is_unread(T0, T0 + timedelta(seconds=1))
    assert not rules.is_unread(None, None)  # nothing written


def test_agents_pick_phone_email_or_other():
    assert list(rules.AGENT_CHANNELS) == [rules.Channel.phone, rules.Channel.email, rules.Channel.other]
    assert rules.Channel.other == "other" and rules.Channel.other in rules.CHANNELS


def test_macro_fields_are_checked_and_stored_as_the_reply_sets_them():
    from portal.tickets.agent_tools import MacroFields
    from portal.tickets.tables import CannedReply

    assert MacroFields().problems() == {}
    bad = MacroFields(status="bogus", priority="asap", team="x", tags=",".join(f"t{i}" for i in range(30)))
    assert set(bad.problems()) == {"status", "priority", "team", "tags"}
    columns = MacroFields(status="pending", team="3", tags="Refund, VIP").columns()
    assert columns[CannedReply.set_status] == "pending" and columns[CannedReply.set_priority] is None
    assert columns[CannedReply.set_team] == 3 and columns[CannedReply.set_tags] == "refund, vip"
    assert rules.parse_tags(columns[CannedReply.set_tags]) == ["refund", "vip"]
