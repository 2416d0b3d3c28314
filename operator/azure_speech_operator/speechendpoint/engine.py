"""Runs one reconcile pass: asks `logic.plan` for the next step, performs it, folds the result in, repeats.

Everything with side effects comes in through small interfaces (Azure endpoints, the resource's own direct
patches, the export), so the same loop runs against the real clients in the handlers and against in-memory
fakes in the unit tests. Credentials are read lazily, only when a step needs Azure.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import replace
from typing import Protocol

from azure_speech_operator import reconcile
from azure_speech_operator.azure.types import ErrorClass, OperatorError, SpeechEndpoints
from azure_speech_operator.reconcile import Outcome, Pass
from azure_speech_operator.speechendpoint import logic
from azure_speech_operator.speechendpoint.logic import Observed, Resource, Step

# A pass takes at most: lookup, mark, create, record, get model, update, export, plus slack.
MAX_STEPS = 16


class ResourceWriter(Protocol):
    """Direct, immediate writes to the SpeechEndpoint itself (not kopf's deferred patch)."""

    async def mark_create_pending(self, *, forget_endpoint_id: bool) -> None: ...

    async def clear_create_pending(self) -> None: ...

    async def record_endpoint_id(self, endpoint_id: str) -> None: ...

    async def export(self, config_map_name: str, data: Mapping[str, str]) -> None: ...

    async def unexport(self, config_map_name: str) -> None: ...


Connect = Callable[[], Awaitable[SpeechEndpoints]]


class CredentialsUnavailable(Exception):
    """Raised by `connect` when the credentials cannot be resolved; wraps the OperatorError to show."""

    def __init__(self, error: OperatorError) -> None:
        super().__init__(str(error))
        self.error = error


async def run_pass(
    resource: Resource,
    pass_: Pass,
    *,
    connect: Connect,
    writer: ResourceWriter,
    on_step: Callable[[Step], None] | None = None,
) -> tuple[Outcome, Observed]:
    """One pass: the outcome (status, events, come-back, release) and everything observed on the way."""
    observed = Observed()
    client: SpeechEndpoints | None = None
    for _ in range(MAX_STEPS):
        step = logic.plan(resource, observed, pass_)
        if isinstance(step, Outcome):
            return step, observed
        # The mark precedes a create: connect first, so missing credentials never leave a stray mark
        # (which would cost a lookup of every endpoint on the next pass).
        needs_azure = not isinstance(
            step,
            reconcile.ClearCreatePending | reconcile.RecordEndpointId | reconcile.Export | reconcile.Unexport,
        )
        if isinstance(step, reconcile.MarkCreatePending) and client is not None:
            needs_azure = False
        if needs_azure and client is None:
            try:
                client = await connect()
            except CredentialsUnavailable as exc:
                observed = replace(observed, credentials_error=exc.error)
                continue
            except OperatorError as exc:
                observed = replace(observed, error=exc, failed_step=type(step).__name__)
                continue
        # Told only now, when the step is really taken (a log line must not claim a write never sent).
        if on_step is not None:
            on_step(step)
        if not needs_azure or isinstance(step, reconcile.MarkCreatePending):
            observed = await _resource_step(step, observed, writer)
            continue
        assert client is not None
        observed = await _azure_step(step, observed, client)
    raise RuntimeError(f"reconcile pass of {resource.namespace}/{resource.name} did not settle")


async def _resource_step(step: Step, observed: Observed, writer: ResourceWriter) -> Observed:
    try:
        if isinstance(step, reconcile.MarkCreatePending):
            await writer.mark_create_pending(forget_endpoint_id=step.forget_endpoint_id)
            return replace(observed, marked=True, forgot_id=observed.forgot_id or step.forget_endpoint_id)
        if isinstance(step, reconcile.ClearCreatePending):
            await writer.clear_create_pending()
            return replace(observed, unmarked=True)
        if isinstance(step, reconcile.RecordEndpointId):
            await writer.record_endpoint_id(step.endpoint_id)
            return replace(observed, recorded_id=step.endpoint_id.lower())
        if isinstance(step, reconcile.Unexport):
            await writer.unexport(step.config_map_name)
            return replace(observed, unexported=True)
        assert isinstance(step, reconcile.Export)
        await writer.export(step.config_map_name, step.data)
        return replace(observed, exported=True)
    except OperatorError as exc:
        return replace(observed, error=exc, failed_step=type(step).__name__)


def _not_found(exc: OperatorError) -> bool:
    return exc.error_class is ErrorClass.NOT_FOUND


async def _azure_step(step: Step, observed: Observed, client: SpeechEndpoints) -> Observed:
    name = type(step).__name__
    try:
        if isinstance(step, logic.GetEndpoint):
            try:
                endpoint = await client.get(step.endpoint_id)
            except OperatorError as exc:
                if _not_found(exc):
                    return replace(observed, endpoint=None, endpoint_known=True)
                raise
            serving = endpoint.model if endpoint.status == logic.SUCCEEDED else None
            return replace(observed, endpoint=endpoint, endpoint_known=True, serving_before=serving)
        if isinstance(step, logic.FindByMarker):
            found = await client.find_by_marker(step.key, step.value, locale=step.locale)
            return replace(observed, looked_up=True, endpoint=found, endpoint_known=found is not None)
        if isinstance(step, logic.GetModel):
            try:
                model = await client.get_model(step.ref)
            except OperatorError as exc:
                # Expiry warnings are best effort: a failed model read never blocks the endpoint.
                return replace(observed, model_error=exc)
            return replace(observed, model=model, model_known=True)
        if isinstance(step, logic.CreateEndpoint):
            created = await client.create(step.body)
            return replace(observed, endpoint=created, endpoint_known=True, created=True)
        if isinstance(step, logic.UpdateEndpoint):
            try:
                updated = await client.update(step.endpoint_id, step.changes)
            except OperatorError as exc:
                if _not_found(exc):
                    return replace(observed, endpoint=None, endpoint_known=True)
                raise
            return replace(observed, endpoint=updated, endpoint_known=True, updated_fields=step.fields)
        if isinstance(step, logic.DeleteEndpoint):
            existed = await client.delete(step.endpoint_id)  # False (404) counts as deleted too
            return replace(observed, deleted=True, already_gone=not existed)
    except OperatorError as exc:
        return replace(observed, error=exc, failed_step=name)
    raise TypeError(f"unknown step {step!r}")
