"""VoiceEndpoint's steps in Azure: each one call of the custom voice client, its answer folded into
`Observed`. The runtime runs them in the order `logic.plan` asks; an error a step raises ends the pass."""

from __future__ import annotations

from dataclasses import replace

from azure_speech_operator.azure.types import ErrorClass, OperatorError, VoiceEndpoints
from azure_speech_operator.voiceendpoint import logic
from azure_speech_operator.voiceendpoint.logic import Observed, Step


async def run_step(step: Step, observed: Observed, client: VoiceEndpoints) -> Observed:
    if isinstance(step, logic.GetEndpoint):
        try:
            endpoint = await client.get(step.endpoint_id)
        except OperatorError as exc:
            if exc.error_class is ErrorClass.NOT_FOUND:
                return replace(observed, endpoints=(*observed.endpoints, (step.endpoint_id, None)))
            raise
        return replace(observed, endpoints=(*observed.endpoints, (step.endpoint_id, endpoint)))
    if isinstance(step, logic.GetOperation):
        try:
            operation = await client.get_operation(step.operation_id)
        except OperatorError as exc:
            if exc.error_class is ErrorClass.NOT_FOUND:
                return replace(observed, operation=(step.operation_id, None))
            raise
        return replace(observed, operation=(step.operation_id, operation))
    if isinstance(step, logic.CreateEndpoint):
        created, operation = await client.create(step.endpoint_id, step.body, step.operation_id)
        return replace(
            observed,
            endpoints=(*observed.endpoints, (step.endpoint_id, created)),
            created=step.endpoint_id,
            started=(step.endpoint_id, operation.id),
        )
    if isinstance(step, logic.SuspendEndpoint | logic.ResumeEndpoint):
        act = client.suspend if isinstance(step, logic.SuspendEndpoint) else client.resume
        endpoint, started = await act(step.endpoint_id, step.operation_id)
        return replace(
            observed,
            endpoints=(*observed.endpoints, (step.endpoint_id, endpoint)),
            acted="suspend" if isinstance(step, logic.SuspendEndpoint) else "resume",
            started=(step.endpoint_id, started.id) if started else None,
        )
    if isinstance(step, logic.DeleteEndpoint):
        existed = await client.delete(step.endpoint_id)  # False (404) counts as deleted too
        return replace(observed, deleted=(*observed.deleted, (step.endpoint_id, existed)))
    raise TypeError(f"not an Azure step of VoiceEndpoint: {step!r}")


def describe_write(step: Step) -> str | None:
    """The DEBUG line logged as an Azure write is sent (the event it leads to is the INFO line)."""
    match step:
        case logic.CreateEndpoint(endpoint_id=endpoint_id, body=body):
            return f"creating endpoint {endpoint_id} with model {body.model_id}"
        case logic.SuspendEndpoint(endpoint_id=endpoint_id) | logic.ResumeEndpoint(endpoint_id=endpoint_id):
            verb = "suspending" if isinstance(step, logic.SuspendEndpoint) else "resuming"
            return f"{verb} endpoint {endpoint_id}"
        case logic.DeleteEndpoint(endpoint_id=endpoint_id):
            return f"deleting endpoint {endpoint_id}"
    return None
