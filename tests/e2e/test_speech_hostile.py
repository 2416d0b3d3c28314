"""SpeechEndpoint against input a hostile or careless world sends: endpoint host names httpx cannot encode,
keys that cannot be a header, and a stand-in for Azure whose successful answers echo the key, SAS signatures
and bearer tokens. Each must give the resource a clean condition (no traceback, nothing of a credential in
status, events, ConfigMaps, metrics or logs), and deletion must not hang on it."""

from __future__ import annotations

import base64
import json
import uuid
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler
from typing import Any
from urllib.parse import quote, quote_plus, urlsplit

import pytest
from azure_speech_operator.simulator.seed import BASE_EN_US_CURRENT

from tests.localhttp import serving

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


# --- a stand-in for Azure whose successful answers echo credentials ----------------------------------------

HOSTILE_KEY = "Hostile/Key+0123456789=abcdefABCDEF"  # URL-encoding changes it: the encoded echo differs
SIG = "c2lnbmF0dXJlLXNlY3JldC1ob3N0aWxl%3D"
JWT = "eyJhbGciOiJSUzI1NiJ9.eyJhdWQiOiJjb2duaXRpdmUtaG9zdGlsZSJ9.c2lnbmF0dXJlLWhvc3RpbGU"
STT = "https://westus.stt.speech.microsoft.com/speech/recognition/conversation/cognitiveservices/v1"


def echo(key: str) -> str:
    return (
        f"Ocp-Apim-Subscription-Key: {key} was used; {key.upper()} {quote(key, safe='')} {quote_plus(key)}; "
        f"Authorization: Bearer {JWT}; details at https://a.blob.core.windows.net/x?sv=2024&sig={SIG}"
    )


class HostileAzure(BaseHTTPRequestHandler):
    """Speech to text 2025-10-15, just enough to create, read, list and delete endpoints and read a model.
    An endpoint whose displayName holds `fail` is Failed with an error message echoing the request's key."""

    endpoints: dict[str, dict[str, Any]] = {}

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def _answer(self, status: int, body: Any = None) -> None:
        data = json.dumps(body).encode() if body is not None else b""
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    @property
    def base(self) -> str:
        return f"http://{self.headers['Host']}"

    def _path(self) -> list[str]:
        return [part for part in urlsplit(self.path).path.split("/") if part][1:]  # after "speechtotext"

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers.get("Content-Length") or 0)) or b"{}")
        key = self.headers.get("Ocp-Apim-Subscription-Key", "")
        endpoint_id = str(uuid.uuid4())
        failing = "fail" in body.get("displayName", "")
        endpoint = {
            "self": f"{self.base}/speechtotext/endpoints/{endpoint_id}?api-version=2025-10-15",
            "displayName": body.get("displayName"),
            "locale": body.get("locale"),
            "model": body.get("model"),
            "customProperties": body.get("customProperties") or {},
            "properties": {"loggingEnabled": False},
            "links": {
                "restInteractive": f"{STT}?cid={endpoint_id}&key={key}",
                "restConversation": f"{STT}?cid={endpoint_id}&sig={SIG}",
                "webSocketConversation": f"wss://westus.stt.speech.microsoft.com/v1?access_token={JWT}",
                "restDictation": f"{STT}?cid={endpoint_id} Authorization: Bearer {JWT}",
            },
            "status": "Failed" if failing else "Succeeded",
            "createdDateTime": "2026-01-01T00:00:00Z",
            "lastActionDateTime": "2026-01-01T00:00:00Z",
        }
        if failing:
            endpoint["properties"]["error"] = {"code": "InvalidModel", "message": echo(key)}
        self.endpoints[endpoint_id] = endpoint
        self._answer(201, endpoint)

    def do_GET(self) -> None:
        path = self._path()
        if path == ["endpoints"]:
            self._answer(200, {"values": list(self.endpoints.values())})
        elif len(path) == 2 and path[0] == "endpoints" and path[1] in self.endpoints:
            self._answer(200, self.endpoints[path[1]])
        elif len(path) == 3 and path[:2] == ["models", "base"]:
            key = self.headers.get("Ocp-Apim-Subscription-Key", "")
            self._answer(
                200,
                {
                    "self": f"{self.base}/speechtotext/models/base/{path[2]}?api-version=2025-10-15",
                    "displayName": echo(key),
                    "locale": "en-US",
                    "properties": {"deprecationDates": {"transcriptionDateTime": "2036-01-01T00:00:00Z"}},
                    "status": "Succeeded",
                },
            )
        else:
            self._answer(404, {"code": "NotFound", "message": "no such entity"})

    def do_DELETE(self) -> None:
        path = self._path()
        found = len(path) == 2 and self.endpoints.pop(path[1], None) is not None
        self._answer(204 if found else 404, None if found else {"code": "NotFound", "message": "gone"})


@pytest.fixture
def hostile_azure() -> Iterator[str]:
    with serving(HostileAzure) as url:
        yield url


def leaks(text: str) -> list[str]:
    """The credentials (in any case or encoding) found in text."""
    forms = [HOSTILE_KEY, quote(HOSTILE_KEY, safe=""), quote_plus(HOSTILE_KEY), SIG, JWT]
    return [form for form in forms if form.lower() in text.lower()]


def test_credentials_echoed_in_successful_answers_reach_nothing(
    kube: Kube, operator: Operator, namespace: str, hostile_azure: str
) -> None:
    # Debug logs: kopf logs the object it handles, the operator every write it sends.
    operator.restart(extra_args=["--log-level", "debug"])
    since = operator.log_size()
    kube.apply(secret("hostile", HOSTILE_KEY), namespace)
    served = manifest("served", hostile_azure, secret="hostile")
    served["spec"]["exportTo"] = {"configMapName": "served-endpoint"}
    kube.apply(served, namespace)
    kube.apply(manifest("failing", hostile_azure, secret="hostile"), namespace)

    ready = kube.wait_condition(KIND, "served", namespace, "Ready", timeout=90)
    stalled = kube.wait_condition(KIND, "failing", namespace, "Stalled", reason="InvalidModel", timeout=90)
    links = ready["status"]["links"]
    assert links["restInteractive"].endswith("&key=***") and "sig=***" in links["restConversation"]
    assert "was used" in stalled["status"]["error"]["message"]  # Azure's text is shown, scrubbed
    config_map = kube.get("ConfigMap", "served-endpoint", namespace)
    assert config_map is not None and "restInteractive" in config_map["data"]

    for what, text in {
        "served": json.dumps(kube.get(KIND, "served", namespace)),
        "failing": json.dumps(kube.get(KIND, "failing", namespace)),
        "events": json.dumps(kube.events(namespace)),
        "config map": json.dumps(config_map),
        "metrics": operator.metrics(),
        "operator log": operator.logs(since),
    }.items():
        assert not leaks(text), (what, leaks(text))
    kube.delete(KIND, "failing", namespace, timeout=30)
    kube.delete(KIND, "served", namespace, timeout=30)
