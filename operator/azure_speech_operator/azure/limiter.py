"""A sliding-window request budget per (host, credential), shared by every resource using that pair.

A sliding window (rather than a token bucket) matches how Azure counts: "100 requests per 10 s". A request
occupies the window from the moment it is sent until one window length after its answer arrived: Azure
counts it at some unknown instant in between, so counting from the send alone lets network and event-loop
delays bunch requests up on Azure's side. With this rule no window of Azure's can ever see more than the
budget, whatever the latency (a request is counted against every window it could have landed in).

Waiters are served in arrival order, so one resource with many calls cannot starve the others; but a request
that changes something (`first`: a create, an update, a delete) goes before the reads waiting with it. With
50 endpoints created at once on one Speech resource, the first polls of the early ones would otherwise take
the window's places from the creates of the later ones, which then start a whole window late, whereas a poll
that waits a little costs only a little lag. A 429 pauses
the whole limiter for its Retry-After, so every resource behind the same key backs off, not only the one
that hit it. Time is injected (`clock`, `sleep`) so tests run without real waiting.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

Clock = Callable[[], float]
Sleep = Callable[[float], Awaitable[None]]


class PausedTooLong(Exception):
    """A waiter gave up: the limiter is paused (a 429's Retry-After) for longer than it would wait."""

    def __init__(self, seconds: float) -> None:
        super().__init__(f"paused for {seconds:.0f} s")
        self.seconds = seconds


@dataclass(eq=False)
class Slot:
    sent: float
    done: float | None = None  # None while the request is in flight
    # Seconds the request was held back for the budget (a full window, a pause, waiters ahead of it);
    # None when it left at once.
    waited: float | None = None


@dataclass
class SlidingWindowLimiter:
    max_requests: int
    window_s: float
    clock: Clock = time.monotonic
    sleep: Sleep = asyncio.sleep
    # Answer times, oldest first: releases happen in clock order, so appending keeps the deque sorted.
    _done: deque[float] = field(default_factory=deque, init=False, repr=False)
    _in_flight: int = field(default=0, init=False)
    _paused_until: float = field(default=0.0, init=False)
    _lock: asyncio.Lock = field(default_factory=asyncio.Lock, init=False, repr=False)
    _first_lock: asyncio.Lock = field(default_factory=asyncio.Lock, init=False, repr=False)
    _first_waiting: int = field(default=0, init=False)  # `first` requests not yet sent
    _first_moved: asyncio.Event = field(default_factory=asyncio.Event, init=False, repr=False)
    _released: asyncio.Event = field(default_factory=asyncio.Event, init=False, repr=False)

    def __post_init__(self) -> None:
        if self.max_requests < 1 or self.window_s <= 0:
            raise ValueError("a limiter needs max_requests >= 1 and window_s > 0")

    def _expire(self, now: float) -> None:
        # The same expression as the wake-up time in `acquire`, so a waiter woken at exactly that time
        # always finds its slot expired (float rounding must not leave it sleeping for 0 s forever).
        while self._done and self._done[0] + self.window_s <= now:
            self._done.popleft()

    def has_room(self, *, first: bool = False) -> bool:
        """Whether a request asking now would leave at once (no pause, nobody ahead of it, room in the
        window)."""
        now = self.clock()
        self._expire(now)
        return (
            not (self._first_lock if first else self._lock).locked()
            and self._paused_until <= now
            and (first or not self._first_waiting)
            and self._in_flight + len(self._done) < self.max_requests
        )

    async def acquire(self, *, first: bool = False, max_pause: float | None = None) -> Slot:
        """Waits for room in the window and takes a slot; `release` it when the answer has arrived. `first`:
        served before the waiters without it (in arrival order among themselves). `max_pause`: raise
        PausedTooLong rather than wait out a pause longer than that, whenever the waiter meets it (a 429
        answered while it waited may set one)."""
        asked = self.clock()
        lock = self._first_lock if first else self._lock
        held = lock.locked()  # a waiter ahead of us is sleeping inside: we wait behind it
        if first:
            self._first_waiting += 1
        try:
            async with lock:  # FIFO: asyncio.Lock wakes waiters in order
                return await self._take(asked, held, first, max_pause)
        finally:
            if first:
                self._first_waiting -= 1
                self._first_moved.set()

    async def _take(self, asked: float, held: bool, first: bool, max_pause: float | None) -> Slot:
        wake_at = float("-inf")
        while True:
            # A clock read after sleeping until `wake_at` may round to just before it.
            now = max(self.clock(), wake_at)
            self._expire(now)
            if self._paused_until > now:
                if max_pause is not None and self._paused_until - now > max_pause:
                    raise PausedTooLong(self._paused_until - now)
                held = True
                wake_at = self._paused_until
                await self.sleep(wake_at - now)
                continue
            if not first and self._first_waiting:
                held = True
                self._first_moved.clear()
                await self._first_moved.wait()
                continue
            if self._in_flight + len(self._done) < self.max_requests:
                self._in_flight += 1
                return Slot(sent=now, waited=max(now - asked, 0.0) if held else None)
            held = True
            if self._done:
                # An in-flight request answering now would free its slot later than the oldest one.
                wake_at = self._done[0] + self.window_s
                await self.sleep(wake_at - now)
            else:
                self._released.clear()
                await self._released.wait()

    def release(self, slot: Slot) -> None:
        if slot.done is not None:
            return
        slot.done = max(self.clock(), self._done[-1] if self._done else float("-inf"))
        self._in_flight -= 1
        self._done.append(slot.done)
        self._released.set()

    @asynccontextmanager
    async def hold(self, *, first: bool = False, max_pause: float | None = None) -> AsyncIterator[Slot]:
        slot = await self.acquire(first=first, max_pause=max_pause)
        try:
            yield slot
        finally:
            self.release(slot)

    def pause(self, seconds: float) -> None:
        """No request leaves before `seconds` from now (a 429's Retry-After); never shortens a pause."""
        self._paused_until = max(self._paused_until, self.clock() + max(seconds, 0.0))

    @property
    def paused_for(self) -> float:
        return max(0.0, self._paused_until - self.clock())
