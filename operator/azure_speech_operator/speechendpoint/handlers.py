"""SpeechEndpoint served by the runtime (runtime/handlers.py: create, update, resume, the drift loop,
delete): its CRD, how a stored object is read, its pure plan (logic.py) and its steps in the speech-to-text
API (steps.py). The lines about SpeechEndpoints are logged under this module's name."""

from __future__ import annotations

from azure_speech_operator.azure.client import AzureClient
from azure_speech_operator.azure.types import Credential, SpeechEndpoints
from azure_speech_operator.runtime.handlers import register
from azure_speech_operator.runtime.kind import Kind
from azure_speech_operator.speechendpoint import logic, steps
from azure_speech_operator.speechendpoint.logic import Observed, Resource, Step
from azure_speech_operator.speechendpoint.spec import GROUP, KIND, PLURAL, VERSION


def connect(azure: AzureClient, resource: Resource, credential: Credential) -> SpeechEndpoints:
    # the spec, or on deletion what of an invalid one deletion needs (see logic._plan_deletion)
    assert resource.deletion_spec is not None
    return azure.speech(resource.deletion_spec.azure.target(), credential)


SPEECH: Kind[Resource, Observed, Step, SpeechEndpoints] = Kind(
    kind=KIND,
    group=GROUP,
    version=VERSION,
    plural=PLURAL,
    logger=__name__,
    build_resource=logic.build_resource,
    observed=Observed,
    plan=logic.plan,
    run_step=steps.run_step,
    connect=connect,
    describe_write=steps.describe_write,
)

register(SPEECH)
