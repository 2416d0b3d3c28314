"""VoiceEndpoint served by the runtime (runtime/handlers.py): its CRD (spec.py), its pure plan (logic.py)
and its steps in the custom voice API (steps.py). The lines about VoiceEndpoints are logged under this
module's name."""

from __future__ import annotations

from azure_speech_operator.azure.client import AzureClient
from azure_speech_operator.azure.types import VoiceEndpoints
from azure_speech_operator.runtime.handlers import register
from azure_speech_operator.runtime.kind import Kind, kind_of
from azure_speech_operator.voiceendpoint import logic, spec, steps
from azure_speech_operator.voiceendpoint.logic import Observed, Resource, Step

VOICE: Kind[Resource, Observed, Step, VoiceEndpoints] = kind_of(
    spec, logic, steps, AzureClient.voice, __name__
)

register(VOICE)
