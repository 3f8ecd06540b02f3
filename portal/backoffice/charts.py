"""Pure helpers of the KPI dashboard: date ranges in a viewer's zone, percentiles from histograms,
chart geometry for server-rendered SVG, number formatting and CSV cells. No database, no clock."""

from __future__ import annotations

import csv
import io
import math
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from portal.clock import local_midnight

# --- ranges -----------------------------------------------------------------------------------------


def day_bounds(first: date, last: date, zone: str) -> list[tuple[date, datetime, datetime]]:
    """(local date, UTC start, UTC end) of each local day first..last inclusive."""
    out = []
    day = first
    start = local_midnight(day, zone)
    while day <= last:
        following = day + timedelta(days=1)
        end = local_midnight(following, zone)
        out.append((day, start, end))
        day, start = following, end
    return out


def previous_period(first: date, last: date) -> tuple[date, date]:
    """The same number of days just before ``first``."""
    length = (last - first).days + 1
    return first - timedelta(days=length), first - timedelta(days=1)


# --- statistics ---------------------------------------------------------------------------------------


def bucket(minutes: int) -> int:
    """The histogram value a duration is counted under (the SQL computes the same): exact below an
    hour, then 5 minutes below 10 h, 30 minutes below 50 h, 2 hours above (rounded down)."""
    if minutes < 60:
        return minutes
    if minutes < 600:
        return minutes - minutes % 5
    if minutes < 3000:
        return minutes - minutes % 30
    return minutes - minutes % 120


BUCKET_SQL = (
    "CASE WHEN {0} < 60 THEN {0} WHEN {0} < 600 THEN {0} - {0} % 5 "
    "WHEN {0} < 3000 THEN {0} - {0} % 30 ELSE {0} - {0} % 120 END"
)


def percentile(histogram: dict[int, int], p: float) -> int | None:
    """Nearest-rank percentile of a histogram {value: count}: the smallest value with at least
    ceil(p·n) of the observations at or below it (the median of 1, 2, 3, 4 is 2). None if empty."""
    total = sum(histogram.values())
    if total <= 0:
        return None
    rank = max(1, math.ceil(p * total))
    seen = 0
    for value in sorted(histogram):
        seen += histogram[value]
        if seen >= rank:
            return value
    return None  # unreachable


def ratio(part: int, whole: int) -> float | None:
    """part / whole as a percentage, None when there is nothing to divide."""
    return None if not whole else 100.0 * part / whole


def change(current: float | None, previous: float | None, points: bool = False, better: str = "") -> dict | None:
    """The headline delta against the previous period: relative % (or percentage points), its
    direction, and whether that is ``better`` or ``worse`` for this measure (``better`` is "higher",
    "lower", or "" for a count that is neither, like tickets created)."""
    if current is None or previous is None:
        return None
    if points:
        value = current - previous
    elif previous == 0:
        return None
    else:
        value = 100.0 * (current - previous) / abs(previous)
    arrow = "▲" if value > 0.05 else ("▼" if value < -0.05 else "=")
    unit = " pt" if points else "%"
    amount = f"{abs(value):.1f}{unit}"
    verdict = ""
    if arrow != "=" and better in ("higher", "lower"):
        verdict = "better" if (value > 0) == (better == "higher") else "worse"
    return {
        "value": value,
        "arrow": arrow,
        "amount": amount,
        "verdict": verdict,
        "direction": {"▲": "up", "▼": "down"}.get(arrow, "no change"),
        "tone": {"better": "good", "worse": "bad"}.get(verdict, "flat"),
        "text": (f"{arrow} {amount}" if arrow != "=" else "no change") + (f" ({verdict})" if verdict else ""),
    }


# --- formatting -------------------------------------------------------------------------------------


def duration(minutes: int | None) -> str:
    """Business minutes for people: 45 min, 3 h 05 min, 27 h 30 min."""
    if minutes is None:
        return "—"
    if minutes < 60:
        return f"{minutes} min"
    return f"{minutes // 60} h {minutes % 60:02d} min"


def percent(value: float | None) -> str:
    return "—" if value is None else f"{value:.1f}%"


# --- charts -----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Tick:
    value: float
    y: float
    label: str


def nice_max(value: float) -> float:
    """A round upper bound ≥ value (1, 2, 2.5, 5 × 10^k), for axes that read well."""
    if value <= 0:
        return 1
    power = 10 ** math.floor(math.log10(value))
    for step in (1, 2, 2.5, 5, 10):
        if value <= step * power:
            return step * power
    return 10 * power


def _label(value: float) -> str:
    return f"{value:,.0f}" if value == int(value) else f"{value:,.1f}"


WIDTH, HEIGHT = 640, 200
PAD_LEFT, PAD_RIGHT, PAD_TOP, PAD_BOTTOM = 48, 8, 10, 24


def line_chart(labels: list[str], series: dict[str, list[float]], width: int = WIDTH, height: int = HEIGHT) -> dict:
    """Geometry of a time-series chart: one polyline per series, 5 y ticks, a few x labels."""
    top = nice_max(max((v for values in series.values() for v in values), default=0))
    plot_w, plot_h = width - PAD_LEFT - PAD_RIGHT, height - PAD_TOP - PAD_BOTTOM
    n = len(labels)

    def x(i: int) -> float:
        return PAD_LEFT + (plot_w * i / (n - 1) if n > 1 else plot_w / 2)

    def y(v: float) -> float:
        return PAD_TOP + plot_h * (1 - v / top)

    lines = [
        {"name": name, "index": k, "points": " ".join(f"{x(i):.1f},{y(v):.1f}" for i, v in enumerate(values))}
        for k, (name, values) in enumerate(series.items())
    ]
    ticks = [Tick(top * k / 4, y(top * k / 4), _label(top * k / 4)) for k in range(5)]
    every = max(1, math.ceil(n / 6))
    xlabels = [{"x": x(i), "label": labels[i]} for i in range(0, n, every)]
    return {
        "width": width,
        "height": height,
        "lines": lines,
        "ticks": ticks,
        "xlabels": xlabels,
        "left": PAD_LEFT,
        "right": width - PAD_RIGHT,
        "bottom": height - PAD_BOTTOM,
    }


def bar_chart(labels: list[str], values: list[float], width: int = WIDTH, row: int = 22) -> dict:
    """Horizontal bars, one per label, scaled to the largest value."""
    top = nice_max(max(values, default=0))
    label_w = 160
    plot_w = width - label_w - 60
    bars = [
        {
            "label": label,
            "value": value,
            "text": _label(value),
            "y": i * row + 4,
            "width": round(plot_w * value / top, 1) if top else 0,
            "x": label_w,
        }
        for i, (label, value) in enumerate(zip(labels, values))
    ]
    return {"width": width, "height": max(row * len(bars) + 8, row), "bars": bars, "row": row, "label_w": label_w}


# --- CSV --------------------------------------------------------------------------------------------

_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def csv_cell(value) -> str:
    """A cell a spreadsheet will not run: text starting with = + - @ tab or CR gets a leading '
    (OWASP CSV injection). Numbers are written as numbers (a negative number stays a number)."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, (int, float)):
        return f"{value:.1f}" if isinstance(value, float) else str(value)
    text = str(value)
    return "'" + text if text.startswith(_FORMULA_START) else text


def csv_text(header: list[str], rows: list[list]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow([csv_cell(h) for h in header])
    for row in rows:
        writer.writerow([csv_cell(v) for v in row])
    return out.getvalue()
