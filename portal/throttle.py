"""Fixed-window attempt counters on a Litestar store (files on one host, Redis across hosts).

Counting is best-effort under races (two requests may read the same count); that loses at most a
few attempts per window, which is fine for slowing down guessing.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass

from litestar.stores.base import Store


@dataclass
class Throttle:
    store: Store

    async def _read(self, key: str) -> tuple[int, float]:
        raw = await self.store.get(key)
        if not raw:
            return 0, 0.0
        data = json.loads(raw)
        if data["reset"] <= time.time():
            return 0, 0.0
        return int(data["n"]), float(data["reset"])

    async def retry_after(self, key: str, limit: int) -> int:
        """Seconds until ``key`` may try again, 0 when under ``limit``."""
        count, reset = await self._read(key)
        return max(1, int(reset - time.time()) + 1) if count >= limit else 0

    async def hit(self, key: str, window: int) -> int:
        count, reset = await self._read(key)
        if not reset:
            reset = time.time() + window
        count += 1
        await self.store.set(
            key, json.dumps({"n": count, "reset": reset}), expires_in=max(1, int(reset - time.time()) + 1)
        )
        return count

    async def clear(self, key: str) -> None:
        await self.store.delete(key)


def minutes_text(seconds: int) -> str:
    minutes = max(1, round(seconds / 60))
    return "a minute" if minutes == 1 else f"{minutes} minutes"
