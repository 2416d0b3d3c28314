"""Reads of credentials Secrets shared by the passes that need the same Secret at about the same time.

Every pass reads its credentials Secret, so that a rotated key takes effect without a restart. A fleet shares
few Secrets (the bench: 50 resources per Secret), and a burst of passes (an apply of hundreds of resources,
a restart) would read the same Secret hundreds of times within a second, each read a request the API server
serves while the user's own apply waits. Here a read still in flight, or answered less than `freshness`
seconds ago, is shared: a rotated key is used within that time. A missing Secret and a failed read are never
kept (a Secret created to unblock a resource is seen at once, a failure is retried by the next pass), and the
labelled-Secret watch forgets a Secret as soon as it changes.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from azure_speech_operator.kube import SecretData

SECRET_FRESHNESS = 2.0  # seconds a Secret read is shared for


class SecretReader(Protocol):
    async def read_secret(self, namespace: str, name: str) -> SecretData | None: ...


@dataclass
class _Read:
    started: float
    task: asyncio.Task[SecretData | None]


class SharedSecretReads:
    """A SecretReader over another one that shares in-flight and fresh answers (see the module doc)."""

    def __init__(
        self,
        reader: SecretReader,
        *,
        freshness: float = SECRET_FRESHNESS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._reader = reader
        self._freshness = freshness
        self._clock = clock
        self._reads: dict[tuple[str, str], _Read] = {}
        self._pruned = clock()

    def _shareable(self, read: _Read) -> bool:
        if not read.task.done():
            return True
        if read.task.cancelled() or read.task.exception() is not None or read.task.result() is None:
            return False
        return self._clock() - read.started < self._freshness

    async def read_secret(self, namespace: str, name: str) -> SecretData | None:
        self._prune()
        key = (namespace, name)
        read = self._reads.get(key)
        if read is None or not self._shareable(read):
            read = _Read(self._clock(), asyncio.ensure_future(self._reader.read_secret(namespace, name)))
            self._reads[key] = read
            read.task.add_done_callback(lambda _: self._drop_if_useless(key, read))
        # shielded: one pass cancelled while waiting must not cancel the read the others wait for
        return await asyncio.shield(read.task)

    def _drop_if_useless(self, key: tuple[str, str], read: _Read) -> None:
        if self._reads.get(key) is read and not self._shareable(read):
            del self._reads[key]

    def forget(self, namespace: str, name: str) -> None:
        """The Secret changed: the next pass reads it anew."""
        self._reads.pop((namespace, name), None)

    def _prune(self) -> None:
        # Answers past their freshness are dropped now and then, so key values stay in memory only briefly.
        now = self._clock()
        if now - self._pruned < self._freshness:
            return
        self._pruned = now
        for key, read in list(self._reads.items()):
            if not self._shareable(read):
                del self._reads[key]
