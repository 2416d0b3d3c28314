"""The operator-wide context every handler reads from kopf's memo: `memo.ctx`.

The runner's `@kopf.on.startup` handler builds one `OperatorContext` and stores it as `memo.ctx` in kopf's
global memo; kopf gives each object a shallow copy of that memo, so every handler sees the same context
(and may keep per-object things, such as an `asyncio.Lock`, in its own copy). The cleanup handler closes it.

Time and randomness come from here, never from `datetime.now()` or `random` directly, so tests can pin them.
"""

from __future__ import annotations

import random
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from azure_speech_operator.azure.types import ApiKey
from azure_speech_operator.kube import KubeApi
from azure_speech_operator.runtime.claims import EndpointClaims
from azure_speech_operator.runtime.drift import DriftScheduler
from azure_speech_operator.runtime.durations import Durations
from azure_speech_operator.runtime.metrics import Metrics
from azure_speech_operator.runtime.passes import PassSlots
from azure_speech_operator.runtime.refusals import Refusals
from azure_speech_operator.runtime.secrets import SharedSecretReads
from azure_speech_operator.settings import OperatorSettings

if TYPE_CHECKING:
    from azure_speech_operator.azure.client import AzureClient


def utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass
class OperatorContext:
    """Shared by all handlers: settings, the Kubernetes and Azure clients, metrics, clock and randomness."""

    settings: OperatorSettings
    kube: KubeApi
    azure: AzureClient
    metrics: Metrics = field(default_factory=Metrics)
    now: Callable[[], datetime] = utc_now
    rng: random.Random = field(default_factory=random.Random)
    # the last key read from each credentials Secret, for deletions that find it gone (see credentials.py)
    keys: dict[tuple[str, str, str], ApiKey] = field(default_factory=dict)
    # the Kubernetes API's refusals, transient for a grace (runtime/refusals.py)
    refusals: Refusals = field(default_factory=Refusals)
    # how long Azure's recent actions took, for polling (runtime/durations.py)
    durations: Durations = field(default_factory=Durations)
    # which resource records which endpoint as its own: none adopts another's (runtime/claims.py)
    claims: EndpointClaims = field(default_factory=EndpointClaims)
    # the credentials Secrets as the passes read them: one read shared by the passes of a moment
    secrets: SharedSecretReads = field(init=False)
    # every object's drift checks and come-backs (runtime/drift.py, runtime/handlers.py)
    drift: DriftScheduler = field(init=False)
    # the bound on the passes in flight at once (runtime/passes.py)
    passes: PassSlots = field(init=False)
    # this process among the operator's (a restart, another replica): written with a create-pending mark
    process: str = field(default_factory=lambda: secrets.token_hex(4))

    def __post_init__(self) -> None:
        self.secrets = SharedSecretReads(self.kube)
        self.passes = PassSlots(self.settings.max_passes_in_flight)
        self.drift = DriftScheduler(now=lambda: self.now())

    async def aclose(self) -> None:
        await self.drift.aclose()
        await self.azure.aclose()
        await self.kube.aclose()


def get_context(memo: Any) -> OperatorContext:
    """The context from a handler's `memo`, with a clear error if the startup handler has not run."""
    ctx = getattr(memo, "ctx", None)
    if not isinstance(ctx, OperatorContext):
        raise RuntimeError("memo.ctx is not set: the operator's startup handler has not run (see runner.py)")
    return ctx
