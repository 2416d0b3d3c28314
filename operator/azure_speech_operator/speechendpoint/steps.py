"""SpeechEndpoint's steps in Azure: each one call of the speech-to-text client, its answer folded into
`Observed`. The runtime runs them (and the steps on the resource itself) in the order `logic.plan` asks;
an error a step raises ends the pass there (the runtime records it in `Observed.error`)."""

from __future__ import annotations

from dataclasses import replace

from azure_speech_operator.azure.types import SUCCEEDED, ErrorClass, OperatorError, SpeechEndpoints
from azure_speech_operator.speechendpoint import logic
from azure_speech_operator.speechendpoint.logic import Observed, Step


def _not_found(exc: OperatorError) -> bool:
    return exc.error_class is ErrorClass.NOT_FOUND


async def run_step(step: Step, observed: Observed, client: SpeechEndpoints) -> Observed:
    if isinstance(step, logic.GetEndpoint):
        try:
            endpoint = await client.get(step.endpoint_id)
        except OperatorError as exc:
            if _not_found(exc):
                return replace(observed, endpoint=None, endpoint_known=True)
            raise
        serving = endpoint.model if endpoint.status == SUCCEEDED else None
        return replace(observed, endpoint=endpoint, endpoint_known=True, serving_before=serving)
    if isinstance(step, logic.FindByMarker):
        found = await client.find_by_marker(step.key, step.value, locale=step.locale)
        # Nothing found is an answer too: no endpoint of this resource is in Azure, so none serves.
        return replace(observed, looked_up=True, endpoint=found, endpoint_known=True)
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
        deletions = (*observed.deletions, (step.endpoint_id.lower(), existed))
        return replace(observed, deleted=True, already_gone=not existed, deletions=deletions)
    raise TypeError(f"not an Azure step of SpeechEndpoint: {step!r}")


def describe_write(step: Step) -> str | None:
    """The DEBUG line logged as an Azure write is sent (the event it leads to is the INFO line)."""
    if isinstance(step, logic.CreateEndpoint):
        return f"creating an endpoint with {step.body.model.kind} model {step.body.model.id}"
    if isinstance(step, logic.UpdateEndpoint):
        return f"updating endpoint {step.endpoint_id}: {', '.join(step.fields)}"
    if isinstance(step, logic.DeleteEndpoint):
        return f"deleting endpoint {step.endpoint_id}"
    return None
