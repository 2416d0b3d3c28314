"""In-memory Azure and Kubernetes stand-ins for the VoiceEndpoint reconcile tests (no tests here).

`FakeVoice` keeps custom voice endpoints with the statuses of the real API (NotStarted, Running, Succeeded,
Failed, Disabling, Disabled) moved on by the test (`finish`), refuses what Azure refuses (suspend only from
Succeeded, resume only from Disabled, a PUT at an existing id with another body), and records every call.
`World` holds one VoiceEndpoint and performs passes the way the runtime does.
"""

from __future__ import annotations

import copy
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from azure_speech_operator import reconcile
from azure_speech_operator.azure.types import (
    AzureError,
    ErrorClass,
    Operation,
    OperatorError,
    VoiceEndpoint,
    VoiceEndpointCreate,
)
from azure_speech_operator.reconcile import Outcome, Pass, Timing, Trigger
from azure_speech_operator.runtime.engine import CredentialsUnavailable, run_pass
from azure_speech_operator.voiceendpoint.handlers import VOICE
from azure_speech_operator.voiceendpoint.logic import Resource, Step
from azure_speech_operator.voiceendpoint.spec import parse_stored_spec

T0 = datetime(2026, 11, 21, 6, 0, tzinfo=UTC)
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

    def writes(self) -> list[tuple[str, str]]:
        return [c for c in self.calls if c[0] != "get"]

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
            return existing, Operation(id=operation_id, status="Running")
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
        self._lose("create")
        return self.endpoints[endpoint_id], Operation(id=operation_id, status="NotStarted")

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
        self._lose("suspend")
        return updated, Operation(id=operation_id, status="Running")

    async def resume(self, endpoint_id: str, operation_id: str) -> tuple[VoiceEndpoint, Operation | None]:
        self._call("resume", endpoint_id)
        endpoint = await self._existing(endpoint_id)
        if endpoint.status != "Disabled":
            raise azure_error("InvalidEndpointStatus", ErrorClass.FATAL)
        self.resuming.add(endpoint_id)
        updated = self._set(endpoint_id, "Running")
        self._lose("resume")
        return updated, Operation(id=operation_id, status="Running")

    async def _existing(self, endpoint_id: str) -> VoiceEndpoint:
        if endpoint_id not in self.endpoints:
            raise azure_error("NotFound", ErrorClass.NOT_FOUND, status=404)
        return self.endpoints[endpoint_id]

    async def get_operation(self, operation_id: str) -> Operation:
        raise AssertionError("the operator polls endpoints, not operations")

    async def list(self, filter: str | None = None) -> AsyncIterator[VoiceEndpoint]:
        for endpoint in list(self.endpoints.values()):
            yield endpoint


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
class World:
    """One VoiceEndpoint, its Azure, a clock, and the effects of every pass."""

    spec: dict[str, Any] = field(default_factory=base_spec)
    azure: FakeVoice = field(default_factory=FakeVoice)
    annotations: dict[str, str] = field(default_factory=dict)
    status: dict[str, Any] = field(default_factory=dict)
    generation: int = 1
    now: datetime = T0
    has_finalizer: bool = True
    deletion_timestamp: datetime | None = None
    credentials_error: OperatorError | None = None
    exported: dict[str, dict[str, str]] = field(default_factory=dict)
    events: list[reconcile.Event] = field(default_factory=list)
    status_writes: int = 0
    steps: list[Step] = field(default_factory=list)
    released: bool = False
    timing: Timing = field(default_factory=Timing)
    last: Outcome | None = None
    crash_after: str | None = None  # raise after this step kind (a killed operator)

    def change_spec(self, **overrides: Any) -> None:
        for key, value in overrides.items():
            if value is None:
                self.spec.pop(key, None)
            else:
                self.spec[key] = value
        self.generation += 1

    def resource(self) -> Resource:
        spec, error, deletion_spec = parse_stored_spec(copy.deepcopy(self.spec))
        return Resource(
            name="jessica",
            namespace="team-a",
            uid=UID,
            generation=self.generation,
            spec=spec,
            spec_error=error,
            annotations=dict(self.annotations),
            status=copy.deepcopy(self.status),
            deletion_timestamp=self.deletion_timestamp,
            has_finalizer=self.has_finalizer,
            deletion_spec=deletion_spec,
        )

    # --- ResourceWriter -----------------------------------------------------------------------------------

    async def mark_create_pending(self, *, forget_endpoint_id: bool) -> None:
        raise AssertionError("voice never marks a create pending: its ids are deterministic")

    async def clear_create_pending(self) -> None:
        raise AssertionError("voice never marks a create pending")

    async def record_endpoint_id(self, endpoint_id: str) -> None:
        raise AssertionError("voice records endpoints with notes")

    async def note(self, changes: Mapping[str, str | None], why: str) -> None:
        for key, value in changes.items():
            if value is None:
                self.annotations.pop(key, None)
            else:
                self.annotations[key] = value

    async def export(self, config_map_name: str, data: Mapping[str, str]) -> None:
        self.exported[config_map_name] = dict(data)

    async def unexport(self, config_map_name: str) -> None:
        self.exported.pop(config_map_name, None)

    # --- passes -------------------------------------------------------------------------------------------

    async def _connect(self) -> FakeVoice:
        if self.credentials_error is not None:
            raise CredentialsUnavailable(self.credentials_error)
        return self.azure

    async def run(self, trigger: Trigger = Trigger.CHANGE, attempt: int = 0) -> Outcome:
        resource = self.resource()
        pass_ = Pass(trigger=trigger, now=self.now, timing=self.timing, attempt=attempt, jitter=0.5)

        def record(step: Step) -> None:
            self.steps.append(step)
            if self.crash_after is not None and type(step).__name__ == self.crash_after:
                self.crash_after = None
                raise KeyboardInterrupt("operator killed")

        outcome, _ = await run_pass(
            VOICE, resource, pass_, connect=self._connect, writer=self, on_step=record
        )
        if outcome.status_changed(self.status) and not outcome.release:
            self.status = copy.deepcopy(outcome.status)
            self.status_writes += 1
        self.events.extend(outcome.events)
        self.released = outcome.release
        self.last = outcome
        return outcome

    async def settle(self, limit: int = 12) -> Outcome:
        """Passes (finishing Azure's actions in between) until one asks for no quick come-back."""
        outcome = await self.run()
        for _ in range(limit):
            if outcome.retry is None or outcome.release:
                return outcome
            self.advance(outcome.retry.delay)
            self.azure.finish()
            outcome = await self.run()
        raise AssertionError(f"did not settle: {self.status}")

    def condition(self, type_: str) -> tuple[str, str]:
        for condition in self.status.get("conditions", []):
            if condition["type"] == type_:
                return condition["status"], condition["reason"]
        raise KeyError(type_)

    def event_reasons(self) -> list[str]:
        return [e.reason for e in self.events]

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)
        self.azure.now = self.now
