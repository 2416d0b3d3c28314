"""A sliding-window request budget per (host, credential), shared by every resource using that pair.

A sliding window (rather than a token bucket) matches how Azure counts: "100 requests per 10 s". Waiters are
served in arrival order, so a resource with many calls cannot starve the others. A 429 pauses the whole
limiter for its Retry-After, so every resource behind the same key backs off, not only the one that hit it.
Time is injected (`clock`, `sleep`) so tests run without real waiting.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

Clock = Callable[[], float]
Sleep = Callable[[float], Awaitable[None]]


@dataclass
class SlidingWindowLimiter:
    max_requests: int
    window_s: float
    clock: Clock = time.monotonic
    sleep: Sleep = asyncio.sleep
    _sent: deque[float] = field(default_factory=deque, init=False, repr=False)
    _paused_until: float = field(default=0.0, init=False)
    _lock: asyncio.Lock = field(default_factory=asyncio.Lock, init=False, repr=False)

    def __post_init__(self) -> None:
        if self.max_requests < 1 or self.window_s <= 0:
            raise ValueError("a limiter needs max_requests >= 1 and window_s > 0")

    def _delay(self, now: float) -> float:
        while self._sent and self._sent[0] <= now - self.window_s:
            self._sent.popleft()
        if self._paused_until > now:
            return self._paused_until - now
        if len(self._sent) < self.max_requests:
            return 0.0
        return self._sent[0] + self.window_s - now

    async def acquire(self) -> float:
        """Waits for a slot and takes it; returns how long it waited."""
        start = self.clock()
        async with self._lock:  # FIFO: asyncio.Lock wakes waiters in order
            while True:
                now = self.clock()
                delay = self._delay(now)
                if delay <= 0:
                    self._sent.append(now)
                    return now - start
                await self.sleep(delay)

    def pause(self, seconds: float) -> None:
        """No request leaves before `seconds` from now (a 429's Retry-After); never shortens a pause."""
        self._paused_until = max(self._paused_until, self.clock() + max(seconds, 0.0))

    @property
    def paused_for(self) -> float:
        return max(0.0, self._paused_until - self.clock())

    def in_window(self) -> int:
        now = self.clock()
        return sum(1 for t in self._sent if t > now - self.window_s)
