"""Reads shared by the callers that want the same thing at about the same time.

A fleet asks the same questions many times within moments: hundreds of passes read the one credentials
Secret of their namespace, or the one base model their endpoints deploy. Here a read still in flight, or
answered less than `freshness` seconds ago, is shared; an answer `keep` refuses (a missing Secret) and a
failure are never kept, so the next caller asks again. Used by the runtime (Secrets) and the Azure client
(base models); depends on nothing else of the operator.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Hashable
from dataclasses import dataclass
from typing import Generic, TypeVar

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


@dataclass
class _Read(Generic[V]):
    started: float
    task: asyncio.Future[V]


class SharedReads(Generic[K, V]):
    def __init__(
        self,
        freshness: float,
        *,
        keep: Callable[[V], bool] = lambda _: True,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._freshness = freshness
        self._keep = keep
        self._clock = clock
        self._reads: dict[K, _Read[V]] = {}
        self._pruned = clock()

    def _shareable(self, read: _Read[V]) -> bool:
        task = read.task
        if not task.done():
            return True
        if task.cancelled() or task.exception() is not None or not self._keep(task.result()):
            return False
        return self._clock() - read.started < self._freshness

    async def read(self, key: K, fetch: Callable[[], Awaitable[V]]) -> V:
        """`fetch()`'s answer, or the one a read of `key` in flight or fresh gives."""
        self._prune()
        read = self._reads.get(key)
        if read is None or not self._shareable(read):
            read = _Read(self._clock(), asyncio.ensure_future(fetch()))
            self._reads[key] = read
            read.task.add_done_callback(lambda _: self._drop_if_useless(key, read))
        # shielded: one caller cancelled while waiting must not cancel the read the others wait for
        return await asyncio.shield(read.task)

    def forget(self, key: K) -> None:
        """The thing changed: the next caller reads it anew."""
        self._reads.pop(key, None)

    def _drop_if_useless(self, key: K, read: _Read[V]) -> None:
        if self._reads.get(key) is read and not self._shareable(read):
            del self._reads[key]

    def _prune(self) -> None:
        # Answers past their freshness are dropped now and then, so they stay in memory only briefly.
        now = self._clock()
        if now - self._pruned < self._freshness:
            return
        self._pruned = now
        for key, read in list(self._reads.items()):
            if not self._shareable(read):
                del self._reads[key]
