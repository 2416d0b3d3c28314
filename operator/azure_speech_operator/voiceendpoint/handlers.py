"""VoiceEndpoint served by the runtime (runtime/handlers.py): its CRD, how a stored object is read, its pure
plan (logic.py) and its steps in the custom voice API (steps.py). The lines about VoiceEndpoints are logged
under this module's name."""

from __future__ import annotations

from azure_speech_operator.azure.client import AzureClient
from azure_speech_operator.azure.types import Credential, VoiceEndpoints
from azure_speech_operator.runtime.handlers import register
from azure_speech_operator.runtime.kind import Kind
from azure_speech_operator.voiceendpoint import logic, steps
from azure_speech_operator.voiceendpoint.logic import Observed, Resource, Step
from azure_speech_operator.voiceendpoint.spec import GROUP, KIND, PLURAL, VERSION


def connect(azure: AzureClient, resource: Resource, credential: Credential) -> VoiceEndpoints:
    # the spec, or on deletion what of an invalid one deletion needs
    assert resource.deletion_spec is not None
    return azure.voice(resource.deletion_spec.azure.target(), credential)


VOICE: Kind[Resource, Observed, Step, VoiceEndpoints] = Kind(
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

register(VOICE)
