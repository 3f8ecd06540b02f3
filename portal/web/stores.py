"""Key-value stores for sessions and throttles: files under var/ on one host, Redis across hosts."""

from __future__ import annotations

from pathlib import Path

from litestar.stores.file import FileStore
from litestar.stores.redis import RedisStore
from litestar.stores.registry import StoreRegistry

from portal.settings import Settings, get_settings

STORE_NAMES = ("sessions", "throttle")


def store_registry(settings: Settings) -> StoreRegistry:
    if settings.redis_url:
        root = RedisStore.with_client(url=settings.redis_url, namespace="portal")
        return StoreRegistry(default_factory=root.with_namespace)
    base = settings.var_dir / "stores"

    def file_store(name: str) -> FileStore:
        (base / name).mkdir(parents=True, exist_ok=True)
        return FileStore(path=base / name, create_directories=True)

    return StoreRegistry(default_factory=file_store)


async def purge_expired() -> None:
    """Drop expired sessions and throttle counts: files do not expire by themselves (Redis keys do)."""
    settings = get_settings()
    if settings.redis_url:
        return
    for name in STORE_NAMES:
        path: Path = settings.var_dir / "stores" / name
        if path.exists():
            await FileStore(path=path).delete_expired()
