"""In-memory Azure and Kubernetes stand-ins for the VoiceEndpoint reconcile tests (no tests here).

`FakeVoice` keeps custom voice endpoints with the statuses of the real API (NotStarted, Running, Succeeded,
Failed, Disabling, Disabled) moved on by the test (`finish`), refuses what Azure refuses (suspend only from
Succeeded, resume only from Disabled, a PUT at an existing id with another body), and records every call.
`World` holds one VoiceEndpoint and performs passes the way the runtime does.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, ClassVar

from azure_speech_operator.azure.types import (
    AzureError,
    ErrorClass,
    Operation,
    OperatorError,
    VoiceEndpoint,
    VoiceEndpointCreate,
)
from azure_speech_operator.runtime.kind import Kind
from azure_speech_operator.voiceendpoint.handlers import VOICE

from tests.unit import world
from tests.unit.world import T0

UID = "0b6f5c1e-0000-4000-8000-000000000002"
ADOPTED = "9f50c644-1a2b-4c3d-8e4f-5a6b7c8d9e0f"
# model -> its project
MODELS = {"Jessica": "Jessica", "Jessica2": "Jessica", "Broken": "Jessica", "Other": "Other"}


def azure_error(code: str, cls: ErrorClass, status: int = 400, **kwargs: Any) -> AzureError:
    return AzureError(status=status, code=code, message=f"{code} happened", error_class=cls, **kwargs)


class FakeVoice:
    """Custom voice endpoints of one Speech resource, in memory."""

    api_version = "2026-01-01"

    def __init__(self, now: datetime = T0, quota: int = 50) -> None:
        self.now = now
        self.quota = quota
        self.endpoints: dict[str, VoiceEndpoint] = {}
        self.bodies: dict[str, VoiceEndpointCreate] = {}
        self.calls: list[tuple[str, str]] = []
        self.failures: dict[str, list[OperatorError]] = {}
        self.failing_models: set[str] = set()
        self.failing_resumes: set[str] = set()
        self.lost_answers: set[str] = set()  # the call is done, the answer lost (a reset)
        self.resuming: set[str] = set()
        self.operations: dict[str, tuple[str, str, str]] = {}  # Operation-Id -> (endpoint, action, status)
        # Set: suspend and resume answer as v3.0's 202 does, with no operation to follow and the endpoint
        # read back carrying the 202's Retry-After (seconds).
        self.action_retry_after: float | None = None

    def fail(self, operation: str, *errors: OperatorError) -> None:
        self.failures.setdefault(operation, []).extend(errors)

    def _call(self, operation: str, endpoint_id: str) -> None:
        self.calls.append((operation, endpoint_id))
        queue = self.failures.get(operation)
        if queue:
            raise queue.pop(0)

    def _lose(self, operation: str) -> None:
        if operation in self.lost_answers:
            self.lost_answers.discard(operation)
            raise azure_error("ConnectionReset", ErrorClass.TRANSIENT, status=0, outcome_unknown=True)

    def _set(self, endpoint_id: str, status: str) -> VoiceEndpoint:
        updated = self.endpoints[endpoint_id].model_copy(
            update={"status": status, "last_action_at": self.now}
        )
        self.endpoints[endpoint_id] = updated
        return updated

    def finish(self) -> None:
        """Every action in flight ends: deployments and resumes succeed (or fail), suspends disable."""
        for endpoint_id, endpoint in list(self.endpoints.items()):
            if endpoint.status in ("NotStarted", "Running"):
                resuming = endpoint_id in self.resuming
                if resuming:
                    self.resuming.discard(endpoint_id)
                    failed = endpoint.model_id in self.failing_resumes
                    self._set(endpoint_id, "Disabled" if failed else "Succeeded")
                else:
                    failed = endpoint.model_id in self.failing_models
                    self._set(endpoint_id, "Failed" if failed else "Succeeded")
            elif endpoint.status == "Disabling":
                self._set(endpoint_id, "Disabled")
        for operation_id, (endpoint_id, action, status) in list(self.operations.items()):
            ended = self.endpoints.get(endpoint_id)
            if status in ("NotStarted", "Running"):
                # an endpoint deleted mid-action fails its operation
                failed = ended is None or ended.status == "Failed"
                failed = failed or (action == "resume" and ended is not None and ended.status == "Disabled")
                self.operations[operation_id] = (endpoint_id, action, "Failed" if failed else "Succeeded")

    def _started(self, operation_id: str, endpoint_id: str, action: str, status: str) -> Operation:
        self.operations.setdefault(operation_id, (endpoint_id, action, status))
        return Operation(id=operation_id, status=self.operations[operation_id][2])

    def writes(self) -> list[tuple[str, str]]:
        return [c for c in self.calls if c[0] not in ("get", "get_operation")]

    # --- VoiceEndpoints -----------------------------------------------------------------------------------

    async def get(self, endpoint_id: str) -> VoiceEndpoint:
        self._call("get", endpoint_id)
        if endpoint_id not in self.endpoints:
            raise azure_error("NotFound", ErrorClass.NOT_FOUND, status=404)
        return self.endpoints[endpoint_id]

    async def create(
        self, endpoint_id: str, body: VoiceEndpointCreate, operation_id: str
    ) -> tuple[VoiceEndpoint, Operation]:
        self._call("create", endpoint_id)
        existing = self.endpoints.get(endpoint_id)
        if existing is not None:
            if self.bodies[endpoint_id] != body:
                raise azure_error("EndpointAlreadyExists", ErrorClass.FATAL)
            return existing, self._started(operation_id, endpoint_id, "create", "Running")
        if MODELS.get(body.model_id) != body.project_id:
            raise azure_error("ModelNotFound", ErrorClass.FATAL)
        if len(self.endpoints) >= self.quota:
            raise azure_error("QuotaViolation", ErrorClass.BLOCKED)
        self.endpoints[endpoint_id] = VoiceEndpoint(
            id=endpoint_id,
            display_name=body.display_name,
            description=body.description,
            project_id=body.project_id,
            model_id=body.model_id,
            kind=body.kind,
            status="NotStarted",
            created_at=self.now,
            last_action_at=self.now,
        )
        self.bodies[endpoint_id] = body
        operation = self._started(operation_id, endpoint_id, "create", "NotStarted")
        self._lose("create")
        return self.endpoints[endpoint_id], operation

    async def delete(self, endpoint_id: str) -> bool:
        self._call("delete", endpoint_id)
        existed = self.endpoints.pop(endpoint_id, None) is not None
        self._lose("delete")
        return existed

    async def suspend(self, endpoint_id: str, operation_id: str) -> tuple[VoiceEndpoint, Operation | None]:
        self._call("suspend", endpoint_id)
        endpoint = await self._existing(endpoint_id)
        if endpoint.status != "Succeeded":
            raise azure_error("InvalidEndpointStatus", ErrorClass.FATAL)
        updated = self._set(endpoint_id, "Disabling")
        return self._acted("suspend", updated, operation_id)

    async def resume(self, endpoint_id: str, operation_id: str) -> tuple[VoiceEndpoint, Operation | None]:
        self._call("resume", endpoint_id)
        endpoint = await self._existing(endpoint_id)
        if endpoint.status != "Disabled":
            raise azure_error("InvalidEndpointStatus", ErrorClass.FATAL)
        self.resuming.add(endpoint_id)
        updated = self._set(endpoint_id, "Running")
        return self._acted("resume", updated, operation_id)

    def _acted(
        self, action: str, endpoint: VoiceEndpoint, operation_id: str
    ) -> tuple[VoiceEndpoint, Operation | None]:
        if self.action_retry_after is not None:
            self._lose(action)
            return endpoint.model_copy(update={"retry_after": self.action_retry_after}), None
        operation = self._started(operation_id, endpoint.id, action, "Running")
        self._lose(action)
        return endpoint, operation

    async def _existing(self, endpoint_id: str) -> VoiceEndpoint:
        if endpoint_id not in self.endpoints:
            raise azure_error("NotFound", ErrorClass.NOT_FOUND, status=404)
        return self.endpoints[endpoint_id]

    async def get_operation(self, operation_id: str) -> Operation:
        self._call("get_operation", operation_id)
        if operation_id not in self.operations:
            raise azure_error("NotFound", ErrorClass.NOT_FOUND, status=404)
        return Operation(id=operation_id, status=self.operations[operation_id][2])

    async def list(self, filter: str | None = None) -> AsyncIterator[VoiceEndpoint]:
        for endpoint in list(self.endpoints.values()):
            yield endpoint


def adopted_endpoint(now: datetime) -> VoiceEndpoint:
    """The endpoint at ADOPTED, made outside the operator days ago, serving the default spec's voice."""
    return VoiceEndpoint(
        id=ADOPTED,
        project_id="Jessica",
        model_id="Jessica",
        status="Succeeded",
        created_at=now - timedelta(days=3),
        last_action_at=now - timedelta(days=3),
    )


def base_spec(**overrides: Any) -> dict[str, Any]:
    spec: dict[str, Any] = {
        "azure": {"region": "westeurope", "apiVersion": "2026-01-01",
                  "credentials": {"secretRef": {"name": "speech-credentials", "key": "key"}}},
        "projectId": "Jessica",
        "modelId": "Jessica",
        "kind": "HighPerformance",
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
    """One VoiceEndpoint, its Azure, a clock, and the effects of every pass (tests/unit/world.py)."""

    KIND: ClassVar[Kind[Any, Any, Any, Any]] = VOICE
    NAME: ClassVar[str] = "jessica"
    UID: ClassVar[str] = UID

    spec: dict[str, Any] = field(default_factory=base_spec)
    azure: FakeVoice = field(default_factory=FakeVoice)
