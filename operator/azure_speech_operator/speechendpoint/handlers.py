"""SpeechEndpoint served by the runtime (runtime/handlers.py: create, update, resume, the drift check,
delete): its CRD (spec.py), its pure plan (logic.py) and its steps in the speech-to-text API (steps.py).
The lines about SpeechEndpoints are logged under this module's name."""

from __future__ import annotations

from azure_speech_operator.azure.client import AzureClient
from azure_speech_operator.azure.types import SpeechEndpoints
from azure_speech_operator.runtime.handlers import register
from azure_speech_operator.runtime.kind import Kind, kind_of
from azure_speech_operator.speechendpoint import logic, spec, steps
from azure_speech_operator.speechendpoint.logic import Observed, Resource, Step

SPEECH: Kind[Resource, Observed, Step, SpeechEndpoints] = kind_of(
    spec, logic, steps, AzureClient.speech, __name__
)

register(SPEECH)
