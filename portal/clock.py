"""Time: the one clock, the one reader of dates, months and instants that people type, and the one
place that knows time zones (which names are valid, where a local day starts) and how instants and
dates come back from raw SQL.

Every date or instant that comes from a request (a query parameter, a form field, an imported
``.ics`` file) is read here and must fall in ``EARLIEST``..``LATEST``: a window wide enough for any
desk's past and plans, and narrow enough that adding a month, a week of margin or a time-zone
offset to it can never leave Python's calendar (years 1..9999). Outside it the reader raises
``Invalid`` (422) with a message, instead of an ``OverflowError`` deep in a page.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from functools import lru_cache
from typing import Any, overload
from zoneinfo import ZoneInfo, available_timezones

from portal.errors import Invalid

EARLIEST = date(1970, 1, 1)
LATEST = date(2199, 12, 31)
WINDOW_MESSAGE = f"Choose a date between {EARLIEST:%Y} and {LATEST:%Y}."
CHOOSE_DAY = f"Choose a date (YYYY-MM-DD, between {EARLIEST:%Y} and {LATEST:%Y})."


def utcnow() -> datetime:
    """Aware UTC now: the only form of time the database stores."""
    return datetime.now(UTC)


def in_window(day: date) -> bool:
    """Whether a date (or the UTC date of an instant) is one the portal accepts."""
    if isinstance(day, datetime):
        day = day.astimezone(UTC).date() if day.tzinfo else day.date()
    return EARLIEST <= day <= LATEST


def _refuse(message: str, field: str | None) -> Invalid:
    return Invalid(message, errors={field: message} if field else None)


def parse_day(
    raw: str, *, field: str | None = None, message: str = "That date could not be read: use the form YYYY-MM-DD."
) -> date:
    """A calendar date typed as ``YYYY-MM-DD``; ``Invalid`` (422) when unreadable or outside the window."""
    try:
        day = date.fromisoformat((raw or "").strip())
    except ValueError:
        raise _refuse(message, field) from None
    if not in_window(day):
        raise _refuse(WINDOW_MESSAGE, field)
    return day


def parse_month(
    raw: str, *, field: str | None = None, message: str = "That month could not be read: use the form YYYY-MM."
) -> date:
    """The first day of a month typed as ``YYYY-MM`` (a full date names its month)."""
    text = (raw or "").strip()
    try:
        day = date.fromisoformat(text + "-01" if len(text) == 7 else text)
    except ValueError:
        raise _refuse(message, field) from None
    if not in_window(day):
        raise _refuse(WINDOW_MESSAGE, field)
    return day.replace(day=1)


def parse_instant(raw: str, *, field: str | None = None, message: str = "That time could not be read.") -> datetime:
    """An ISO instant with its offset (``Z`` or ``+02:00``), as aware UTC. Checked before the
    conversion: ``0001-01-01T00:00+14:00`` is a valid ISO string whose UTC value is before year 1."""
    try:
        value = datetime.fromisoformat((raw or "").strip().replace("Z", "+00:00"))
    except ValueError:
        raise _refuse(message, field) from None
    if value.tzinfo is None:
        raise _refuse(message, field)
    if not EARLIEST <= value.date() <= LATEST:
        raise _refuse(WINDOW_MESSAGE, field)
    return value.astimezone(UTC)


def read_day(raw: str) -> date | None:
    """``parse_day`` for callers that collect their own messages: None when unreadable or out of the window."""
    try:
        return parse_day(raw)
    except Invalid:
        return None


def read_instant(raw: str) -> datetime | None:
    """An instant the portal wrote itself (a page cursor): ISO, a missing offset meaning UTC; None
    when unreadable or outside the window, so that an edited link is refused rather than overflowing."""
    try:
        value = datetime.fromisoformat((raw or "").strip())
    except ValueError:
        return None
    value = value if value.tzinfo else value.replace(tzinfo=UTC)
    return value.astimezone(UTC) if EARLIEST <= value.date() <= LATEST else None


# --- time zones -----------------------------------------------------------------------------------

ZONE_MESSAGE = "Choose a time zone from the list."


@lru_cache(maxsize=1)
def time_zones() -> tuple[str, ...]:
    """The zone names people may choose: the IANA ``Area/City`` names, plus ``UTC``."""
    return tuple(sorted(z for z in available_timezones() if "/" in z or z == "UTC"))


@lru_cache(maxsize=1)
def _zone_names() -> frozenset[str]:
    return frozenset(time_zones())


def timezone_problem(name: str | None) -> str | None:
    """None for a zone from the list, else the message to show. Checked against the list, never by
    opening ``ZoneInfo(name)``: a typed name can be a path or too long for a file name (OSError)."""
    return None if name in _zone_names() else ZONE_MESSAGE


def zone_or_utc(name: str | None) -> str:
    """A stored or typed zone name if it is valid, else ``"UTC"`` (old rows, edited links)."""
    return name if name and not timezone_problem(name) else "UTC"


def zone_info(zone: str | tzinfo | None) -> tzinfo:
    """The tzinfo for a zone name (an invalid one reads as UTC); a tzinfo is returned as it is."""
    if isinstance(zone, tzinfo):
        return zone
    return ZoneInfo(zone_or_utc(zone))


REGIONS = ("Africa", "America", "Antarctica", "Arctic", "Asia", "Atlantic", "Australia", "Europe", "Indian", "Pacific")
# Old spellings the tz database keeps as links inside the regions ("backward" file): valid, not offered.
RENAMED = frozenset(
    {
        "America/Buenos_Aires",
        "America/Catamarca",
        "America/Cordoba",
        "America/Fort_Wayne",
        "America/Indianapolis",
        "America/Jujuy",
        "America/Knox_IN",
        "America/Louisville",
        "America/Mendoza",
        "America/Porto_Acre",
        "America/Rosario",
        "America/Shiprock",
        "America/Virgin",
        "America/Godthab",
        "America/Ensenada",
        "America/Atka",
        "America/Santa_Isabel",
        "America/Argentina/ComodRivadavia",
        "America/Coral_Harbour",
        "Antarctica/South_Pole",
        "Asia/Ashkhabad",
        "Asia/Calcutta",
        "Asia/Chongqing",
        "Asia/Chungking",
        "Asia/Dacca",
        "Asia/Harbin",
        "Asia/Istanbul",
        "Asia/Kashgar",
        "Asia/Katmandu",
        "Asia/Macao",
        "Asia/Rangoon",
        "Asia/Saigon",
        "Asia/Tel_Aviv",
        "Asia/Thimbu",
        "Asia/Ujung_Pandang",
        "Asia/Ulan_Bator",
        "Atlantic/Faeroe",
        "Atlantic/Jan_Mayen",
        "Australia/ACT",
        "Australia/Canberra",
        "Australia/LHI",
        "Australia/NSW",
        "Australia/North",
        "Australia/Queensland",
        "Australia/South",
        "Australia/Tasmania",
        "Australia/Victoria",
        "Australia/West",
        "Australia/Yancowinna",
        "Europe/Belfast",
        "Europe/Kiev",
        "Europe/Nicosia",
        "Europe/Tiraspol",
        "Europe/Uzhgorod",
        "Europe/Zaporozhye",
        "Pacific/Enderbury",
        "Pacific/Johnston",
        "Pacific/Ponape",
        "Pacific/Samoa",
        "Pacific/Truk",
        "Pacific/Yap",
    }
)


@lru_cache(maxsize=1)
def canonical_zones() -> tuple[str, ...]:
    """The zones a picker offers: ``Region/City`` names of the tz database's regions, plus ``UTC``.
    Legacy aliases (``US/Eastern``, ``Etc/GMT+5``, ``EST5EDT``, ``Asia/Calcutta``) stay valid for rows
    that hold them, but are not offered: one name per place, the one the database calls canonical."""
    return tuple(
        ["UTC"]
        + sorted(z for z in available_timezones() if z.split("/", 1)[0] in REGIONS and "/" in z and z not in RENAMED)
    )


def utc_offset_label(zone: str, at: datetime) -> str:
    """``UTC+01:00`` for ``zone`` at the instant ``at`` (offsets change with DST: say when)."""
    offset = at.astimezone(zone_info(zone)).utcoffset() or timedelta(0)
    minutes = int(offset.total_seconds() // 60)
    sign = "-" if minutes < 0 else "+"
    hours, rest = divmod(abs(minutes), 60)
    return f"UTC{sign}{hours:02d}:{rest:02d}"


def zone_choices(at: datetime) -> list[tuple[str, str]]:
    """``(name, label)`` for every canonical zone, labelled with its offset at ``at``:
    ``("Europe/Paris", "Europe/Paris (UTC+01:00)")``. Pure (the caller gives the instant)."""
    return [(zone, f"{zone} ({utc_offset_label(zone, at)})") for zone in canonical_zones()]


@lru_cache(maxsize=2)
def _choices_for_hour(hour: datetime) -> tuple[tuple[str, str], ...]:
    return tuple(zone_choices(hour))


def zone_choices_now() -> tuple[tuple[str, str], ...]:
    """``zone_choices`` at the current hour (cached for the hour: offsets change on the hour at most)."""
    return _choices_for_hour(utcnow().replace(minute=0, second=0, microsecond=0))


# --- durations ------------------------------------------------------------------------------------

DURATION_HINT = "Like 90 min, 1 h 30 min, 1h30, 1:30 or 2 h."
_DURATION = re.compile(
    r"(?:(?P<days>\d{1,4}(?:\.\d{1,3})?)d"
    r"|(?P<clock_h>\d{1,6}):(?P<clock_m>[0-5]\d)"
    r"|(?P<hours>\d{1,6}(?:\.\d{1,3})?)h(?:(?P<minutes>\d{1,4})(?:min|m)?)?"
    r"|(?P<plain>\d{1,7})(?:min|m)?)"
)


def parse_duration(text: str, *, day_minutes: int = 1440) -> int | None:
    """Minutes of a duration as people type it: "90", "90 min", "1 h 30 min", "1h30", "1:30", "2 h",
    "1.5h", "3d" (a day is ``day_minutes``: 1440, or 480 for business days). None when blank.
    A grammar, not ``float()``: "inf", "nan", "1e400h" or a minus sign are not durations, and the digit
    counts keep every value finite (the caller checks the range). ``ValueError`` with a message."""
    raw = (text or "").strip().lower().replace(" ", "")
    if not raw:
        return None
    match = _DURATION.fullmatch(raw)
    if match is None:
        raise ValueError(f"“{text.strip()[:40]}” is not a duration like 90 min, 1 h 30 min, 1:30 or 2 h.")
    parts = match.groupdict()
    if parts["days"]:
        return int(float(parts["days"]) * day_minutes)
    if parts["clock_h"]:
        return int(parts["clock_h"]) * 60 + int(parts["clock_m"])
    if parts["hours"]:
        return int(float(parts["hours"]) * 60) + int(parts["minutes"] or 0)
    return int(parts["plain"])


def format_duration(minutes: int | None) -> str:
    """Minutes as hours and minutes, the way ``parse_duration`` reads them back: 90 -> "1 h 30 min",
    120 -> "2 h", 45 -> "45 min", 2880 -> "48 h"; None -> ""."""
    if minutes is None:
        return ""
    hours, rest = divmod(abs(int(minutes)), 60)
    sign = "-" if minutes < 0 else ""
    if not hours:
        return f"{sign}{rest} min"
    return f"{sign}{hours} h" + (f" {rest} min" if rest else "")


# --- local days -----------------------------------------------------------------------------------


def local_midnight(day: date, zone: str | tzinfo) -> datetime:
    """The UTC instant at which ``day`` starts in ``zone``. DST-correct: a local day has 23 to 25
    hours, and where midnight itself is skipped the day starts at the first instant after it."""
    return datetime.combine(day, time(0), zone_info(zone)).astimezone(UTC)


def local_day_bounds(day: date, zone: str | tzinfo) -> tuple[datetime, datetime]:
    """``day`` in ``zone`` as a half-open UTC range [its midnight, the next day's midnight)."""
    return local_midnight(day, zone), local_midnight(day + timedelta(days=1), zone)


def local_instant(day: date, minute: int, zone: str | tzinfo) -> datetime:
    """The UTC instant of a local time of day given in minutes from midnight (1440 and more: the
    midnight that ends ``day``), as working hours and time off are stored."""
    if minute >= 1440:
        return local_midnight(day + timedelta(days=1), zone)
    return datetime.combine(day, time(minute // 60, minute % 60), zone_info(zone)).astimezone(UTC)


def local_today(zone: str | tzinfo, now: datetime | None = None) -> date:
    """The calendar date in ``zone`` at ``now`` (the clock's now by default)."""
    return (now or utcnow()).astimezone(zone_info(zone)).date()


# --- values read by raw SQL -----------------------------------------------------------------------


@overload
def instant(value: str | datetime) -> datetime: ...
@overload
def instant(value: None) -> None: ...
@overload
def instant(value: Any) -> datetime | None: ...


def instant(value: Any) -> datetime | None:
    """A timestamp column read by raw SQL, as an aware UTC datetime: SQLite gives text, PostgreSQL
    an aware datetime (None stays None)."""
    if value is None:
        return None
    moment: datetime = datetime.fromisoformat(value) if isinstance(value, str) else value
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def sql_day(value: Any) -> date | None:
    """A date column read by raw SQL (text on SQLite, a date on PostgreSQL)."""
    if value is None or isinstance(value, date):
        return value
    return date.fromisoformat(str(value)[:10])
