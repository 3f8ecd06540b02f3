"""Back-office booking forms: times, ranges, weekly hours, overrides, services, questions, .ics holidays."""

from __future__ import annotations

from datetime import date

import pytest

from portal.booking.back_forms import (
    check_ranges,
    edit_questions,
    parse_clock,
    parse_override,
    parse_questions,
    parse_service,
    parse_weekly,
)
from portal.booking.schedules import holidays_in_ics
from portal.errors import Invalid


def form(**fields) -> dict[str, list[str]]:
    return {k: v if isinstance(v, list) else [v] for k, v in fields.items()}


@pytest.mark.parametrize(
    "raw, end, expected",
    [
        ("09:00", False, 540),
        ("9:05", False, 545),
        ("23:59", False, 1439),
        ("00:00", False, 0),
        ("00:00", True, 1440),
        ("24:00", True, 1440),
        ("24:00", False, None),
        ("17:30:00", False, 1050),
        ("25:00", False, None),
        ("12:60", False, None),
        ("noon", False, None),
        ("", False, None),
    ],
)
def test_parse_clock(raw, end, expected):
    assert parse_clock(raw, end=end) == expected


def test_check_ranges():
    assert check_ranges([(540, 720), (780, 1440)]) is None
    assert check_ranges([(780, 1020), (540, 720)]) is None  # order does not matter
    assert check_ranges([(540, 720), (720, 900)]) is None  # touching is fine
    assert check_ranges([(600, 540)]) == "10:00–09:00 ends before it starts."
    assert check_ranges([(540, 540)]) == "09:00–09:00 ends before it starts."
    assert check_ranges([(540, 720), (660, 800)]) == "09:00–12:00 and 11:00–13:20 overlap."


def test_parse_weekly_keeps_several_ranges_and_reports_per_day():
    weekly, errors = parse_weekly(
        form(
            w0_0_start="13:00",
            w0_0_end="17:00",
            w0_1_start="09:00",
            w0_1_end="12:00",
            w6_0_start="22:00",
            w6_0_end="00:00",
        )
    )
    assert errors == {}
    assert weekly[0] == [(540, 720), (780, 1020)] and weekly[6] == [(1320, 1440)] and weekly[3] == []
    _, errors = parse_weekly(form(w2_0_start="09:00", w2_0_end="", w4_0_start="10:00", w4_0_end="09:00"))
    assert errors == {
        "w2": "Enter both times as HH:MM, e.g. 09:00 and 17:30.",
        "w4": "10:00–09:00 ends before it starts.",
    }


def test_parse_override():
    today = date(2026, 5, 10)
    data, errors = parse_override(form(day="2026-05-10", kind="closed"), today)
    assert errors == {} and data.closed and data.ranges == []
    data, errors = parse_override(
        form(day="2026-05-11", kind="hours", r0_start="14:00", r0_end="16:00", r1_start="09:00", r1_end="11:00"), today
    )
    assert errors == {} and data.ranges == [(540, 660), (840, 960)]
    assert parse_override(form(day="2026-05-09", kind="closed"), today)[1]["day"].startswith("That date is in the past")
    assert "day" in parse_override(form(day="soon"), today)[1]
    assert parse_override(
        form(day="2026-05-11", kind="hours", r0_start="09:00", r0_end="12:00", r1_start="11:00", r1_end="13:00"), today
    )[1] == {"hours": "09:00–12:00 and 11:00–13:00 overlap."}


def test_questions_keep_ids_get_new_ones_and_follow_the_order():
    errors: dict[str, str] = {}
    questions = parse_questions(
        form(
            q0_id="topic",
            q0_label="Topic",
            q0_kind="choice",
            q0_options="Tax, Pension",
            q0_order="3",
            q1_label="Your question",
            q1_kind="text",
            q1_order="1",
            q1_required="1",
            q2_label="Your question",
            q2_kind="yesno",
            q2_order="2",
            q3_label="Gone",
            q3_id="gone",
            q3_remove="1",
            q4_label="",
            q4_kind="text",
        ),
        errors,
    )
    assert errors == {}
    assert [(q.id, q.kind, q.order) for q in questions] == [
        ("your_question", "text", 1),
        ("your_question_2", "yesno", 2),
        ("topic", "choice", 3),
    ]
    assert questions[2].options == ["Tax", "Pension"] and questions[0].required
    assert questions[1].as_json() == {
        "id": "your_question_2",
        "label": "Your question",
        "kind": "yesno",
        "required": False,
    }
    errors = {}
    parse_questions(form(q0_label="Pick", q0_kind="choice", q0_options="Only"), errors)
    assert "at least two options" in errors["q0_label"]
    errors = {}
    parse_questions(form(q0_label="Pick", q0_kind="essay"), errors)
    assert errors == {"q0_label": "Choose a kind of answer."}


def test_parse_service_defaults_slug_and_checks_numbers():
    data, errors = parse_service(
        form(
            name="Tax Return Help!",
            duration_minutes="30",
            buffer_before_minutes="0",
            buffer_after_minutes="0",
            step_minutes="30",
            min_notice_minutes="0",
            horizon_days="30",
            capacity="1",
            cancel_cutoff_minutes="0",
            reschedule_cutoff_minutes="0",
            position="0",
            reminder_offsets="60 1440 60",
            staff=["3", "2", "3"],
            is_active="1",
        )
    )
    assert errors == {}
    assert data.slug == "tax-return-help" and data.reminder_offsets == [1440, 60] and data.staff == [2, 3]
    assert data.is_active and not data.cancel_affected
    _, errors = parse_service(form(name="X", duration_minutes="-5", staff=["abc"]))
    assert "duration_minutes" in errors and "step_minutes" in errors and errors["staff"].startswith("Choose staff")


ICS = b"""BEGIN:VCALENDAR\r
VERSION:2.0\r
BEGIN:VEVENT\r
DTSTART;VALUE=DATE:20300101\r
SUMMARY:New Year\r
END:VEVENT\r
BEGIN:VEVENT\r
DTSTART;VALUE=DATE:20300415\r
DTEND;VALUE=DATE:20300418\r
SUMMARY:Easter break\r
END:VEVENT\r
BEGIN:VEVENT\r
DTSTART:20300501T000000Z\r
DTEND:20300501T235900Z\r
SUMMARY:Labour Day\r
END:VEVENT\r
END:VCALENDAR\r
"""


def test_holidays_in_ics():
    assert holidays_in_ics(ICS) == [
        (date(2030, 1, 1), "New Year"),
        (date(2030, 4, 15), "Easter break"),
        (date(2030, 4, 16), "Easter break"),
        (date(2030, 4, 17), "Easter break"),
        (date(2030, 5, 1), "Labour Day"),
    ]
    for bad in (b"", b"hello", b"BEGIN:VCALENDAR\r\nEND:VCALENDAR\r\n", b"x" * (600 * 1024)):
        with pytest.raises(Invalid):
            holidays_in_ics(bad)


def test_question_buttons_add_a_blank_row_and_move_one_question_without_saving():
    posted = form(q0_label="First", q1_label="Second", q2_label="Third")
    questions = parse_questions(posted, {})
    assert edit_questions(posted, questions) is None  # a plain save
    added = edit_questions({**posted, "question_action": ["add"], "blank_questions": ["2"]}, questions)
    assert added is not None and added.blank == 3 and added.rows[3:] == [None, None, None]
    up = edit_questions({**posted, "question_action": ["up:2"]}, parse_questions(posted, {}))
    assert up is not None and [q.label for q in up.questions] == ["First", "Third", "Second"]
    assert [q.order for q in up.questions] == [1, 2, 3]
    down = edit_questions({**posted, "question_action": ["down:0"]}, parse_questions(posted, {}))
    assert down is not None and [q.label for q in down.questions] == ["Second", "First", "Third"]
    for edge in ("up:0", "down:2", "down:99", "up:x"):
        same = edit_questions({**posted, "question_action": [edge]}, parse_questions(posted, {}))
        assert same is not None and [q.label for q in same.questions] == ["First", "Second", "Third"]
