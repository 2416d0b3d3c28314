"""The simulator's world: Speech resources with their models, projects and endpoints.

Statuses are never advanced by a background task. Every change of state is an `Action` (deploy, redeploy,
suspend, resume) with a start time and a list of timed phases; the status at any moment is computed from the
clock. Tests with a fake clock therefore need no sleeping, and a restarted simulator (state file) continues
where it was.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import re
import time
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from .config import ResourceConfig, SimulatorConfig, json_kind, problems
from .seed import Seed, SeedCustomModel, SeedProject, SeedVoiceModel, SeedVoiceProject

DAY = 86400.0
# v3.2's `properties.timeToLive`: days, hours, minutes, seconds; at least one of them
_TIME_TO_LIVE = re.compile(r"^P(?=\d|T\d)(?:(\d+)D)?(?:T(?=\d)(?:(\d+)H)?(?:(\d+)M)?(?:(\d+)S)?)?$")
MAX_TIME_TO_LIVE = 31 * DAY
# How far `POST /_sim/clock` can move the clock ahead in all: a century keeps every date the API renders
# (durations and seed dates are bounded too) well inside the year 9999.
MAX_CLOCK_OFFSET = 100 * 365 * DAY

Clock = Callable[[], float]
"""Seconds since the epoch, like time.time."""


class SimClock:
    """Real time plus an offset the control API can advance (`POST /_sim/clock`)."""

    def __init__(self, source: Clock = time.time) -> None:
        self._source = source
        self.offset = 0.0

    def __call__(self) -> float:
        return self._source() + self.offset

    def advance(self, seconds: float) -> None:
        self.offset += seconds


class FakeClock:
    """A clock tests move by hand."""

    def __init__(self, start: float = 1_790_000_000.0) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


def shown_seconds(ts: float) -> int:
    """A stored time (fractions of a second kept) at the precision the API shows it: whole seconds, cut
    off, not rounded. Rendering and filtering both use it, so a filter sees the time the client was shown."""
    return math.floor(ts)


def iso(ts: float) -> str:
    """Azure's date-time form: UTC with a Z, no sub-second digits."""
    return datetime.fromtimestamp(shown_seconds(ts), UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def unit_float(*parts: object) -> float:
    """A deterministic number in [0, 1) from the parts: faults and failures replay exactly for a seed."""
    digest = hashlib.blake2b("|".join(str(p) for p in parts).encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") / 2**64


class EntityError(BaseModel):
    code: str
    message: str


class Action(BaseModel):
    """A timed change: `phases` are (status, seconds) walked in order from `started`, then `outcome`."""

    kind: str
    started: float
    phases: list[tuple[str, float]] = Field(default_factory=list)
    outcome: str
    error: EntityError | None = None
    failure_status: str = "Failed"  # status reached when the action fails (Disabled for a failed resume)

    @classmethod
    def training(cls, started: float, queue: float, run: float) -> Action:
        """A model training: queued, then running, then Succeeded."""
        return cls(
            kind="training",
            started=started,
            phases=[("NotStarted", queue), ("Running", run)],
            outcome="Succeeded",
        )

    def status_at(self, now: float) -> tuple[str, float, float | None]:
        """(status, time the status was entered, seconds left in that status or None when final)."""
        t = self.started
        for status, duration in self.phases:
            if now < t + duration:
                return status, t, t + duration - now
            t += duration
        return self.outcome, t, None

    @property
    def ends(self) -> float:
        return self.started + sum(d for _, d in self.phases)

    def done(self, now: float) -> bool:
        return now >= self.ends

    def operation_status(self, now: float) -> str:
        """The custom voice `OperationStatus` of this action."""
        status, _, left = self.status_at(now)
        if left is not None:
            return "NotStarted" if status == "NotStarted" else "Running"
        return "Failed" if self.error is not None else "Succeeded"

    def force_failure(self, now: float, error: EntityError) -> None:
        """Make the action fail: at its planned end if still running, right now if it already ended."""
        if self.done(now):
            self.phases = []
            self.started = now
        self.outcome = self.failure_status
        self.error = error


class LogFile(BaseModel):
    name: str
    kind: str
    created: float
    seconds: int  # length of the logged audio; a transcription shares it with its audio file


class ModelRef(BaseModel):
    id: str
    base: bool


def time_to_live_seconds(text: str) -> float | None:
    """Seconds of an ISO 8601 duration as v3.2 takes it (`PT30M`, `P1DT12H`); None if unreadable."""
    match = _TIME_TO_LIVE.match(text)
    if match is None:
        return None
    days, hours, minutes, seconds = (int(part or 0) for part in match.groups())
    return days * DAY + hours * 3600.0 + minutes * 60.0 + seconds


class SpeechEndpoint(BaseModel):
    id: str
    display_name: str
    description: str | None = None
    text: str | None = None
    locale: str
    model: ModelRef
    serving_model: ModelRef | None = None  # the model answering requests while a redeploy runs
    project: str | None = None
    custom_properties: dict[str, str] = Field(default_factory=dict)
    logging_enabled: bool = False
    time_to_live: str | None = None
    created: float
    action: Action
    logs: list[LogFile] | None = None  # created when logging is on and the endpoint is up

    def serving(self, now: float) -> ModelRef | None:
        """The model answering requests: the deployed one once it succeeded; while a redeploy runs (or after
        it failed) the one that served before it, if any."""
        status, _, left = self.action.status_at(now)
        if left is None and status == "Succeeded":
            return self.model
        return self.serving_model

    def in_use(self, model: ModelRef, now: float) -> bool:
        """Whether the endpoint deploys `model` or still serves it."""
        return model in (self.model, self.serving(now))

    def expired(self, now: float) -> bool:
        """Past its time to live after its last action completed (v3.2: Azure deletes it then)."""
        ttl = time_to_live_seconds(self.time_to_live) if self.time_to_live else None
        return bool(ttl) and self.action.done(now) and now >= self.action.ends + (ttl or 0.0)


class VoiceEndpoint(BaseModel):
    id: str
    display_name: str | None = None
    description: str | None = None
    project_id: str
    model_id: str
    kind: str = "HighPerformance"
    created: float
    action: Action
    request_fingerprint: str = ""
    operation_id: str = ""  # the operation that created it, answered again to an identical PUT


class VoiceOperation(BaseModel):
    id: str
    endpoint_id: str
    fingerprint: str
    action: Action


class ResourceState(BaseModel):
    """One Speech resource: its own catalogue (copied from the seed), endpoints and quota."""

    name: str
    speech_endpoints: dict[str, SpeechEndpoint] = Field(default_factory=dict)
    voice_endpoints: dict[str, VoiceEndpoint] = Field(default_factory=dict)
    voice_operations: dict[str, VoiceOperation] = Field(default_factory=dict)
    base_model_logs: dict[str, list[LogFile]] = Field(default_factory=dict)
    # The catalogue is the seed plus what this resource created, updated (same id) or deleted.
    projects: dict[str, SeedProject] = Field(default_factory=dict)
    deleted_projects: set[str] = Field(default_factory=set)
    custom_models: dict[str, SeedCustomModel] = Field(default_factory=dict)
    model_training: dict[str, Action] = Field(default_factory=dict)
    deleted_models: set[str] = Field(default_factory=set)
    voice_projects: dict[str, SeedVoiceProject] = Field(default_factory=dict)
    deleted_voice_projects: set[str] = Field(default_factory=set)
    voice_models: dict[str, SeedVoiceModel] = Field(default_factory=dict)
    voice_model_training: dict[str, Action] = Field(default_factory=dict)
    deleted_voice_models: set[str] = Field(default_factory=set)
    voice_model_fingerprints: dict[str, str] = Field(default_factory=dict)
    voice_model_operations: dict[str, str] = Field(default_factory=dict)  # model id -> creating operation
    deploy_counter: int = 0
    id_counter: int = 0
    operation_counter: int = 0


class StateFileError(ValueError):
    """The state file cannot be read, is not the simulator's, or cannot be written. The message names the
    file and the problem on one line (the command prefixes `--state-file:`)."""


class _StateFile(BaseModel):
    """What `World.dump` writes: anything else is not the simulator's state file."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)
    version: Literal[1]
    resources: dict[str, ResourceState]
    clock_offset: float = Field(
        default=0.0, alias="clockOffset", ge=0, le=MAX_CLOCK_OFFSET, allow_inf_nan=False
    )


def check_state_file(path: Path) -> None:
    """A StateFileError if `path` could never be written (checked at start, not at the first save)."""
    if path.is_dir():
        raise StateFileError(f"{path} is a directory, not a file")
    if not path.parent.is_dir():
        raise StateFileError(f"{path}: the directory {path.parent} does not exist")
    probe = _temporary(path)
    try:
        probe.write_bytes(b"")
        probe.unlink()
    except OSError as exc:
        raise StateFileError(f"{path}: cannot write in {path.parent}: {exc.strerror or exc}") from None


def _temporary(path: Path) -> Path:
    return path.with_name(path.name + ".tmp")


def seeded_uuid(seed: int, *parts: object) -> str:
    """A random-looking UUID (version 4 layout) derived from the seed and `parts`: replays exactly."""
    text = "|".join(str(p) for p in (seed, *parts))
    digest = hashlib.blake2b(text.encode(), digest_size=16).digest()
    return str(uuid.UUID(bytes=digest, version=4))


class World:
    """All resources, the seed catalogue and the clock. Not thread-safe: used from one event loop."""

    def __init__(self, config: SimulatorConfig, seed: Seed, clock: Clock) -> None:
        self.config = config
        self.seed = seed
        self.clock = clock
        self.started_at = clock()
        self.resources: dict[str, ResourceState] = {}
        self.resource_configs: dict[str, ResourceConfig] = {}
        for rc in config.resources:
            self.resource_configs[rc.name] = rc
            self.resources[rc.name] = ResourceState(name=rc.name)
        self.base_models = {m.id: m for m in seed.base_models}
        self.custom_models = {m.id: m for m in seed.custom_models}
        self.projects = {p.id: p for p in seed.projects}
        self.voice_projects = {p.id: p for p in seed.voice_projects}
        self.voice_models = {m.id: m for m in seed.voice_models}
        self._seed_endpoints()

    # -- seed-relative times --------------------------------------------------------------------------------

    def days_from_start(self, days: float) -> float:
        return self.started_at + days * DAY

    def _seed_endpoints(self) -> None:
        for resource in self.resources.values():
            for se in self.seed.speech_endpoints:
                created = self.days_from_start(-se.created_days_ago)
                base = se.model in self.base_models
                resource.speech_endpoints[se.id] = SpeechEndpoint(
                    id=se.id,
                    display_name=se.display_name,
                    description=se.description or None,
                    locale=se.locale,
                    model=ModelRef(id=se.model, base=base),
                    project=se.project,
                    custom_properties=dict(se.custom_properties),
                    logging_enabled=se.logging_enabled,
                    created=created,
                    action=Action(
                        kind="deploy",
                        started=created,
                        outcome=se.status,
                        error=EntityError(code="DeployFailed", message="The deployment failed.")
                        if se.status == "Failed"
                        else None,
                    ),
                )
            for ve in self.seed.voice_endpoints:
                created = self.days_from_start(-ve.created_days_ago)
                resource.voice_endpoints[ve.id] = VoiceEndpoint(
                    id=ve.id,
                    display_name=ve.display_name or None,
                    description=ve.description or None,
                    project_id=ve.project_id,
                    model_id=ve.model_id,
                    kind=ve.kind,
                    created=created,
                    action=Action(kind="deploy", started=created, outcome=ve.status),
                )

    # -- the catalogue as one resource sees it ------------------------------------------------------------

    def projects_of(self, r: ResourceState) -> dict[str, SeedProject]:
        return _catalogue(self.projects, r.deleted_projects, r.projects, {}, 0.0)

    def custom_models_of(self, r: ResourceState, now: float) -> dict[str, SeedCustomModel]:
        return _catalogue(self.custom_models, r.deleted_models, r.custom_models, r.model_training, now)

    def voice_projects_of(self, r: ResourceState) -> dict[str, SeedVoiceProject]:
        return _catalogue(self.voice_projects, r.deleted_voice_projects, r.voice_projects, {}, 0.0)

    def voice_models_of(self, r: ResourceState, now: float) -> dict[str, SeedVoiceModel]:
        return _catalogue(
            self.voice_models, r.deleted_voice_models, r.voice_models, r.voice_model_training, now
        )

    def days_ago(self, now: float) -> float:
        """`created_days_ago` of an entity created at `now` (negative once the clock passed the start)."""
        return (self.started_at - now) / DAY

    def expire_endpoints(self, resource: ResourceState, now: float) -> None:
        """Deletes the resource's speech endpoints past their time to live, as Azure does on its own (done
        before each request to the resource, so no request sees one)."""
        gone = [e.id for e in resource.speech_endpoints.values() if e.time_to_live and e.expired(now)]
        for endpoint_id in gone:
            del resource.speech_endpoints[endpoint_id]

    # -- lookups --------------------------------------------------------------------------------------------

    def find_endpoint(
        self, endpoint_id: str
    ) -> Iterator[tuple[ResourceState, SpeechEndpoint | VoiceEndpoint]]:
        for resource in self.resources.values():
            if endpoint_id in resource.speech_endpoints:
                yield resource, resource.speech_endpoints[endpoint_id]
            if endpoint_id in resource.voice_endpoints:
                yield resource, resource.voice_endpoints[endpoint_id]

    def new_endpoint_id(self, resource: ResourceState) -> str:
        """A random-looking UUID derived from the seed, so a run with the same seed replays exactly."""
        while True:
            resource.id_counter += 1
            endpoint_id = seeded_uuid(self.config.seed, "endpoint", resource.name, resource.id_counter)
            if not any(True for _ in self.find_endpoint(endpoint_id)):
                return endpoint_id

    def new_operation_id(self, resource: ResourceState) -> str:
        """A custom voice Operation-Id for a request without one: derived from the seed like endpoint ids."""
        while True:
            resource.operation_counter += 1
            op_id = seeded_uuid(self.config.seed, "operation", resource.name, resource.operation_counter)
            if op_id not in resource.voice_operations:
                return op_id

    def deploy_fails(self, resource: ResourceState, what: str, forced: bool) -> bool:
        """Whether a new deploy fails: forced by the seed, else drawn from the failure probability."""
        resource.deploy_counter += 1
        if forced:
            return True
        p = self.config.deploy_failure_probability
        return (
            p > 0 and unit_float(self.config.seed, "deploy", resource.name, what, resource.deploy_counter) < p
        )

    # -- persistence ----------------------------------------------------------------------------------------

    def dump(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "version": 1,
            "resources": {name: r.model_dump(mode="json") for name, r in self.resources.items()},
        }
        if isinstance(self.clock, SimClock):
            data["clockOffset"] = self.clock.offset
        return data

    def restore(self, data: Any) -> None:
        """Take over a `dump()`; a ValueError (naming what is wrong) for anything else."""
        if not isinstance(data, dict):
            raise ValueError(f"the simulator's state is a JSON object, not {json_kind(data)}")
        missing = [key for key in ("version", "resources") if key not in data]
        if missing:
            raise ValueError(f"not the simulator's state: no {' and no '.join(missing)}")
        try:
            state = _StateFile.model_validate(data)
        except ValidationError as exc:
            raise ValueError(problems(exc)) from None
        for name, resource in state.resources.items():
            if name in self.resources:
                self.resources[name] = resource
        if isinstance(self.clock, SimClock):
            # A clock moved forward by the control API stays moved: endpoints must not go back in time.
            self.clock.offset = max(self.clock.offset, state.clock_offset)

    def save(self, path: Path) -> None:
        """Write the state file atomically; a StateFileError when it cannot be written."""
        tmp = _temporary(path)
        try:
            tmp.write_text(json.dumps(self.dump(), allow_nan=False), encoding="utf-8")
            os.replace(tmp, path)
        except OSError as exc:
            raise StateFileError(f"{path}: cannot save the state: {exc.strerror or exc}") from None

    def load(self, path: Path) -> bool:
        """Restore the state file if there is one (an empty file counts as none: `mktemp` makes those)."""
        try:
            text = path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return False
        except (OSError, UnicodeDecodeError) as exc:
            why = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
            raise StateFileError(f"{path}: not a readable simulator state file: {why}") from None
        if not text.strip():
            return False
        try:
            data = json.loads(text)
        except ValueError as exc:
            raise StateFileError(f"{path}: not a readable simulator state file: not JSON: {exc}") from None
        try:
            self.restore(data)
        except ValueError as exc:
            raise StateFileError(f"{path}: not a readable simulator state file: {exc}") from None
        return True


_Entity = TypeVar("_Entity", bound=BaseModel)


def _catalogue(
    seeded: dict[str, _Entity],
    deleted: set[str],
    own: dict[str, _Entity],
    training: dict[str, Action],
    now: float,
) -> dict[str, _Entity]:
    """What one resource sees: the seed minus what it deleted, plus what it created or updated, with the
    status of what it is still training computed for `now`."""
    out = {k: v for k, v in seeded.items() if k not in deleted}
    for k, v in own.items():
        action = training.get(k)
        out[k] = v if action is None else v.model_copy(update={"status": action.status_at(now)[0]})
    return out


def retry_after_seconds(left: float | None) -> int | None:
    """Retry-After for a non-terminal status: the seconds left in the current phase, between 1 and 60."""
    if left is None:
        return None
    return max(1, min(60, math.ceil(left)))
