"""What a VoiceEndpoint exports for applications (exportTo; docs/voiceendpoint.md, Exported ConfigMap): the
endpoint id as their `deploymentId`, the region or the custom domain's host, and the synthesis URL."""

from __future__ import annotations

from typing import Any

import pytest
from azure_speech_operator.voiceendpoint.logic import export_data
from azure_speech_operator.voiceendpoint.spec import parse_spec

from .test_voice_fakes import ADOPTED, adopted_endpoint, base_spec
from .world import T0

CREDENTIALS = {"secretRef": {"name": "speech-credentials"}}
CASES: list[Any] = [
    pytest.param(
        {"region": "eastus"},
        {
            "region": "eastus",
            "synthesisUrl": f"https://eastus.voice.speech.microsoft.com/cognitiveservices/v1?deploymentId={ADOPTED}",
        },
        id="region",
    ),
    pytest.param(
        {"endpoint": "https://my-speech.cognitiveservices.azure.com"},
        {
            "host": "https://my-speech.cognitiveservices.azure.com",
            "synthesisUrl": "https://my-speech.cognitiveservices.azure.com/tts/cognitiveservices/v1"
            f"?deploymentId={ADOPTED}",
        },
        id="custom-domain",
    ),
    pytest.param(
        {"endpoint": "http://127.0.0.1:8443"},
        {
            "host": "http://127.0.0.1:8443",
            "synthesisUrl": f"http://127.0.0.1:8443/tts/cognitiveservices/v1?deploymentId={ADOPTED}",
        },
        id="custom-domain-with-port",
    ),
]


@pytest.mark.parametrize(("where", "expected"), CASES)
@pytest.mark.parametrize("api_version", ["2026-01-01", "2024-02-01-preview"])
def test_export_data_names_the_endpoint_where_and_the_synthesis_url(
    where: dict[str, str], expected: dict[str, str], api_version: str
) -> None:
    spec = parse_spec(
        base_spec(
            azure={**where, "apiVersion": api_version, "credentials": CREDENTIALS},
            exportTo={"configMapName": "jessica-endpoint"},
        )
    )
    assert export_data(spec, adopted_endpoint(T0)) == {
        "endpointId": ADOPTED,
        "deploymentId": ADOPTED,  # what applications pass to synthesis
        "apiVersion": api_version,
        **expected,
    }


def test_export_data_of_an_adopted_v3_endpoint_is_regional() -> None:
    spec = parse_spec(
        base_spec(
            azure={"region": "westeurope", "apiVersion": "v3.0", "credentials": CREDENTIALS},
            endpointId=ADOPTED,
            deletionPolicy="Orphan",
        )
    )
    data = export_data(spec, adopted_endpoint(T0))
    assert data["region"] == "westeurope" and "host" not in data
    assert data["synthesisUrl"] == (
        f"https://westeurope.voice.speech.microsoft.com/cognitiveservices/v1?deploymentId={ADOPTED}"
    )


@pytest.mark.parametrize(
    ("region_url", "synthesis"),
    [
        ("https://{region}.api.cognitive.azure.cn", "https://westeurope.tts.speech.azure.cn"),
        ("https://{region}.api.cognitive.azure.cn:443", "https://westeurope.tts.speech.azure.cn"),
        ("https://{region}.api.cognitive.microsoft.us", "https://westeurope.tts.speech.azure.us"),
        ("http://speech-simulator.staging:8080", "http://speech-simulator.staging:8080/tts"),
    ],
)
def test_export_data_synthesizes_where_the_region_leads(region_url: str, synthesis: str) -> None:
    # --region-url: another cloud's synthesis host, or the host the operator was sent to
    spec = parse_spec(
        base_spec(azure={"region": "westeurope", "apiVersion": "2026-01-01", "credentials": CREDENTIALS})
    )
    data = export_data(spec, adopted_endpoint(T0), region_url)
    assert data["synthesisUrl"] == f"{synthesis}/cognitiveservices/v1?deploymentId={ADOPTED}"
