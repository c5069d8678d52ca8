"""What the busiest public pages keep of a campaign between requests, so that a wave
of hits does not load its stored article (tens of kilobytes of JSON) for each.

A campaign's links do not change once it is sent; its archive page changes only with
``base_url``. Both are kept a minute (``TTL``), the least recently used dropped first,
so a campaign deleted or published meanwhile is seen within that minute.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Generic, TypeVar

from cachetools import TTLCache
from starlette.concurrency import run_in_threadpool

__all__ = ["TTL", "CampaignCache"]

#: How long an entry is kept, in seconds.
TTL = 60.0

V = TypeVar("V")


class CampaignCache(Generic[V]):
    """Values per campaign id, made by ``load`` on a miss (``None`` too: no such
    campaign is remembered as such)."""

    def __init__(self, load: Callable[[int], V], *, size: int = 256, ttl: float = TTL):
        self._load = load
        self._cache: TTLCache[int, V] = TTLCache(maxsize=size, ttl=ttl)
        self._lock = threading.Lock()

    def get(self, campaign_id: int) -> V:
        found, value = self._cached(campaign_id)
        if found:
            return value
        # Loaded outside the lock: two requests may both load a missing entry, which
        # costs less than making every hit wait for one slow load.
        value = self._load(campaign_id)
        with self._lock:
            self._cache[campaign_id] = value
        return value

    async def aget(self, campaign_id: int) -> V:
        """``get`` for a coroutine: a hit answers on the event loop, a miss loads in a
        thread so that the loop goes on serving the others."""
        found, value = self._cached(campaign_id)
        if found:
            return value
        return await run_in_threadpool(self.get, campaign_id)

    def _cached(self, campaign_id: int) -> tuple[bool, V]:
        with self._lock:
            try:
                return True, self._cache[campaign_id]
            except KeyError:
                return False, None  # type: ignore[return-value]

    def clear(self) -> None:
        with self._lock:
            self._cache.clear()
