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

import time
from collections.abc import Callable
from typing import Protocol

from azure_speech_operator.kube import SecretData
from azure_speech_operator.shared_reads import SharedReads

SECRET_FRESHNESS = 2.0  # seconds a Secret read is shared for


class SecretReader(Protocol):
    async def read_secret(self, namespace: str, name: str) -> SecretData | None: ...


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
        self._reads: SharedReads[tuple[str, str], SecretData | None] = SharedReads(
            freshness, keep=lambda data: data is not None, clock=clock
        )

    async def read_secret(self, namespace: str, name: str) -> SecretData | None:
        return await self._reads.read((namespace, name), lambda: self._reader.read_secret(namespace, name))

    def forget(self, namespace: str, name: str) -> None:
        """The Secret changed: the next pass reads it anew."""
        self._reads.forget((namespace, name))
