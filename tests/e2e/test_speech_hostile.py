"""SpeechEndpoint against input a hostile or careless world sends: endpoint host names httpx cannot encode,
keys that cannot be a header. Each must give the resource a clean Stalled condition (no traceback, nothing of
the key), and deletion must not hang on it."""

from __future__ import annotations

import base64
import json
from typing import Any

from azure_speech_operator.simulator.seed import BASE_EN_US_CURRENT

from .harness import Kube, Operator, Simulator

KIND = "SpeechEndpoint"
API = "speech.azure-operator.io/v1alpha1"


def manifest(name: str, endpoint: str, secret: str = "speech-credentials") -> dict[str, Any]:
    return {
        "apiVersion": API,
        "kind": KIND,
        "metadata": {"name": name},
        "spec": {
            "azure": {"endpoint": endpoint, "credentials": {"secretRef": {"name": secret}}},
            "locale": "en-US",
            "model": {"baseModelId": BASE_EN_US_CURRENT},
        },
    }


def secret(name: str, key: str) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": name},
        "type": "Opaque",
        "data": {"key": base64.b64encode(key.encode()).decode()},
    }


def assert_no_crash(kube: Kube, operator: Operator, since: int, name: str, namespace: str) -> dict[str, Any]:
    """The object carries no trace of an escaped exception (kopf writes its text into annotations), and the
    operator logged no traceback."""
    obj = kube.get(KIND, name, namespace)
    assert obj is not None
    annotations = json.dumps((obj.get("metadata") or {}).get("annotations") or {})
    for trace in ("Traceback", "Error(", "position", "codec"):
        assert trace not in annotations, annotations
    assert "Traceback" not in operator.logs(since)
    return obj


def test_an_endpoint_host_idna_refuses_is_stalled_and_deleted_at_once(
    kube: Kube, simulator: Simulator, operator: Operator, namespace: str
) -> None:
    # `xn--a` passes the CRD pattern and the default allow-list; httpx raised InvalidCodepoint building it.
    operator.restart(extra_args=["--allowed-hosts", "127.0.0.1,localhost,*.cognitiveservices.azure.com"])
    since = operator.log_size()
    kube.apply(simulator.credentials_secret(namespace), namespace)
    kube.apply(manifest("idna", "https://xn--a.cognitiveservices.azure.com"), namespace)
    obj = kube.wait_condition(KIND, "idna", namespace, "Stalled", reason="InvalidEndpointUrl", timeout=60)
    message = kube.condition(obj, "Stalled")["message"]  # type: ignore[index]
    assert "xn--a.cognitiveservices.azure.com" in message and "not a valid host name" in message
    assert "U+0080" not in message
    assert_no_crash(kube, operator, since, "idna", namespace)
    kube.delete(KIND, "idna", namespace, timeout=30)


def test_a_key_that_cannot_be_a_header_is_stalled_without_quoting_it(
    kube: Kube, simulator: Simulator, operator: Operator, namespace: str
) -> None:
    since = operator.log_size()
    kube.apply(secret("odd-key", f"clé-{simulator.key}"), namespace)
    kube.apply(manifest("odd-key", simulator.url, secret="odd-key"), namespace)
    obj = kube.wait_condition(KIND, "odd-key", namespace, "Stalled", reason="CredentialsInvalid", timeout=60)
    message = kube.condition(obj, "Stalled")["message"]  # type: ignore[index]
    assert "odd-key" in message and "visible ASCII" in message
    assert "é" not in json.dumps(obj, ensure_ascii=False) and simulator.key not in json.dumps(obj)
    assert "é" not in operator.logs(since) and simulator.key not in operator.logs(since)
    assert_no_crash(kube, operator, since, "odd-key", namespace)
    kube.delete(KIND, "odd-key", namespace, timeout=30)
