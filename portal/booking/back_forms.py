"""Back-office booking forms: raw form fields in, checked values and messages out. Pure: no I/O.

Forms arrive as ``dict[str, list[str]]`` (every field may repeat: checkboxes, multi-selects), so the
same parsers serve plain posts and htmx posts. Local times of day are minutes from midnight; an end
of ``00:00`` or ``24:00`` means the midnight that ends the day (1440).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, time
from typing import Self

from portal.clock import CHOOSE_DAY, DURATION_HINT, format_duration, parse_duration, read_day
from portal.ids import parse_id, parse_int

Form = dict[str, list[str]]

KINDS = {"text": "Short text", "choice": "Choice from a list", "yesno": "Yes or no"}
WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
BLANK_QUESTIONS = 2  # blank rows under the questions, to add one without JavaScript
MAX_QUESTIONS = 30
MAX_SPAN_MINUTES = 24 * 60 - 1  # duration + buffers stay under a day (the engine's margin)
_SLUG_RE = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")


def one(form: Form, key: str, default: str = "") -> str:
    values = form.get(key) or [default]
    return str(values[0]).strip()


@dataclass
class EchoedForm:
    """The text a form was posted with, kept to fill the form in again when it is refused.
    Subclasses list their fields, each a ``str`` whose default also stands in for a missing field."""

    @classmethod
    def from_form(cls, form: Form) -> Self:
        return cls(**{key: one(form, key, blank) for key, blank in vars(cls()).items()})


def many(form: Form, key: str) -> list[str]:
    return [str(v).strip() for v in form.get(key, []) if str(v).strip()]


def slugify(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")[:80]


def hhmm(minutes: int) -> str:
    return "24:00" if minutes >= 1440 else f"{minutes // 60:02d}:{minutes % 60:02d}"


def parse_clock(raw: str, *, end: bool = False) -> int | None:
    """Minutes from midnight of "HH:MM" (None if unreadable); as an end, 00:00 and 24:00 mean 1440."""
    match = re.fullmatch(r"(\d{1,2}):(\d{2})(?::\d{2})?", raw.strip())
    if not match:
        return None
    hours, minutes = int(match.group(1)), int(match.group(2))
    if hours == 24 and minutes == 0:
        return 1440 if end else None
    if hours > 23 or minutes > 59:
        return None
    value = hours * 60 + minutes
    return 1440 if end and value == 0 else value


def parse_day(raw: str) -> date | None:
    """A typed date, or None when unreadable or outside the portal's window (``portal.clock``)."""
    return read_day(raw)


def as_time(minutes: int) -> time:
    return time(0, 0) if minutes >= 1440 else time(minutes // 60, minutes % 60)


# --- time ranges -----------------------------------------------------------------------------------


def check_ranges(ranges: list[tuple[int, int]]) -> str | None:
    """A message when ranges of one day are inverted, empty or overlap, else None."""
    for start, end in ranges:
        if end <= start:
            return f"{hhmm(start)}–{hhmm(end)} ends before it starts."
    ordered = sorted(ranges)
    for (a_start, a_end), (b_start, b_end) in zip(ordered, ordered[1:]):
        if b_start < a_end:
            return f"{hhmm(a_start)}–{hhmm(a_end)} and {hhmm(b_start)}–{hhmm(b_end)} overlap."
    return None


def _range(form: Form, prefix: str, errors: dict[str, str], error_key: str) -> tuple[int, int] | None:
    """The range of fields ``<prefix>_start``/``<prefix>_end``; None when both are blank."""
    raw_start, raw_end = one(form, f"{prefix}_start"), one(form, f"{prefix}_end")
    if not raw_start and not raw_end:
        return None
    start, end = parse_clock(raw_start), parse_clock(raw_end, end=True)
    if start is None or end is None:
        errors.setdefault(error_key, "Enter both times as HH:MM, e.g. 09:00 and 17:30.")
        return None
    return start, end


def parse_weekly(form: Form, rows_per_day: int = 8) -> tuple[dict[int, list[tuple[int, int]]], dict[str, str]]:
    """Fields ``w<weekday>_<row>_start`` / ``_end``; errors are keyed ``w<weekday>``."""
    weekly: dict[int, list[tuple[int, int]]] = {}
    errors: dict[str, str] = {}
    for weekday in range(7):
        ranges = []
        for row in range(rows_per_day):
            found = _range(form, f"w{weekday}_{row}", errors, f"w{weekday}")
            if found:
                ranges.append(found)
        if f"w{weekday}" not in errors and (problem := check_ranges(ranges)):
            errors[f"w{weekday}"] = problem
        weekly[weekday] = sorted(ranges)
    return weekly, errors


@dataclass
class OverrideInput:
    day: date | None
    closed: bool
    ranges: list[tuple[int, int]] = field(default_factory=list)


def parse_override(form: Form, today: date) -> tuple[OverrideInput, dict[str, str]]:
    """One date with other hours (up to two ranges) or closed; not in the past (the staff member's today)."""
    errors: dict[str, str] = {}
    day = parse_day(one(form, "day"))
    if day is None:
        errors["day"] = CHOOSE_DAY
    elif day < today:
        errors["day"] = "That date is in the past: overrides change days to come."
    closed = one(form, "kind", "closed") == "closed"
    ranges: list[tuple[int, int]] = []
    if not closed:
        for prefix in ("r0", "r1"):
            if found := _range(form, prefix, errors, "hours"):
                ranges.append(found)
        if "hours" not in errors:
            if not ranges:
                errors["hours"] = "Enter the hours of that day, or choose “Closed”."
            elif problem := check_ranges(ranges):
                errors["hours"] = problem
    return OverrideInput(day, closed, sorted(ranges)), errors


# --- services ----------------------------------------------------------------------------------------

NUMBER_FIELDS = {
    # name: (label, minimum, maximum)
    "duration_minutes": ("Duration", 5, 12 * 60),
    "buffer_before_minutes": ("Buffer before", 0, 6 * 60),
    "buffer_after_minutes": ("Buffer after", 0, 6 * 60),
    "step_minutes": ("Start every", 5, 24 * 60),
    "min_notice_minutes": ("Minimum notice", 0, 365 * 24 * 60),
    "horizon_days": ("Booking horizon", 1, 730),
    "capacity": ("Seats per session", 1, 500),
    "cancel_cutoff_minutes": ("Cancel cutoff", 0, 365 * 24 * 60),
    "reschedule_cutoff_minutes": ("Reschedule cutoff", 0, 365 * 24 * 60),
    "position": ("Position in the list", 0, 10_000),
}


@dataclass
class Question:
    id: str
    label: str
    kind: str = "text"
    required: bool = False
    options: list[str] = field(default_factory=list)
    order: int = 0

    def as_json(self) -> dict:
        data = {"id": self.id, "label": self.label, "kind": self.kind, "required": self.required}
        if self.kind == "choice":
            data["options"] = self.options
        return data


@dataclass
class ServiceInput:
    name: str = ""
    slug: str = ""
    description: str = ""
    duration_minutes: int = 30
    buffer_before_minutes: int = 0
    buffer_after_minutes: int = 0
    step_minutes: int = 30
    min_notice_minutes: int = 120
    horizon_days: int = 60
    capacity: int = 1
    cancel_cutoff_minutes: int = 1440
    reschedule_cutoff_minutes: int = 1440
    position: int = 0
    reminder_offsets: list[int] = field(default_factory=lambda: [1440, 60])
    questions: list[Question] = field(default_factory=list)
    staff: list[int] = field(default_factory=list)
    is_active: bool = True
    cancel_affected: bool = False  # "cancel the appointments this change strands, and tell the customers"

    @classmethod
    def from_row(cls, row: dict, questions: list[dict], staff: list[int]) -> ServiceInput:
        return cls(
            **{k: row[k] for k in NUMBER_FIELDS},
            name=row["name"],
            slug=row["slug"],
            description=row["description"],
            reminder_offsets=list(row["reminder_offsets"]),
            questions=[
                Question(
                    q["id"], q["label"], q.get("kind", "text"), bool(q.get("required")), list(q.get("options", [])), i
                )
                for i, q in enumerate(questions)
            ],
            staff=staff,
            is_active=row["is_active"],
        )

    @property
    def reminders_text(self) -> str:
        return ", ".join(str(m) for m in self.reminder_offsets)


# Fields typed as durations ("1 h 30 min", "90", "1:30"), shown as hours and minutes.
DURATION_FIELDS = frozenset(name for name in NUMBER_FIELDS if name.endswith("_minutes"))


def _number(form: Form, name: str, errors: dict[str, str]) -> int:
    label, low, high = NUMBER_FIELDS[name]
    if name in DURATION_FIELDS:
        return _duration(form, name, errors)
    raw = one(form, name)
    try:
        value = int(raw)
    except ValueError:
        errors[name] = f"{label}: enter a whole number."
        return low
    if not low <= value <= high:
        errors[name] = f"{label}: enter a number from {low} to {high:,}."
    return value


def _duration(form: Form, name: str, errors: dict[str, str]) -> int:
    label, low, high = NUMBER_FIELDS[name]
    try:
        value = parse_duration(one(form, name))
    except ValueError as error:
        errors[name] = f"{label}: enter a whole number of minutes or a duration. {error}"
        return low
    if value is None:
        errors[name] = f"{label}: enter a whole number of minutes or a duration ({DURATION_HINT.lower()[:-1]})."
        return low
    if not low <= value <= high:
        errors[name] = f"{label}: enter a number from {format_duration(low)} to {format_duration(high)}."
    return value


def parse_questions(form: Form, errors: dict[str, str], max_rows: int = MAX_QUESTIONS) -> list[Question]:
    """Rows ``q<i>_label/_kind/_required/_options/_order/_id/_remove``; blank rows are skipped.
    New questions get an id from their label; existing ones keep theirs (answers are keyed by it)."""
    questions: list[Question] = []
    for i in range(max_rows):
        label = one(form, f"q{i}_label")
        if not label or one(form, f"q{i}_remove"):
            continue
        kind = one(form, f"q{i}_kind", "text")
        options = [o.strip() for o in re.split(r"[\n,]", one(form, f"q{i}_options")) if o.strip()]
        order = parse_int(one(form, f"q{i}_order"), 0, 1000)
        order = i + 1 if order is None else order
        key = f"q{i}_label"
        if kind not in KINDS:
            errors[key] = "Choose a kind of answer."
        elif len(label) > 200:
            errors[key] = "A question has at most 200 characters."
        elif kind == "choice" and len(options) < 2:
            errors[key] = "A choice needs at least two options (one per line or separated by commas)."
        elif any(len(o) > 100 for o in options):
            errors[key] = "An option has at most 100 characters."
        questions.append(
            Question(
                one(form, f"q{i}_id")[:40],
                label,
                kind,
                bool(one(form, f"q{i}_required")),
                options if kind == "choice" else [],
                order,
            )
        )
    questions.sort(key=lambda q: q.order)
    taken = {q.id for q in questions if q.id}
    for question in questions:
        if not question.id:
            base = slugify(question.label).replace("-", "_")[:30] or "question"
            candidate, n = base, 2
            while candidate in taken:
                candidate, n = f"{base}_{n}", n + 1
            question.id = candidate
            taken.add(candidate)
    for position, question in enumerate(questions, start=1):
        question.order = position
    return questions


@dataclass
class QuestionRows:
    """The intake-question rows the form shows: the questions, then ``blank`` empty rows."""

    questions: list[Question]
    blank: int = BLANK_QUESTIONS

    @property
    def rows(self) -> list[Question | None]:
        return [*self.questions, *([None] * self.blank)]


def edit_questions(form: Form, questions: list[Question]) -> QuestionRows | None:
    """The rows after an "Add question", "Up" or "Down" button (``question_action`` = ``add``,
    ``up:<i>``, ``down:<i>``), which re-shows the form instead of saving it; None for a plain save.
    Drag-free reordering: a button moves one question one place."""
    action = one(form, "question_action")
    if not action:
        return None
    blank = parse_int(one(form, "blank_questions"), 0, MAX_QUESTIONS) or BLANK_QUESTIONS
    moved = list(questions)
    verb, _, raw_index = action.partition(":")
    index = parse_int(raw_index, 0, len(moved) - 1) if moved else None
    if verb == "add":
        blank = min(blank + 1, MAX_QUESTIONS - len(moved))
    elif verb in ("up", "down") and index is not None:
        other = index - 1 if verb == "up" else index + 1
        if 0 <= other < len(moved):
            moved[index], moved[other] = moved[other], moved[index]
    for position, question in enumerate(moved, start=1):
        question.order = position
    return QuestionRows(moved, blank)


def parse_service(form: Form) -> tuple[ServiceInput, dict[str, str]]:
    errors: dict[str, str] = {}
    data = ServiceInput(
        name=one(form, "name"),
        description=one(form, "description"),
        is_active=bool(one(form, "is_active")),
        cancel_affected=bool(one(form, "cancel_affected")),
    )
    data.slug = one(form, "slug").lower() or slugify(data.name)
    for name in NUMBER_FIELDS:
        setattr(data, name, _number(form, name, errors))
    if not data.name:
        errors["name"] = "Give the service a name."
    elif len(data.name) > 120:
        errors["name"] = "A name has at most 120 characters."
    if not _SLUG_RE.match(data.slug) or len(data.slug) > 80:
        errors["slug"] = "Use lower-case letters, digits and dashes, e.g. tax-consultation."
    if len(data.description) > 2000:
        errors["description"] = "A description has at most 2,000 characters."
    if (
        not errors.keys() & {"duration_minutes", "buffer_before_minutes", "buffer_after_minutes"}
        and data.duration_minutes + data.buffer_before_minutes + data.buffer_after_minutes > MAX_SPAN_MINUTES
    ):
        errors["duration_minutes"] = "Duration and buffers together must stay under 24 hours."
    reminders_raw = one(form, "reminder_offsets")
    try:
        data.reminder_offsets = sorted({int(p) for p in re.split(r"[\s,]+", reminders_raw) if p}, reverse=True)
        if len(data.reminder_offsets) > 5 or any(not 1 <= m <= 30 * 24 * 60 for m in data.reminder_offsets):
            raise ValueError
    except ValueError:
        errors["reminder_offsets"] = "Enter up to five numbers of minutes before the start, e.g. 1440, 60."
    data.questions = parse_questions(form, errors)
    staff = [parse_id(v) for v in many(form, "staff")]
    data.staff = sorted({v for v in staff if v is not None})
    if None in staff:
        errors["staff"] = "Choose staff from the list."
    return data, errors
