"""In-memory Azure and Kubernetes stand-ins for the SpeechEndpoint reconcile tests (no tests here).

`World` holds one SpeechEndpoint (spec, annotations, status, generation) and a `FakeSpeech` Azure; `World.run`
performs one pass the way the runtime does: the engine's loop, then the status written only when it changed.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, ClassVar, Literal

from azure_speech_operator.azure.types import (
    AzureError,
    EntityError,
    ErrorClass,
    LogFile,
    ModelRef,
    OperatorError,
    SpeechEndpoint,
    SpeechEndpointCreate,
    SpeechEndpointUpdate,
    SpeechModel,
    SpeechProject,
)
from azure_speech_operator.runtime.kind import Kind
from azure_speech_operator.speechendpoint.handlers import SPEECH
from azure_speech_operator.speechendpoint.spec import MARKER_KEY

from tests.unit import world
from tests.unit.world import T0

BASE_MODEL = "ae8d1643-53a9-4ef0-9c46-6ae7d6bbc2c6"
BASE_MODEL_2 = "1aae1070-7972-47e9-a977-87e3b05c457d"
CUSTOM_MODEL = "9e240dc1-1f4f-4e7a-9a8b-0c7d5e6f1a2b"
GERMAN_MODEL = "5c0c2f4e-6d0a-4f7e-8a43-2b1f3c4d5e6f"
EXPIRING_MODEL = "0c1d2e3f-4a5b-4c6d-8e7f-9a0b1c2d3e4f"
UID = "7d3c8c4e-0000-4000-8000-000000000001"


def azure_error(code: str, cls: ErrorClass, status: int = 400, **kwargs: Any) -> AzureError:
    return AzureError(status=status, code=code, message=f"{code} happened", error_class=cls, **kwargs)


def _model(
    model_id: str, kind: Literal["base", "custom"], locale: str, days: int | None = None
) -> SpeechModel:
    expires = T0 + timedelta(days=days) if days is not None else None
    return SpeechModel(
        id=model_id, kind=kind, locale=locale, supports_endpoints=True, transcription_deprecation=expires
    )


class FakeSpeech:
    """Speech to text endpoints of one Speech resource, in memory, with scripted failures."""

    api_version = "2025-10-15"

    def __init__(self, now: datetime = T0) -> None:
        self.endpoints: dict[str, SpeechEndpoint] = {}
        self.models: dict[str, SpeechModel] = {
            m.id: m
            for m in (
                _model(BASE_MODEL, "base", "en-US", days=400),
                _model(BASE_MODEL_2, "base", "en-US", days=500),
                _model(CUSTOM_MODEL, "custom", "en-US"),
                _model(GERMAN_MODEL, "base", "de-DE"),
                _model(EXPIRING_MODEL, "base", "en-US", days=10),
            )
        }
        self.calls: list[str] = []
        self.failures: dict[str, list[OperatorError]] = {}
        self.lose_create_answer = False
        self.retry_after: float | None = 30.0
        self.now = now

    # --- scripting ----------------------------------------------------------------------------------------

    def fail(self, operation: str, *errors: OperatorError) -> None:
        self.failures.setdefault(operation, []).extend(errors)

    def _maybe_fail(self, operation: str) -> None:
        self.calls.append(operation)
        queue = self.failures.get(operation)
        if queue:
            raise queue.pop(0)

    def finish(self, status: str = "Succeeded", error: EntityError | None = None) -> None:
        """Every deployment in flight ends (Succeeded or Failed)."""
        for endpoint_id, endpoint in self.endpoints.items():
            if endpoint.status in ("NotStarted", "Running"):
                self.endpoints[endpoint_id] = endpoint.model_copy(
                    update={"status": status, "error": error, "retry_after": None}
                )

    @property
    def writes(self) -> list[str]:
        return [c for c in self.calls if c in ("create", "update", "delete")]

    def only(self) -> SpeechEndpoint:
        (endpoint,) = self.endpoints.values()
        return endpoint

    # --- SpeechEndpoints ------------------------------------------------------------------------------------

    def _validate_model(self, ref: ModelRef, locale: str) -> None:
        model = self.models.get(ref.id)
        if model is None or model.kind != ref.kind:
            raise azure_error("InvalidModel", ErrorClass.FATAL)
        if model.locale != locale:
            raise azure_error("ModelMismatch", ErrorClass.FATAL)

    async def create(self, body: SpeechEndpointCreate) -> SpeechEndpoint:
        self._maybe_fail("create")
        self._validate_model(body.model, body.locale)
        endpoint_id = str(uuid.uuid4())
        endpoint = SpeechEndpoint(
            id=endpoint_id,
            self_url=f"https://westeurope.api.cognitive.microsoft.com/speechtotext/endpoints/{endpoint_id}",
            display_name=body.display_name,
            description=body.description,
            locale=body.locale,
            model=body.model,
            project_id=body.project_id,
            custom_properties=dict(body.custom_properties),
            logging_enabled=body.logging_enabled,
            status="NotStarted",
            links={"webSocket": f"wss://westeurope.stt.speech.microsoft.com/stt/speech/universal/v2?cid={endpoint_id}"},
            created_at=self.now,
            last_action_at=self.now,
            retry_after=self.retry_after,
        )  # fmt: skip
        self.endpoints[endpoint_id] = endpoint
        if self.lose_create_answer:
            self.lose_create_answer = False
            raise AzureError(status=None, code="ConnectionReset", message="connection reset",
                             error_class=ErrorClass.TRANSIENT, outcome_unknown=True)  # fmt: skip
        return endpoint

    async def get(self, endpoint_id: str) -> SpeechEndpoint:
        self._maybe_fail("get")
        if endpoint_id not in self.endpoints:
            raise azure_error("NotFound", ErrorClass.NOT_FOUND, status=404)
        return self.endpoints[endpoint_id]

    async def update(self, endpoint_id: str, changes: SpeechEndpointUpdate) -> SpeechEndpoint:
        self._maybe_fail("update")
        if endpoint_id not in self.endpoints:
            raise azure_error("NotFound", ErrorClass.NOT_FOUND, status=404)
        endpoint = self.endpoints[endpoint_id]
        update: dict[str, Any] = {k: v for k, v in changes.model_dump(exclude_none=True).items()}
        if changes.model is not None:
            self._validate_model(changes.model, endpoint.locale)
            update["model"] = changes.model
            update["status"] = "NotStarted"
            update["retry_after"] = self.retry_after
        if changes.custom_properties is not None:
            update["custom_properties"] = dict(changes.custom_properties)
        self.endpoints[endpoint_id] = endpoint.model_copy(update=update)
        return self.endpoints[endpoint_id]

    async def delete(self, endpoint_id: str) -> bool:
        self._maybe_fail("delete")
        return self.endpoints.pop(endpoint_id, None) is not None

    async def list(self, filter: str | None = None) -> AsyncIterator[SpeechEndpoint]:
        for endpoint in list(self.endpoints.values()):
            yield endpoint

    async def find_by_marker(
        self, key: str, value: str, *, locale: str | None = None
    ) -> SpeechEndpoint | None:
        self._maybe_fail("find")
        for endpoint in self.endpoints.values():
            if endpoint.custom_properties.get(key) == value:
                return endpoint
        return None

    async def get_model(self, ref: ModelRef) -> SpeechModel:
        self._maybe_fail("get_model")
        model = self.models.get(ref.id)
        if model is None:
            raise azure_error("NotFound", ErrorClass.NOT_FOUND, status=404)
        return model

    async def get_project(self, project_id: str) -> SpeechProject:
        raise NotImplementedError

    async def list_logs(self, endpoint_id: str) -> AsyncIterator[LogFile]:
        raise NotImplementedError
        yield  # pragma: no cover

    async def download_log(self, file: LogFile, dest: Path) -> int:
        raise NotImplementedError


def base_spec(**overrides: Any) -> dict[str, Any]:
    spec: dict[str, Any] = {
        "azure": {"region": "westeurope", "apiVersion": "2025-10-15",
                  "credentials": {"secretRef": {"name": "speech-credentials", "key": "key"}}},
        "locale": "en-US",
        "model": {"baseModelId": BASE_MODEL},
        "deletionPolicy": "Delete",
    }  # fmt: skip
    for key, value in overrides.items():
        if value is None:
            spec.pop(key, None)
        else:
            spec[key] = value
    return spec


@dataclass
class World(world.World):
    """One SpeechEndpoint, its Azure, a clock, and the effects of every pass (tests/unit/world.py)."""

    KIND: ClassVar[Kind[Any, Any, Any, Any]] = SPEECH
    NAME: ClassVar[str] = "call-center-en"
    UID: ClassVar[str] = UID

    spec: dict[str, Any] = field(default_factory=base_spec)
    azure: FakeSpeech = field(default_factory=FakeSpeech)


MARKER = MARKER_KEY
