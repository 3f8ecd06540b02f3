import asyncio
from datetime import UTC, datetime, timedelta

from litestar.stores.memory import MemoryStore

from portal.jobs.queue import backoff
from portal.jobs.worker import Schedule
from portal.settings import Settings
from portal.throttle import Throttle, minutes_text
from portal.web.responses import safe_next
from portal.web.templating import local_time


def test_safe_next_keeps_only_local_paths():
    assert safe_next("/account") == "/account"
    assert safe_next("/back/users?q=x") == "/back/users?q=x"
    for bad in ("//evil.example", "https://evil.example/", "/\\evil.example", "evil", "", None, "javascript:alert(1)"):
        assert safe_next(bad, "/") == "/", bad


def test_local_time_shows_each_persons_zone():
    instant = datetime(2026, 3, 29, 0, 30, tzinfo=UTC)  # Paris switches to summer time at 01:00 UTC
    assert local_time(instant, "Europe/Paris") == "2026-03-29 01:30"
    assert local_time(instant + timedelta(hours=1), "Europe/Paris") == "2026-03-29 03:30"
    assert local_time(instant, "America/New_York") == "2026-03-28 20:30"
    assert local_time(instant, "Not/AZone") == "2026-03-29 00:30"
    assert local_time(None) == ""


def test_backoff_grows_and_is_capped():
    assert [backoff(n).total_seconds() for n in (1, 2, 3, 4)] == [10, 20, 40, 80]
    assert backoff(30) == timedelta(hours=1)


def test_schedule_occurrences_align_for_every_worker():
    hourly = Schedule("x", timedelta(hours=1))
    a = hourly.occurrence(datetime(2026, 11, 23, 10, 59, 59, tzinfo=UTC))
    b = hourly.occurrence(datetime(2026, 11, 23, 10, 0, 1, tzinfo=UTC))
    assert a == b == datetime(2026, 11, 23, 10, 0, tzinfo=UTC)


def test_throttle_counts_in_a_window():
    async def scenario():
        throttle = Throttle(MemoryStore())
        for _ in range(3):
            await throttle.hit("k", window=60)
        assert await throttle.retry_after("k", limit=4) == 0
        await throttle.hit("k", window=60)
        wait = await throttle.retry_after("k", limit=4)
        assert 0 < wait <= 61
        await throttle.clear("k")
        assert await throttle.retry_after("k", limit=4) == 0

    asyncio.run(scenario())
    assert minutes_text(30) == "a minute" and minutes_text(900) == "15 minutes"


def test_settings_from_env_defaults_and_overrides(tmp_path):
    settings = Settings.from_env({"PORTAL_VAR_DIR": str(tmp_path)})
    assert settings.database_url == f"sqlite:///{tmp_path}/portal.sqlite3"
    assert settings.is_sqlite and not settings.secure_cookies and settings.run_worker_in_process
    assert (tmp_path / "secret_key").exists()
    again = Settings.from_env({"PORTAL_VAR_DIR": str(tmp_path)})
    assert again.secret_key == settings.secret_key  # kept across restarts and sibling processes
    custom = Settings.from_env(
        {
            "PORTAL_VAR_DIR": str(tmp_path),
            "PORTAL_BASE_URL": "https://desk.example/",
            "PORTAL_DATABASE_URL": "postgresql://u@h/db",
            "PORTAL_WORKER": "off",
        }
    )
    assert custom.secure_cookies and custom.base_url == "https://desk.example"
    assert not custom.is_sqlite and not custom.run_worker_in_process
