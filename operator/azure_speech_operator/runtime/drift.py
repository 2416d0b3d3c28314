"""One task that runs every object's drift checks and come-backs when they are due.

Each object served is a `Target` whose `look` runs a pass if one is due and answers when to look next (None:
no more, the object is being deleted). The scheduler keeps those due times in one heap and sleeps until the
earliest, so a thousand objects cost a thousand small entries, not a thousand tasks: a kopf daemon per
object cost about 30 KB each (its task, stopper, logger and invocation state) and kopf's work to spawn it.
Looks of different objects run concurrently (the Azure client bounds what they send); one object is never
looked at twice at once, and a time brought forward while its look runs is read by that look's answer.
"""

from __future__ import annotations

import asyncio
import contextlib
import heapq
import itertools
import logging
from collections.abc import Callable, Hashable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Protocol

logger = logging.getLogger(__name__)

TICK = 10.0  # longest sleep between looks at the heap's head (a clock that jumps is seen this late at most)
STOP_TIMEOUT = 20.0  # at the operator's stop, a pass under way gets this long to end, then is cancelled


class Target(Protocol):
    async def look(self) -> datetime | None:
        """Run a pass if one is due; when to look again, or None to stop."""
        ...


@dataclass(eq=False)
class _Entry:
    key: Hashable
    target: Target
    due: datetime | None = None  # the one heap item that counts; older items for this entry are skipped
    looking: bool = False
    gone: bool = False


@dataclass
class DriftScheduler:
    now: Callable[[], datetime]
    tick: float = TICK
    stop_timeout: float = STOP_TIMEOUT
    _entries: dict[Hashable, _Entry] = field(default_factory=dict)
    _heap: list[tuple[datetime, int, _Entry]] = field(default_factory=list)
    _order: itertools.count[int] = field(default_factory=itertools.count)
    _wake: asyncio.Event = field(default_factory=asyncio.Event)
    _task: asyncio.Task[None] | None = None
    _closed: bool = False
    _looks: set[asyncio.Task[None]] = field(default_factory=set)

    def __len__(self) -> int:
        return len(self._entries)

    def __contains__(self, key: Hashable) -> bool:
        return key in self._entries

    def track(self, key: Hashable, target: Target) -> None:
        """Serve `key` with `target` (a new object is looked at at once: its look sets its first due time),
        or give a served one its newer target."""
        entry = self._entries.get(key)
        if entry is not None:
            entry.target = target
            return
        if self._closed:
            return  # the operator is stopping
        entry = self._entries[key] = _Entry(key, target)
        self._push(entry, self.now())
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._run(), name="drift scheduler")

    def update(self, key: Hashable, target: Target) -> None:
        """Give `key` its newer target if it is served; never starts serving it."""
        entry = self._entries.get(key)
        if entry is not None:
            entry.target = target

    def forget(self, key: Hashable) -> None:
        entry = self._entries.pop(key, None)
        if entry is not None:
            entry.gone = True  # its heap items are skipped as they come up

    def bring_forward(self, key: Hashable, when: datetime) -> None:
        """Look at `key` at `when` if that is earlier than planned. Ignored while it is being looked at: the
        look's answer reads the same state."""
        entry = self._entries.get(key)
        if entry is None or entry.looking or (entry.due is not None and entry.due <= when):
            return
        self._push(entry, when)

    def _push(self, entry: _Entry, when: datetime) -> None:
        entry.due = when
        heapq.heappush(self._heap, (when, next(self._order), entry))
        if self._heap[0][2] is entry:
            self._wake.set()

    async def _run(self) -> None:
        while True:
            self._wake.clear()
            try:
                delay = self._start_due_looks()
            except Exception:
                # A bug here must not end every object's drift checks: log it, and go on after a tick.
                logger.exception("drift scheduler: a round failed")
                delay = self.tick
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(max(delay, 0.0)):
                    await self._wake.wait()

    def _start_due_looks(self) -> float:
        """Starts the look of every object due by now; the seconds until the next one (at most a tick)."""
        now = self.now()
        while self._heap and self._heap[0][0] <= now:
            when, _, entry = heapq.heappop(self._heap)
            if entry.gone or entry.looking or entry.due != when:
                continue  # an older plan for it, or it is no longer served
            entry.looking, entry.due = True, None
            task = asyncio.create_task(self._look(entry))
            self._looks.add(task)
            task.add_done_callback(self._looks.discard)
        return self.tick if not self._heap else min((self._heap[0][0] - now).total_seconds(), self.tick)

    async def _look(self, entry: _Entry) -> None:
        try:
            due = await entry.target.look()
        except Exception:
            # A target handles its own failures; one that still raises is looked at again after a tick.
            logger.exception("drift scheduler: a look failed")
            due = self.now() + timedelta(seconds=self.tick)
        finally:
            entry.looking = False
        if entry.gone:
            return
        if due is None:
            self.forget(entry.key)
            return
        self._push(entry, due)

    async def aclose(self) -> None:
        """Stops looking; looks under way get `stop_timeout` seconds to end, then are cancelled (a pass cut
        short is safe: see reconcile.py)."""
        self._closed = True
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        looks = list(self._looks)
        if looks:
            _, pending = await asyncio.wait(looks, timeout=self.stop_timeout)
            for task in pending:
                task.cancel()
            await asyncio.gather(*pending, return_exceptions=True)
