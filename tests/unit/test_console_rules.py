"""Unit tests for the agent console's pure parts: ticket rules, filters and views, cursors, search
text, presence bookkeeping, the timeline and bulk summaries. No database, no mocks."""

from __future__ import annotations

import base64
import re
from datetime import UTC, date, datetime, timedelta, timezone

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from portal.accounts.rules import Actor
from portal.tickets import rules, search
from portal.tickets.access import TicketAccess, staff_access
from portal.tickets.live import TYPING_TTL, VIEWER_TTL, Presence, decode
from portal.tickets.queue import (
    UNSOLVED_SQL,
    Filters,
    _allowed_teams,
    _decode_cursor,
    _encode_cursor,
    apply_saved,
    parse_filters,
    parse_query_string,
    view_conditions,
)
from portal.tickets.reads import timeline
from portal.tickets.write import BulkResult

UTC = UTC
NOW = datetime(2026, 11, 24, 12, 0, tzinfo=UTC)
PROPERTY_SETTINGS = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def make_actor(user_id: int = 7, zone: str = "Europe/Paris") -> Actor:
    return Actor(id=user_id, email="ann@example.org", name="Ann Lee", role="agent", timezone=zone)


def make_scope(teams=(), limited: bool = False, user_id: int = 7, zone: str = "Europe/Paris") -> TicketAccess:
    return staff_access(make_actor(user_id, zone), frozenset(teams), limited)


# --- rules: constants ------------------------------------------------------------------------------------


def test_unsolved_statuses_and_their_sql_agree():
    assert set(rules.UNSOLVED) <= set(rules.STATUSES)
    assert "solved" not in rules.UNSOLVED and "closed" not in rules.UNSOLVED
    # The console's SQL literal (matching the partial indexes) must list exactly the same statuses.
    listed = re.fullmatch(r"t\.status IN \((.*)\)", UNSOLVED_SQL).group(1)
    assert tuple(s.strip().strip("'") for s in listed.split(",")) == rules.UNSOLVED


def test_priority_rank_follows_priority_order():
    assert set(rules.PRIORITY_RANK) == set(rules.PRIORITIES)
    ranks = [rules.PRIORITY_RANK[p] for p in rules.PRIORITIES]
    assert ranks == sorted(ranks) and len(set(ranks)) == len(ranks)
    assert rules.PRIORITY_RANK["urgent"] > rules.PRIORITY_RANK["low"]


@pytest.mark.parametrize("view", list(rules.VIEWS))
def test_every_built_in_view_restricts_the_queue(view):
    where, _, _ = view_conditions(Filters(view=view), make_scope(teams={1}), NOW)
    assert where, f"view {view!r} has no conditions"


# --- rules: status changes, visibility -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        ("new", "open", {}),
        ("open", "pending", {}),
        ("open", "solved", {"solved_at": NOW}),
        ("pending", "solved", {"solved_at": NOW}),
        ("solved", "solved", {}),
        ("solved", "open", {"solved_at": None}),
        ("closed", "pending", {"solved_at": None, "closed_at": None}),
        ("closed", "new", {"solved_at": None, "closed_at": None}),
        ("solved", "closed", {"closed_at": NOW}),
        ("open", "closed", {"closed_at": NOW}),
        ("closed", "closed", {}),
    ],
)
def test_status_changes(old, new, expected):
    assert rules.status_changes(old, new, NOW) == expected


@pytest.mark.parametrize(
    ("team", "limited", "mine", "expected"),
    [
        (None, False, frozenset(), True),
        (5, False, frozenset(), True),
        (5, True, frozenset({5, 6}), True),
        (7, True, frozenset({5, 6}), False),
        (None, True, frozenset({5}), False),  # a limited agent never sees team-less tickets
        (5, True, frozenset(), False),
    ],
)
def test_may_see(team, limited, mine, expected):
    assert rules.may_see(team, limited, mine) is expected


# --- rules: tags ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("Billing Issue", "billing-issue"),
        ("  #Urgent  ", "urgent"),
        ("#vip#customer", "vip-customer"),
        ("VIP!!", "vip"),
        ("v1.2_beta", "v1.2_beta"),
        ("Café  Crème", "café-crème"),
        ("a" * 50, "a" * rules.TAG_MAX),
        ("", None),
        ("   ", None),
        ("###", None),
        ("!?*", None),
    ],
)
def test_normalize_tag(raw, expected):
    assert rules.normalize_tag(raw) == expected


def test_normalize_tag_never_doubles_dashes():
    assert rules.normalize_tag("Billing & Payments") == "billing-payments"
    assert rules.normalize_tag("! urgent") == "urgent"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Billing, urgent; VIP , billing", ["billing", "urgent", "vip"]),
        ("Billing Issue;billing-issue", ["billing-issue"]),
        ("", []),
        (" , ;; ,", []),
        ("#one,#two", ["one", "two"]),
    ],
)
def test_parse_tags(text, expected):
    assert rules.parse_tags(text) == expected


@PROPERTY_SETTINGS
@given(st.text(max_size=200))
def test_parse_tags_is_idempotent_and_well_formed(text):
    tags = rules.parse_tags(text)
    assert rules.parse_tags(", ".join(tags)) == tags
    assert len(set(tags)) == len(tags)
    for tag in tags:
        assert 0 < len(tag) <= rules.TAG_MAX
        assert rules.normalize_tag(tag) == tag
        assert not any(c.isspace() or c in ",;#" for c in tag)


# --- rules: canned replies ---------------------------------------------------------------------------------


def test_fill_placeholders_any_spacing_and_unknown_kept():
    values = {"customer_name": "Ann Lee", "agent_name": "Bo"}
    body = "Hi {{customer_name}}, {{ customer_name }}! {{unknown}} {{  agent_name  }} -- {{agent_name}}"
    assert rules.fill_placeholders(body, values) == "Hi Ann Lee, Ann Lee! {{unknown}} Bo -- Bo"


def test_fill_placeholders_missing_value_becomes_empty():
    assert rules.fill_placeholders("#{{ticket_number}}: {{ticket_subject}}.", {}) == "#: ."


def test_fill_placeholders_does_not_expand_inside_values():
    values = {"ticket_subject": "Who is {{agent_name}}?", "agent_name": "Bo"}
    assert rules.fill_placeholders("Re: {{ticket_subject}}", values) == "Re: Who is {{agent_name}}?"


def test_placeholder_values_from_ticket():
    ticket = {"requester_name": "Ann  Marie Lee", "number": 1042, "subject": "Printer jams"}
    values = rules.placeholder_values(ticket, "Bo")
    assert values == {
        "customer_name": "Ann  Marie Lee",
        "customer_first_name": "Ann",
        "ticket_number": "1042",
        "ticket_subject": "Printer jams",
        "agent_name": "Bo",
    }
    assert (
        rules.fill_placeholders("Hi {{ customer_first_name }}, about #{{ticket_number}} — {{agent_name}}", values)
        == "Hi Ann, about #1042 — Bo"
    )


@pytest.mark.parametrize("name", [None, "", "   "])
def test_placeholder_values_without_requester_name(name):
    values = rules.placeholder_values({"requester_name": name, "number": 5, "subject": "S"}, "Bo")
    assert values["customer_name"] == (name or "")
    assert values["customer_first_name"] == ""


# --- rules: round-robin --------------------------------------------------------------------------------------


def _agent(agent_id, available=True, cap=None, open_=0):
    return {"id": agent_id, "available": available, "cap": cap, "open": open_}


ROTATION = [
    _agent(5, cap=2, open_=2),
    _agent(3),
    _agent(7, available=False),
    _agent(1, cap=3, open_=2),
    _agent(9, cap=None, open_=500),
]


@pytest.mark.parametrize(
    ("last", "expected"),
    [
        (None, 1),
        (1, 3),
        (2, 3),
        (3, 9),  # 5 is at its cap, 7 is away
        (9, 1),  # wraps around
        (100, 1),
    ],
)
def test_next_in_rotation(last, expected):
    assert rules.next_in_rotation(ROTATION, last)["id"] == expected


def test_next_in_rotation_without_eligible_agents():
    assert rules.next_in_rotation([], None) is None
    assert rules.next_in_rotation([_agent(1, available=False), _agent(2, cap=1, open_=1)], 1) is None
    assert rules.next_in_rotation([_agent(2, cap=0, open_=0)], None) is None


# --- console: scope ------------------------------------------------------------------------------------------


def test_scope_unlimited():
    scope = make_scope(teams={1, 2})
    assert scope.sql() == ("", ())
    assert scope.sees_team(None) and scope.sees_team(1) and scope.sees_team(99)


def test_scope_limited():
    scope = make_scope(teams={4, 2}, limited=True)
    assert scope.sql() == ("t.team IN ({}, {})", (2, 4))
    assert scope.sees_team(2) and scope.sees_team(4)
    assert not scope.sees_team(3) and not scope.sees_team(None)


def test_scope_limited_without_teams_sees_nothing():
    scope = make_scope(teams=(), limited=True)
    assert scope.sql() == ("1 = 0", ())
    assert not scope.sees_team(1) and not scope.sees_team(None)


# --- console: parsing filters ---------------------------------------------------------------------------------


def test_parse_empty_query_is_the_default():
    assert parse_query_string("") == Filters()
    assert parse_filters([]) == Filters()


def test_parse_full_query():
    filters = parse_query_string(
        "view=mine&status=open&status=bogus&status=+pending+&priority=urgent&priority=meh&category=3&team=0"
        "&assignee=12&tag=Billing+Issue&requester=Ann%40Example.org&created_from=2026-11-01"
        "&created_to=2026-11-24&updated_from=2026-10-01&updated_to=2026-10-02&sort=priority&q=printer+jam"
    )
    assert filters == Filters(
        view="mine",
        status=("open", "pending"),
        priority=("urgent",),
        category=3,
        team=0,
        assignee=12,
        tag="billing-issue",
        requester="Ann@Example.org",
        created_from=date(2026, 11, 1),
        created_to=date(2026, 11, 24),
        updated_from=date(2026, 10, 1),
        updated_to=date(2026, 10, 2),
        sort="priority",
        q="printer jam",
    )
    assert filters.errors == {}


BAD_DAY = "Enter a date like 2026-11-24. Choose a date between 1970 and 2199."


@pytest.mark.parametrize(
    ("query", "key", "message"),
    [
        ("view=everything", "view", "That view does not exist."),
        ("view=saved-", "view", "That view does not exist."),
        ("view=saved-x1", "view", "That view does not exist."),
        ("sort=oldest", "sort", "Unknown sort order."),
        ("team=abc", "team", "Choose a team from the list."),
        ("team=-1", "team", "Choose a team from the list."),
        ("category=1.5", "category", "Choose a category from the list."),
        ("assignee=123456789012", "assignee", "Choose a person from the list."),
        ("created_from=24%2F11%2F2026", "created_from", BAD_DAY),
        ("updated_to=2026-02-30", "updated_to", BAD_DAY),
        ("created_from=0001-01-01", "created_from", BAD_DAY),
        ("updated_to=9999-12-31", "updated_to", BAD_DAY),
    ],
)
def test_parse_bad_values_are_dropped_with_a_message(query, key, message):
    filters = parse_query_string(query)
    assert filters.errors == {key: message}
    assert filters == Filters(errors={key: message})  # the bad value fell back to the default


def test_parse_saved_view_and_repeated_keys():
    filters = parse_query_string("view=open&view=saved-12&team=1&team=2")
    assert filters.view == "saved-12" and filters.team == 2 and filters.errors == {}


def test_parse_truncates_long_text():
    filters = parse_query_string(f"requester={'r' * 300}&q={'q' * 300}&tag={'t' * 60}")
    assert filters.requester == "r" * 254
    assert filters.q == "q" * 200
    assert filters.tag == "t" * rules.TAG_MAX


def test_parse_tag_that_normalizes_to_nothing_is_empty():
    assert parse_query_string("tag=%23%23%23").tag == ""


def test_parse_superscript_digit_is_a_message_not_a_crash():
    filters = parse_query_string("team=%C2%B2")  # "²"
    assert filters.team is None and "team" in filters.errors


def test_saved_view_with_superscript_digit_is_a_message_not_a_crash():
    filters = apply_saved(parse_query_string("view=saved-%C2%B2"), [])
    assert filters.view == "open" and "view" in filters.errors


# --- console: query strings --------------------------------------------------------------------------------------


def test_query_string_output():
    filters = Filters(
        view="mine", status=("new", "open"), team=0, created_from=date(2026, 1, 2), sort="priority", q="a&b c"
    )
    assert filters.query_string() == (
        "view=mine&status=new&status=open&team=0&created_from=2026-01-02&sort=priority&q=a%26b+c"
    )


def test_query_string_omits_defaults_and_applies_overrides():
    assert Filters().query_string() == "view=open"
    assert Filters(sort="created").query_string(view="pending", q="x") == "view=pending&sort=created&q=x"
    assert Filters(status=("open",)).query_string(status=[], view="") == ""


@pytest.mark.parametrize(
    "query",
    [
        "view=mine",
        "view=solved&status=solved&priority=high&priority=low&sort=created",
        "view=saved-3&team=0&assignee=0&category=0",
        "view=team&tag=vip&requester=ann&created_from=2026-03-29&updated_to=2026-10-25&q=%23123",
    ],
)
def test_query_string_round_trip(query):
    filters = parse_query_string(query)
    assert parse_query_string(filters.query_string()) == filters


_ids = st.one_of(st.none(), st.integers(min_value=0, max_value=2**31 - 1))  # ids fit a serial column
_days = st.one_of(st.none(), st.dates(min_value=date(2000, 1, 1), max_value=date(2100, 12, 31)))
_text = st.text(max_size=60).map(str.strip)
_filters = st.builds(
    Filters,
    view=st.sampled_from([*rules.VIEWS, "saved-1", "saved-42"]),
    status=st.lists(st.sampled_from(rules.STATUSES), unique=True).map(tuple),
    priority=st.lists(st.sampled_from(rules.PRIORITIES), unique=True).map(tuple),
    category=_ids,
    team=_ids,
    assignee=_ids,
    tag=st.one_of(st.just(""), st.from_regex(r"[a-z0-9]([a-z0-9_.-]{0,37}[a-z0-9_.])?", fullmatch=True)),
    requester=_text,
    q=_text,
    created_from=_days,
    created_to=_days,
    updated_from=_days,
    updated_to=_days,
    sort=st.sampled_from(list(rules.SORTS)),
)


@PROPERTY_SETTINGS
@given(_filters)
def test_query_string_round_trip_property(filters):
    assert parse_query_string(filters.query_string()) == filters


@pytest.mark.parametrize(
    ("filters", "refined"),
    [
        (Filters(), False),
        (Filters(view="mine", sort="priority", q="printer"), False),
        (Filters(team=0), True),
        (Filters(status=("open",)), True),
        (Filters(tag="vip"), True),
        (Filters(updated_to=date(2026, 1, 1)), True),
    ],
)
def test_refined(filters, refined):
    assert filters.refined is refined


# --- console: cursors ----------------------------------------------------------------------------------------------

_instants = st.builds(
    lambda moment, offset: moment.replace(tzinfo=UTC).astimezone(timezone(timedelta(minutes=offset))),
    st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2100, 1, 1)),
    st.integers(min_value=-14 * 60, max_value=14 * 60),
)
_row_ids = st.integers(min_value=1, max_value=2**62)


@PROPERTY_SETTINGS
@given(_instants, _row_ids, st.sampled_from(["updated", "created"]))
def test_cursor_round_trip_by_time(moment, row_id, sort):
    cursor = _encode_cursor({f"{sort}_at": moment, "id": row_id}, sort)
    assert re.fullmatch(r"[A-Za-z0-9_-]+", cursor)  # URL-safe, no padding
    assert _decode_cursor(cursor, sort) == (moment, row_id)


@PROPERTY_SETTINGS
@given(st.sampled_from(sorted(rules.PRIORITY_RANK.values())), _instants, _row_ids)
def test_cursor_round_trip_by_priority(rank, moment, row_id):
    cursor = _encode_cursor({"priority_rank": rank, "updated_at": moment, "id": row_id}, "priority")
    assert _decode_cursor(cursor, "priority") == (rank, moment, row_id)


def test_cursor_from_naive_time_decodes_as_utc():
    cursor = _encode_cursor({"updated_at": datetime(2026, 11, 24, 9, 30), "id": 5}, "updated")
    decoded = _decode_cursor(cursor, "updated")
    assert decoded == (datetime(2026, 11, 24, 9, 30, tzinfo=UTC), 5)
    assert decoded[0].tzinfo is not None


def _b64(text: str) -> str:
    return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


@pytest.mark.parametrize(
    ("cursor", "sort"),
    [
        ("", "updated"),
        ("!!!", "updated"),
        ("abcde", "updated"),
        ("é", "created"),
        ("not a cursor at all", "priority"),
        (_b64("2026-11-24T09:30:00+00:00"), "updated"),  # id missing
        (_b64("2026-11-24T09:30:00+00:00|x"), "updated"),
        (_b64("yesterday|5"), "created"),
        (_b64("3|2026-11-24T09:30:00+00:00"), "priority"),  # id missing
        (_b64("3|2026-11-24T09:30:00+00:00|5"), "updated"),  # a priority cursor on another sort
        (_b64("2026-11-24T09:30:00+00:00|5"), "priority"),  # a time cursor on the priority sort
        (base64.urlsafe_b64encode(b"\xff\xfe|\x80").decode(), "updated"),
    ],
)
def test_garbage_cursor_is_none(cursor, sort):
    assert _decode_cursor(cursor, sort) is None


@PROPERTY_SETTINGS
@given(
    st.one_of(st.text(max_size=80), st.binary(max_size=60).map(lambda b: base64.urlsafe_b64encode(b).decode())),
    st.sampled_from(list(rules.SORTS)),
)
def test_decode_cursor_never_raises(cursor, sort):
    decoded = _decode_cursor(cursor, sort)
    assert decoded is None or (isinstance(decoded, tuple) and len(decoded) == (3 if sort == "priority" else 2))


# --- console: saved views --------------------------------------------------------------------------------------

SAVED = [
    {"id": 4, "query": "view=mine&priority=urgent&sort=created&q=toner"},
    {"id": 5, "query": "view=team&status=pending"},
]


def test_apply_saved_ignores_built_in_views():
    filters = parse_query_string("view=pending&team=3")
    assert apply_saved(filters, SAVED) is filters


def test_apply_saved_uses_the_saved_filters_and_keeps_base_view():
    result = apply_saved(parse_query_string("view=saved-5&priority=low"), SAVED)
    assert result == Filters(view="saved-5", base="team", status=("pending",))


def test_apply_saved_keeps_saved_sort_and_search_by_default():
    result = apply_saved(parse_query_string("view=saved-4"), SAVED)
    assert (result.view, result.base, result.priority, result.sort, result.q) == (
        "saved-4",
        "mine",
        ("urgent",),
        "created",
        "toner",
    )


def test_apply_saved_page_search_and_sort_override():
    result = apply_saved(parse_query_string("view=saved-4&sort=priority&q=printer"), SAVED)
    assert (result.base, result.sort, result.q, result.priority) == ("mine", "priority", "printer", ("urgent",))
    # "updated" is the default sort: it does not override the saved one.
    assert apply_saved(parse_query_string("view=saved-4&sort=updated"), SAVED).sort == "created"


def test_apply_saved_unknown_view_falls_back_to_open():
    filters = parse_query_string("view=saved-99&sort=oldest")
    result = apply_saved(filters, SAVED)
    assert result.view == "open"
    assert result.errors == {"sort": "Unknown sort order.", "view": "That view does not exist (any more)."}


def test_saved_view_conditions_follow_the_base_view():
    saved = apply_saved(parse_query_string("view=saved-4"), SAVED)
    where, args, _ = view_conditions(saved, make_scope(user_id=21), NOW)
    assert where == [UNSOLVED_SQL, "t.assignee = {}", "t.priority IN ({})"]
    assert args == [21, "urgent"]


# --- console: view conditions --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("view", "where", "args"),
    [
        ("open", [UNSOLVED_SQL], []),
        ("unassigned", [UNSOLVED_SQL, "t.assignee IS NULL"], []),
        ("mine", [UNSOLVED_SQL, "t.assignee = {}"], [7]),
        ("team", [UNSOLVED_SQL, "t.team = {}"], [3]),
        ("pending", ["t.status = 'pending'"], []),
        ("solved", ["t.solved_at >= {}"], [NOW - rules.RECENTLY_SOLVED]),
        ("all", [], []),  # what search uses: every ticket the agent may see
    ],
)
def test_view_conditions_for_each_view(view, where, args):
    assert view_conditions(Filters(view=view), make_scope(teams={3}), NOW) == (where, args, ())


def test_team_view_for_agent_without_teams_is_empty():
    assert view_conditions(Filters(view="team"), make_scope(), NOW) == ([UNSOLVED_SQL, "1 = 0"], [], ())


def test_team_view_with_several_teams():
    scope = make_scope(teams={9, 2, 5})
    assert view_conditions(Filters(view="team"), scope, NOW) == (
        [UNSOLVED_SQL, "t.team IN ({}, {}, {})"],
        [2, 5, 9],
        (),
    )
    assert view_conditions(Filters(view="team"), scope, NOW, split_teams=True) == ([UNSOLVED_SQL], [], (2, 5, 9))


@pytest.mark.parametrize(
    ("team", "where", "args"),
    [
        (None, ["t.team IN ({}, {})"], [1, 2]),
        (2, ["t.team = {}"], [2]),
        (5, ["1 = 0"], []),  # another team's tickets: nothing, not everything
        (0, ["1 = 0"], []),  # team-less tickets are never visible to a limited agent
    ],
)
def test_limited_agent_teams_are_intersected(team, where, args):
    scope = make_scope(teams={1, 2}, limited=True)
    assert view_conditions(Filters(view="all", team=team), scope, NOW) == (where, args, ())


def test_limited_agent_without_teams_sees_nothing():
    scope = make_scope(limited=True)
    for view in rules.VIEWS:
        where, _, split = view_conditions(Filters(view=view), scope, NOW, split_teams=True)
        assert "1 = 0" in where and split == ()


def test_limited_agent_split_teams():
    scope = make_scope(teams={3, 1, 2}, limited=True)
    where, args, split = view_conditions(Filters(view="open"), scope, NOW, split_teams=True)
    assert (where, args, split) == ([UNSOLVED_SQL], [], (1, 2, 3))
    # One team left after the intersection: a plain condition, nothing to split.
    where, args, split = view_conditions(Filters(view="open", team=2), scope, NOW, split_teams=True)
    assert (where, args, split) == ([UNSOLVED_SQL, "t.team = {}"], [2], ())


@pytest.mark.parametrize(
    ("view", "expected"),
    [
        ("open", "t.team IS NULL"),
        ("all", "t.team IS NULL"),
        ("team", "1 = 0"),  # "my teams" and "no team" exclude each other
    ],
)
def test_team_filter_zero_means_no_team(view, expected):
    where, args, split = view_conditions(Filters(view=view, team=0), make_scope(teams={1, 2}), NOW, split_teams=True)
    assert where[-1] == expected and split == ()
    assert "{}" not in expected and args == []


def test_team_filter_for_unlimited_agent():
    assert view_conditions(Filters(view="all", team=8), make_scope(teams={1}), NOW) == (["t.team = {}"], [8], ())
    assert view_conditions(Filters(view="team", team=8), make_scope(teams={1}), NOW) == (
        [UNSOLVED_SQL, "1 = 0"],
        [],
        (),
    )


def test_field_filters_in_order_with_their_args():
    filters = Filters(
        view="all",
        status=("open", "pending"),
        priority=("high",),
        category=0,
        assignee=12,
        tag="vip",
        requester="Ann@Example.ORG",
    )
    where, args, _ = view_conditions(filters, make_scope(), NOW)
    assert where == [
        "t.status IN ({}, {})",
        "t.priority IN ({})",
        "t.category IS NULL",
        "t.assignee = {}",
        "t.id IN (SELECT tt.ticket FROM ticket_tag tt JOIN tag g ON g.id = tt.tag WHERE g.name = {})",
        "t.requester_email = {}",
    ]
    assert args == ["open", "pending", "high", 12, "vip", "ann@example.org"]


def test_category_and_assignee_values():
    where, args, _ = view_conditions(Filters(view="all", category=4, assignee=0), make_scope(), NOW)
    assert (where, args) == (["t.category = {}", "t.assignee IS NULL"], [4])


def test_requester_name_part_is_a_like_pattern_without_wildcards():
    where, args, _ = view_conditions(Filters(view="all", requester="Ann_%Lee"), make_scope(), NOW)
    assert where == ["(LOWER(t.requester_name) LIKE {} OR t.requester_email LIKE {})"]
    assert args == ["%annlee%", "%annlee%"]


def test_date_filters_are_local_days_of_the_agent():
    filters = Filters(
        view="all",
        created_from=date(2026, 1, 15),
        created_to=date(2026, 1, 15),
        updated_from=date(2026, 3, 29),
        updated_to=date(2026, 3, 28),
    )
    where, args, _ = view_conditions(filters, make_scope(zone="Europe/Paris"), NOW)
    assert where == ["t.created_at >= {}", "t.created_at < {}", "t.updated_at >= {}", "t.updated_at < {}"]
    assert args == [
        datetime(2026, 1, 14, 23, tzinfo=UTC),  # midnight in Paris (UTC+1)
        datetime(2026, 1, 15, 23, tzinfo=UTC),  # the end day is included: up to the next midnight
        datetime(2026, 3, 28, 23, tzinfo=UTC),  # 29 March 2026 starts in winter time …
        datetime(2026, 3, 28, 23, tzinfo=UTC),  # … and 28 March ends there
    ]


def test_date_filters_without_agent_time_zone_use_utc():
    where, args, _ = view_conditions(Filters(view="all", created_from=date(2026, 7, 1)), make_scope(zone=""), NOW)
    assert (where, args) == (["t.created_at >= {}"], [datetime(2026, 7, 1, tzinfo=UTC)])


@PROPERTY_SETTINGS
@given(_filters, st.frozensets(st.integers(min_value=1, max_value=6), max_size=4), st.booleans(), st.booleans())
def test_view_conditions_placeholders_match_args_and_respect_scope(filters, teams, limited, split_teams):
    scope = staff_access(make_actor(), teams, limited)
    where, args, split = view_conditions(filters, scope, NOW, split_teams=split_teams)
    assert sum(part.count("{}") for part in where) == len(args)
    if split:
        assert split_teams and len(split) >= 2 and list(split) == sorted(set(split))
        assert not any(part.startswith("t.team") for part in where)
    if limited:
        # The team restriction comes last: rows are confined to the agent's teams, or to nothing.
        if split:
            assert set(split) <= teams
        else:
            last = where[-1]
            assert last == "1 = 0" or last.startswith(("t.team = ", "t.team IN ("))
            if last != "1 = 0":
                assert set(args[-last.count("{}") :]) <= teams


@pytest.mark.parametrize(
    ("filters", "scope", "view", "expected"),
    [
        (Filters(), make_scope(teams={1}), "open", None),
        (Filters(), make_scope(teams={2, 1}), "team", (1, 2)),
        (Filters(), make_scope(), "team", ()),
        (Filters(team=3), make_scope(), "open", (3,)),
        (Filters(team=3), make_scope(teams={1, 3}), "team", (3,)),
        (Filters(team=3), make_scope(teams={1}), "team", ()),
        (Filters(), make_scope(teams={5, 4}, limited=True), "open", (4, 5)),
        (Filters(team=4), make_scope(teams={5, 4}, limited=True), "all", (4,)),
        (Filters(team=6), make_scope(teams={5, 4}, limited=True), "all", ()),
        (Filters(team=0), make_scope(teams={5}), "open", None),  # 0 is handled by the caller
    ],
)
def test_allowed_teams(filters, scope, view, expected):
    assert _allowed_teams(filters, scope, view) == expected


# --- search text ---------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("Printer JAMS, again!", ["printer", "jams", "again"]),
        ('printer AND "toner" -cartridge*', ["printer", "and", "toner", "cartridge"]),
        ("ann.lee@example.org", ["ann", "lee", "example", "org"]),
        ("snake_case Crème", ["snake_case", "crème"]),
        ("#1234", ["1234"]),
        ("", []),
        ("!!! ??? ...", []),
    ],
)
def test_terms(query, expected):
    assert search.terms(query) == expected


def test_terms_keeps_the_first_twelve_words():
    words = [f"w{i}" for i in range(20)]
    assert search.terms(" ".join(words)) == words[:12]


def test_people_text_splits_the_email():
    assert search.people_text("Ann Lee", "ann.lee@example.org") == "Ann Lee ann.lee@example.org ann lee example org"


@pytest.mark.parametrize(
    ("words", "expected"),
    [
        (["printer"], '"printer"*'),
        (["pr"], '"pr"'),
        (["abc"], '"abc"*'),
        (["printer", "ja"], '"printer" AND "ja"'),
        (["ab", "jam"], '"ab" AND "jam"*'),
        (['say"hi', "x"], '"say""hi" AND "x"'),
        (["a", 'qu"'], '"a" AND "qu"""*'),
    ],
)
def test_fts5_query(words, expected):
    assert search.fts5_query(words) == expected


@pytest.mark.parametrize(
    ("words", "expected"),
    [
        (["printer"], "printer:*"),
        (["pr"], "pr"),
        (["printer", "ja"], "printer & ja"),
        (["ab", "cd", "jam"], "ab & cd & jam:*"),
    ],
)
def test_tsquery(words, expected):
    assert search.tsquery(words) == expected


def test_prefix_starts_at_prefix_min():
    short, long_ = "x" * (search.PREFIX_MIN - 1), "x" * search.PREFIX_MIN
    assert not search.fts5_query([short]).endswith("*") and search.fts5_query([long_]).endswith("*")
    assert not search.tsquery([short]).endswith(":*") and search.tsquery([long_]).endswith(":*")


@pytest.mark.parametrize(
    ("text", "is_email"),
    [
        ("ann@example.org", True),
        ("ann.lee+desk@mail.example.co.uk", True),
        ("ann@example", False),
        ("ann lee@example.org", False),
        ("@example.org", False),
        ("ann@@example.org", False),
        ("printer jam", False),
    ],
)
def test_email_regex(text, is_email):
    assert bool(search.EMAIL.fullmatch(text)) is is_email


# --- live presence ----------------------------------------------------------------------------------------------------

ME = 1


def _event(user, state="viewing", name="Bo"):
    return {"type": "presence", "number": 10, "user": user, "name": name, "state": state}


@pytest.mark.parametrize("user", [ME, None, "2", 2.0])
def test_presence_ignores_self_and_bad_users(user):
    presence = Presence(me=ME)
    assert presence.update(_event(user), 0.0) is False
    assert presence.others == {}


def test_presence_viewer_appears_once():
    presence = Presence(me=ME)
    assert presence.update(_event(2), 0.0) is True
    assert presence.visible(0.0) == [("Bo", False)]
    assert presence.update(_event(2), 5.0) is False  # a heartbeat changes nothing visible


def test_presence_typing_and_its_expiry():
    presence = Presence(me=ME)
    assert presence.update(_event(2, "typing"), 100.0) is True
    assert presence.visible(100.0) == [("Bo", True)]
    assert presence.update(_event(2, "typing"), 102.0) is False  # still typing
    assert presence.visible(102.0 + TYPING_TTL - 0.01) == [("Bo", True)]
    assert presence.visible(102.0 + TYPING_TTL) == [("Bo", False)]


def test_presence_left_removes():
    presence = Presence(me=ME)
    presence.update(_event(2), 0.0)
    presence.update(_event(3, name="Cy"), 0.0)
    assert presence.update(_event(2, "left"), 1.0) is True
    assert presence.visible(1.0) == [("Cy", False)]
    assert presence.update(_event(2, "left"), 2.0) is False  # already gone
    assert presence.update(_event(4, "left"), 2.0) is False  # never there


def test_presence_visible_sorted_and_names_bounded():
    presence = Presence(me=ME)
    presence.update(_event(3, name="Zoe"), 0.0)
    presence.update(_event(2, name="Al", state="typing"), 0.0)
    presence.update({"user": 4, "state": "viewing"}, 0.0)
    presence.update(_event(5, name="N" * 300), 0.0)
    assert presence.visible(1.0) == [("", False), ("Al", True), ("N" * 120, False), ("Zoe", False)]


def test_presence_viewers_expire():
    presence = Presence(me=ME)
    presence.update(_event(2), 0.0)
    presence.update(_event(3, name="Cy"), 20.0)
    assert presence.expire(VIEWER_TTL) is False  # exactly the TTL: still there
    assert presence.expire(VIEWER_TTL + 0.5) is True
    assert presence.visible(VIEWER_TTL + 0.5) == [("Cy", False)]
    assert presence.expire(VIEWER_TTL + 1) is False  # nothing more to drop
    assert presence.update(_event(3, name="Cy"), 40.0) is False  # heartbeat keeps Cy
    assert presence.expire(40.0 + VIEWER_TTL) is False
    assert presence.expire(40.0 + VIEWER_TTL + 1) is True and presence.others == {}


def test_presence_expire_reports_typing_that_ran_out():
    presence = Presence(me=ME)
    assert presence.update(_event(2, "typing"), 0.0) is True  # rendered: Bo is typing
    # The next heartbeat (no events for HEARTBEAT_SECONDS): Bo is now only viewing.
    assert presence.expire(10.0) is True


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (b'{"type": "presence", "user": 2}', {"type": "presence", "user": 2}),
        (b"not json", {}),
        (b"", {}),
        (b"[1, 2]", {}),
        (b"null", {}),
        (b'"text"', {}),
        (b"\xff\xfe\x00", {}),
        (b'{"a": ', {}),
    ],
)
def test_decode(raw, expected):
    assert decode(raw) == expected


# --- work: timeline and bulk summary ----------------------------------------------------------------------------------


def test_timeline_orders_by_time_events_after_messages():
    t0, t1 = NOW, NOW + timedelta(minutes=5)
    messages = [{"id": 9, "created_at": t1, "body": "later"}, {"id": 2, "created_at": t0, "body": "first"}]
    events = [
        {"id": 30, "created_at": t1, "field": "status"},
        {"id": 12, "created_at": t1, "field": "team"},
        {"id": 50, "created_at": t0 - timedelta(seconds=1), "field": "priority"},
    ]
    items = timeline(messages, events)
    assert [(item["type"], item["id"]) for item in items] == [
        ("event", 50),
        ("message", 2),
        ("message", 9),
        ("event", 12),
        ("event", 30),
    ]
    assert [item["at"] for item in items] == sorted(item["created_at"] for item in items)
    assert items[1]["body"] == "first" and items[3]["field"] == "team"


def test_timeline_same_instant_event_after_message_whatever_the_ids():
    items = timeline([{"id": 100, "created_at": NOW}], [{"id": 1, "created_at": NOW}])
    assert [item["type"] for item in items] == ["message", "event"]


def test_timeline_empty():
    assert timeline([], []) == []


@pytest.mark.parametrize(
    ("result", "text"),
    [
        (BulkResult(changed=1, refused=[]), "1 ticket changed."),
        (BulkResult(), "0 tickets changed."),
        (BulkResult(changed=3, unchanged=2, refused=[]), "3 tickets changed; 2 already as asked."),
        (BulkResult(changed=2, refused=[12, 15]), "2 tickets changed; 2 not found or not yours to change (#12, #15)."),
        (
            BulkResult(changed=0, unchanged=1, refused=[7]),
            "0 tickets changed; 1 already as asked; 1 not found or not yours to change (#7).",
        ),
    ],
)
def test_bulk_summary(result, text):
    assert result.summary() == text


def test_bulk_summary_counts_every_refused_but_lists_ten():
    refused = list(range(101, 113))
    text = BulkResult(changed=5, refused=refused).summary()
    assert "12 not found or not yours to change" in text
    assert "#110)" in text and "#111" not in text and "#112" not in text
    assert text.count("#") == 10
