"""SQL of ``ticket_week_stat``, the weekly ticket rollup behind the KPI dashboard (see the migration
``2026-11-24T11:00:00`` for why): its table, the triggers that keep it, its rebuild for bulk loads
that bypass triggers, and how a range splits into its whole weeks. This module writes the rollup
(and reads the ticket table to do so); the reports read it through ``read_model.period_cells``."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from portal.clock import local_midnight
from portal.db import fetch, is_sqlite, write_transaction

# What each cell counts, in this order everywhere (table columns, ``read_model.period_cells`` rows).
COUNTS = (
    "created",
    "first_met",
    "first_breached",
    "solved",
    "resolution_met",
    "resolution_breached",
    "csat_good",
    "csat_bad",
)
SAMPLE_EVERY = 16  # the sample indexes hold the tickets whose id is a multiple of this
_KEY = "week, team, assignee, category, via"

TABLE_COLUMNS = ", ".join(f"{c} INTEGER NOT NULL DEFAULT 0" for c in COUNTS)

STATEMENTS = [
    "CREATE INDEX IF NOT EXISTS ticket_report_sample_created_idx ON ticket "
    "(created_at, team, assignee, category, via, first_response_minutes) "
    f"WHERE id % {SAMPLE_EVERY} = 0 AND first_response_minutes IS NOT NULL",
    "CREATE INDEX IF NOT EXISTS ticket_report_sample_solved_idx ON ticket "
    "(solved_at, team, assignee, category, via, resolution_minutes) "
    f"WHERE id % {SAMPLE_EVERY} = 0 AND resolution_minutes IS NOT NULL",
]

SQLITE_WEEK = "date({}, 'weekday 0', '-6 days')"
POSTGRES_WEEK = "CAST(date_trunc('week', {} AT TIME ZONE 'UTC') AS date)"


def _upsert(row: str, sign: str, week: str) -> list[str]:
    """Add (sign 1) or take away (sign -1) one ticket's contribution: its created week always, its
    solved week when it is solved."""
    created = (
        f"INSERT INTO ticket_week_stat ({_KEY}, created, first_met, first_breached) "
        f"SELECT {week.format(f'{row}.created_at')}, COALESCE({row}.team, 0), COALESCE({row}.assignee, 0), "
        f"COALESCE({row}.category, 0), {row}.via, {sign}, "
        f"CASE WHEN NOT {row}.first_response_breached THEN {sign} ELSE 0 END, "
        f"CASE WHEN {row}.first_response_breached THEN {sign} ELSE 0 END WHERE {row}.created_at IS NOT NULL "
        f"ON CONFLICT ({_KEY}) DO UPDATE SET created = ticket_week_stat.created + excluded.created, "
        "first_met = ticket_week_stat.first_met + excluded.first_met, "
        "first_breached = ticket_week_stat.first_breached + excluded.first_breached;"
    )
    solved = (
        f"INSERT INTO ticket_week_stat ({_KEY}, solved, resolution_met, resolution_breached, csat_good, csat_bad) "
        f"SELECT {week.format(f'{row}.solved_at')}, COALESCE({row}.team, 0), COALESCE({row}.assignee, 0), "
        f"COALESCE({row}.category, 0), {row}.via, {sign}, "
        f"CASE WHEN NOT {row}.resolution_breached THEN {sign} ELSE 0 END, "
        f"CASE WHEN {row}.resolution_breached THEN {sign} ELSE 0 END, "
        f"CASE WHEN {row}.csat_rating = 'good' THEN {sign} ELSE 0 END, "
        f"CASE WHEN {row}.csat_rating = 'bad' THEN {sign} ELSE 0 END WHERE {row}.solved_at IS NOT NULL "
        f"ON CONFLICT ({_KEY}) DO UPDATE SET solved = ticket_week_stat.solved + excluded.solved, "
        "resolution_met = ticket_week_stat.resolution_met + excluded.resolution_met, "
        "resolution_breached = ticket_week_stat.resolution_breached + excluded.resolution_breached, "
        "csat_good = ticket_week_stat.csat_good + excluded.csat_good, "
        "csat_bad = ticket_week_stat.csat_bad + excluded.csat_bad;"
    )
    return [created, solved]


def backfill_statements(week: str) -> list[str]:
    return [
        f"INSERT INTO ticket_week_stat ({_KEY}, created, first_met, first_breached) "
        f"SELECT {week.format('created_at')}, COALESCE(team, 0), COALESCE(assignee, 0), COALESCE(category, 0), via, "
        "COUNT(*), SUM(CASE WHEN NOT first_response_breached THEN 1 ELSE 0 END), "
        "SUM(CASE WHEN first_response_breached THEN 1 ELSE 0 END) FROM ticket WHERE created_at IS NOT NULL "
        "GROUP BY 1, 2, 3, 4, 5",
        f"INSERT INTO ticket_week_stat ({_KEY}, solved, resolution_met, resolution_breached, csat_good, csat_bad) "
        f"SELECT {week.format('solved_at')}, COALESCE(team, 0), COALESCE(assignee, 0), COALESCE(category, 0), via, "
        "COUNT(*), SUM(CASE WHEN NOT resolution_breached THEN 1 ELSE 0 END), "
        "SUM(CASE WHEN resolution_breached THEN 1 ELSE 0 END), SUM(CASE WHEN csat_rating = 'good' THEN 1 ELSE 0 END), "
        "SUM(CASE WHEN csat_rating = 'bad' THEN 1 ELSE 0 END) FROM ticket WHERE solved_at IS NOT NULL "
        f"GROUP BY 1, 2, 3, 4, 5 ON CONFLICT ({_KEY}) DO UPDATE SET solved = excluded.solved, "
        "resolution_met = excluded.resolution_met, resolution_breached = excluded.resolution_breached, "
        "csat_good = excluded.csat_good, csat_bad = excluded.csat_bad",
    ]


WATCHED = (
    "created_at, solved_at, team, assignee, category, via, first_response_breached, resolution_breached, csat_rating"
)


def _changed(distinct: str) -> str:
    return " OR ".join(f"OLD.{c} {distinct} NEW.{c}" for c in WATCHED.split(", "))


SQLITE = [
    "CREATE TABLE IF NOT EXISTS ticket_week_stat (week TEXT NOT NULL, team INTEGER NOT NULL, "
    "assignee INTEGER NOT NULL, category INTEGER NOT NULL, via TEXT NOT NULL, "
    f"{TABLE_COLUMNS}, PRIMARY KEY ({_KEY})) WITHOUT ROWID",
    *backfill_statements(SQLITE_WEEK),
    "CREATE TRIGGER IF NOT EXISTS ticket_week_stat_insert AFTER INSERT ON ticket BEGIN "
    f"{' '.join(_upsert('NEW', '1', SQLITE_WEEK))} END",
    f"CREATE TRIGGER IF NOT EXISTS ticket_week_stat_update AFTER UPDATE OF {WATCHED} ON ticket "
    f"WHEN {_changed('IS NOT')} BEGIN "
    f"{' '.join(_upsert('OLD', '-1', SQLITE_WEEK) + _upsert('NEW', '1', SQLITE_WEEK))} END",
    "CREATE TRIGGER IF NOT EXISTS ticket_week_stat_delete AFTER DELETE ON ticket BEGIN "
    f"{' '.join(_upsert('OLD', '-1', SQLITE_WEEK))} END",
]

POSTGRES = [
    "CREATE TABLE IF NOT EXISTS ticket_week_stat (week DATE NOT NULL, team INTEGER NOT NULL, "
    "assignee INTEGER NOT NULL, category INTEGER NOT NULL, via VARCHAR(16) NOT NULL, "
    f"{TABLE_COLUMNS}, PRIMARY KEY ({_KEY}))",
    *backfill_statements(POSTGRES_WEEK),
    f"""CREATE OR REPLACE FUNCTION ticket_week_stat_apply() RETURNS trigger AS $$
    BEGIN
      IF TG_OP IN ('UPDATE', 'DELETE') THEN {" ".join(_upsert("OLD", "-1", POSTGRES_WEEK))} END IF;
      IF TG_OP IN ('UPDATE', 'INSERT') THEN {" ".join(_upsert("NEW", "1", POSTGRES_WEEK))} END IF;
      RETURN NULL;
    END $$ LANGUAGE plpgsql""",
    "CREATE TRIGGER ticket_week_stat_insert AFTER INSERT OR DELETE ON ticket FOR EACH ROW "
    "EXECUTE FUNCTION ticket_week_stat_apply()",
    f"CREATE TRIGGER ticket_week_stat_update AFTER UPDATE OF {WATCHED} ON ticket FOR EACH ROW "
    f"WHEN ({_changed('IS DISTINCT FROM')}) EXECUTE FUNCTION ticket_week_stat_apply()",
]


async def rebuild() -> None:
    """Recount ``ticket_week_stat`` from the tickets (after a load with triggers off, or to repair drift)."""
    async with write_transaction():
        await fetch("DELETE FROM ticket_week_stat")
        for statement in backfill_statements(SQLITE_WEEK if is_sqlite() else POSTGRES_WEEK):
            await fetch(statement)


# --- weeks -------------------------------------------------------------------------------------------


def week_split(lo: datetime, hi: datetime) -> tuple[tuple[date, date] | None, list[tuple[datetime, datetime]]]:
    """Split the instants [lo, hi) into whole UTC weeks, read from the rollup as [first Monday, end
    Monday), and what is left at either end (under a week, plus any part day of a viewer's zone),
    read from the tickets themselves."""
    if hi <= lo:
        return None, []
    lo_utc, hi_utc = lo.astimezone(UTC), hi.astimezone(UTC)
    first = lo_utc.date() + timedelta(days=1 if lo_utc > local_midnight(lo_utc.date(), UTC) else 0)
    first += timedelta(days=(7 - first.weekday()) % 7)
    end = hi_utc.date() - timedelta(days=hi_utc.date().weekday())
    if first >= end:
        return None, [(lo, hi)]
    rest = [(a, b) for a, b in ((lo, local_midnight(first, UTC)), (local_midnight(end, UTC), hi)) if a < b]
    return (first, end), rest


def week_param(day: date):
    """A week bound as the column stores it: DATE on PostgreSQL, ISO text on SQLite."""
    return day.isoformat() if is_sqlite() else day
