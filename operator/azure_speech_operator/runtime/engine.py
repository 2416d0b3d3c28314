"""Runs one reconcile pass of any kind: asks the kind's `plan` for the next step, performs it, folds the
result in, repeats until the plan answers with the pass's Outcome.

Everything with side effects comes in through small interfaces (the kind's Azure API behind `connect`, the
resource's own direct patches and export behind `ResourceWriter`), so the same loop runs against the real
clients in the kopf handlers and against in-memory fakes in the unit tests. Credentials are read lazily,
only when a step needs Azure.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import replace
from typing import Protocol

from azure_speech_operator.azure.types import OperatorError
from azure_speech_operator.reconcile import (
    RESOURCE_STEPS,
    ClearCreatePending,
    Export,
    MarkCreatePending,
    Note,
    Outcome,
    Pass,
    RecordEndpointId,
    ResourceStep,
)
from azure_speech_operator.runtime.kind import ClientT, Kind, ObservedT, ResourceT, StepT

# A pass takes at most: lookup, mark, create, record, get model, update, export, plus slack.
MAX_STEPS = 16


class ResourceWriter(Protocol):
    """Direct, immediate writes to the resource itself (not kopf's deferred patch)."""

    async def mark_create_pending(self, *, forget_endpoint_id: bool) -> None: ...

    async def clear_create_pending(self) -> None: ...

    async def record_endpoint_id(self, endpoint_id: str) -> None: ...

    async def export(self, config_map_name: str, data: Mapping[str, str]) -> None: ...

    async def unexport(self, config_map_name: str) -> None: ...

    async def note(self, changes: Mapping[str, str | None], why: str) -> None: ...


class CredentialsUnavailable(Exception):
    """Raised by `connect` when the credentials cannot be resolved; wraps the OperatorError to show.
    `final`: they cannot come back (the Secret is gone and its namespace is being deleted)."""

    def __init__(self, error: OperatorError, *, final: bool = False) -> None:
        super().__init__(str(error))
        self.error = error
        self.final = final


async def run_pass(
    kind: Kind[ResourceT, ObservedT, StepT, ClientT],
    resource: ResourceT,
    pass_: Pass,
    *,
    connect: Callable[[], Awaitable[ClientT]],
    writer: ResourceWriter,
    on_step: Callable[[StepT], None] | None = None,
) -> tuple[Outcome, ObservedT]:
    """One pass: the outcome (status, events, come-back, release) and everything observed on the way."""
    observed = kind.observed()
    client: ClientT | None = None
    for _ in range(MAX_STEPS):
        step = kind.plan(resource, observed, pass_)
        if isinstance(step, Outcome):
            return step, observed
        on_resource = isinstance(step, RESOURCE_STEPS)
        # The mark and a note of the endpoint to create precede a create: connect first, so missing
        # credentials never leave a stray mark (a lookup of every endpoint on the next pass) or a noted id
        # (an endpoint a deletion would wait for).
        before_create = isinstance(step, MarkCreatePending) or (isinstance(step, Note) and step.before_create)
        if (not on_resource or before_create) and client is None:
            try:
                client = await connect()
            except CredentialsUnavailable as exc:
                observed = replace(observed, credentials_error=exc.error, credentials_final=exc.final)
                continue
            except OperatorError as exc:
                observed = replace(observed, error=exc, failed_step=type(step).__name__)
                continue
        # Told only now, when the step is really taken (a log line must not claim a write never sent).
        if on_step is not None:
            on_step(step)
        try:
            if isinstance(step, RESOURCE_STEPS):
                observed = await _resource_step(step, observed, writer)
            else:
                assert client is not None
                observed = await kind.run_step(step, observed, client)
        except OperatorError as exc:
            observed = replace(observed, error=exc, failed_step=type(step).__name__)
    raise RuntimeError(f"reconcile pass of {resource.namespace}/{resource.name} did not settle")


async def _resource_step(step: ResourceStep, observed: ObservedT, writer: ResourceWriter) -> ObservedT:
    if isinstance(step, MarkCreatePending):
        await writer.mark_create_pending(forget_endpoint_id=step.forget_endpoint_id)
        return replace(observed, marked=True, forgot_id=observed.forgot_id or step.forget_endpoint_id)
    if isinstance(step, ClearCreatePending):
        await writer.clear_create_pending()
        return replace(observed, unmarked=True)
    if isinstance(step, RecordEndpointId):
        await writer.record_endpoint_id(step.endpoint_id)
        return replace(observed, recorded_id=step.endpoint_id.lower())
    if isinstance(step, Export):
        await writer.export(step.config_map_name, step.data)
        return replace(observed, exported=True)
    if isinstance(step, Note):
        await writer.note(dict(step.changes), step.why)
        return replace(observed, notes=observed.notes + step.changes)
    await writer.unexport(step.config_map_name)
    return replace(observed, unexported=True)
