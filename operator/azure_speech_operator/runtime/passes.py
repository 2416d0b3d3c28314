"""A bound on the reconcile passes in flight at once, fair to every Speech resource.

Why: at a start with thousands of objects not yet converged (the operator installed after its resources,
or restarted in the middle of a large apply), kopf's first listing hands every object to a pass at once.
The API server sets the pace, so all but a few of those passes only wait (for a Kubernetes client thread,
for a credentials read), each holding its copy of the object, its state, and the watch events its writes
caused: 5,000 unconverged SpeechEndpoints once took the operator to 726 MB. Passes past the bound wait
before they copy anything.

Fair: a pass whose Azure request waits for its Speech resource's request budget or connections lends its
place to the passes behind it for the wait (`azure.lending`), so one throttled Speech resource never holds
back the others; a pass coming back from such a wait goes before the passes not yet started.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import deque
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from functools import partial

from azure_speech_operator.azure.lending import while_waiting


class PassSlots:
    """At most `limit` passes hold a slot at once; `None`: no bound. Waiters are served in arrival order,
    those returning from a lent wait first."""

    def __init__(self, limit: int | None) -> None:
        self.limit = limit
        self.held_now = 0
        self._returning: deque[asyncio.Future[None]] = deque()
        self._new: deque[asyncio.Future[None]] = deque()

    def has_room(self) -> bool:
        """Whether a pass asking now would start at once."""
        return self.limit is None or (self.held_now < self.limit and not self._returning and not self._new)

    async def _acquire(self, queue: deque[asyncio.Future[None]]) -> None:
        if self.limit is None:
            return
        if self.held_now < self.limit and not self._returning and (queue is self._returning or not self._new):
            self.held_now += 1
            return
        waiter: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        queue.append(waiter)
        try:
            await waiter  # `_release` hands its slot over by resolving the future: held_now stays counted
        except asyncio.CancelledError:
            if waiter.done() and not waiter.cancelled():
                self._release()  # handed a slot just as it was cancelled: pass it on
            else:
                # a release in between may have dropped it already (it skips cancelled waiters)
                with contextlib.suppress(ValueError):
                    queue.remove(waiter)
            raise

    def _release(self) -> None:
        if self.limit is None:
            return
        for queue in (self._returning, self._new):
            while queue:
                waiter = queue.popleft()
                if not waiter.done():
                    waiter.set_result(None)
                    return
        self.held_now -= 1

    @asynccontextmanager
    async def held(self) -> AsyncIterator[None]:
        """A slot for one pass; its Azure requests lend it while they wait for their Speech resource."""
        await self._acquire(self._new)
        holding = [True]
        token = while_waiting.set(partial(self._lent, holding, asyncio.current_task()))
        try:
            yield
        finally:
            while_waiting.reset(token)
            if holding[0]:
                self._release()

    @asynccontextmanager
    async def _lent(self, holding: list[bool], owner: asyncio.Task[object] | None) -> AsyncIterator[None]:
        """The pass's slot, given to the passes behind it for the time of the block. A pass cancelled while
        it waits to take it back holds none (`held` then releases nothing). Only the pass's own task lends
        it: a task the pass started (a shared read's) inherits its context, not its slot."""
        if asyncio.current_task() is not owner:
            yield
            return
        self._release()
        holding[0] = False
        try:
            yield
        finally:
            await self._acquire(self._returning)
            holding[0] = True
