"""Configuration of the simulator: the Speech resources it hosts and the realism knobs.

Durations are the unscaled, realistic values; `time_scale` multiplies every one of them when an action starts.
Rate limits are not scaled: they are always in real seconds.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

FaultKind = Literal["429", "500", "502", "503", "slow", "timeout", "reset", "malformed"]
FAULT_KINDS: tuple[FaultKind, ...] = ("429", "500", "502", "503", "slow", "timeout", "reset", "malformed")

DEFAULT_RESOURCE = "default"
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$")


class RateLimit(BaseModel):
    """A sliding window: at most `requests` per `seconds` real seconds. requests=0 turns it off."""

    model_config = ConfigDict(frozen=True)
    requests: int = Field(default=100, ge=0)
    seconds: float = Field(default=10.0, gt=0)

    @classmethod
    def parse(cls, text: str) -> RateLimit:
        """`N/S` (e.g. `100/10`), or `0` for no limit."""
        text = text.strip()
        if text == "0":
            return cls(requests=0)
        match = re.fullmatch(r"(\d+)\s*/\s*(\d+(?:\.\d+)?)", text)
        if not match or float(match.group(2)) <= 0:
            raise ValueError(f"rate limit must look like N/S, S above 0 (e.g. 100/10), or 0; got {text!r}")
        return cls(requests=int(match.group(1)), seconds=float(match.group(2)))

    def __str__(self) -> str:
        return "0" if self.requests == 0 else f"{self.requests}/{self.seconds:g}"


class ResourceConfig(BaseModel):
    """One simulated Speech resource. No `keys`: any non-empty key is accepted (single resource only)."""

    model_config = ConfigDict(frozen=True)
    name: str = DEFAULT_RESOURCE
    keys: tuple[str, ...] = ()
    bearer_tokens: tuple[str, ...] = ()
    deployment_quota: int = Field(default=50, ge=0)
    voice_endpoint_quota: int = Field(default=50, ge=0)
    rate_limit: RateLimit | None = None  # None: the simulator-wide rate limit

    @field_validator("name")
    @classmethod
    def _name_ok(cls, value: str) -> str:
        if not _NAME.match(value):
            raise ValueError(f"resource name {value!r} must be 1-63 letters, digits, '.', '_' or '-'")
        return value

    @field_validator("keys", "bearer_tokens")
    @classmethod
    def _no_empty(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        if any(not k for k in value):
            raise ValueError("keys and tokens must not be empty strings")
        return value

    def __repr__(self) -> str:  # keys never print
        return f"ResourceConfig(name={self.name!r}, keys=<{len(self.keys)} hidden>)"

    __str__ = __repr__


class Durations(BaseModel):
    """Realistic, unscaled durations in seconds."""

    model_config = ConfigDict(frozen=True)
    speech_queue: float = Field(default=30.0, ge=0, description="NotStarted before a deploy runs")
    speech_deploy: float = Field(default=300.0, ge=0, description="Running of a first deployment")
    speech_redeploy: float = Field(default=180.0, ge=0, description="Running of a model change")
    voice_queue: float = Field(default=10.0, ge=0, description="NotStarted before a voice deploy runs")
    voice_deploy: float = Field(default=300.0, ge=0, description="Running of a voice deployment")
    voice_suspend: float = Field(default=5.0, ge=0, description="Disabling of a suspend")
    voice_resume: float = Field(default=300.0, ge=0, description="Running of a resume")
    speech_training: float = Field(
        default=1800.0, ge=0, description="Running of a custom speech model training"
    )
    voice_training: float = Field(default=3600.0, ge=0, description="Running of a voice model training")


class SimulatorConfig(BaseModel):
    """Everything the simulator can be told. Build one in tests, or let the CLI build it from flags."""

    model_config = ConfigDict(validate_assignment=True)

    resources: tuple[ResourceConfig, ...] = (ResourceConfig(),)
    time_scale: float = Field(default=1.0, gt=0)
    durations: Durations = Durations()
    rate_limit: RateLimit = RateLimit()
    fault_rate: float = Field(default=0.0, ge=0, le=1)
    fault_kinds: tuple[FaultKind, ...] = FAULT_KINDS
    slow_seconds: float = Field(default=2.0, ge=0, description="delay of a 'slow' fault, real seconds")
    timeout_seconds: float = Field(default=30.0, ge=0, description="hang of a 'timeout' fault, real seconds")
    deploy_failure_probability: float = Field(default=0.0, ge=0, le=1)
    seed: int = 0
    regional_host: str | None = None
    region: str = "westus"  # used in links (stt.speech.microsoft.com) when the host names no region
    state_file: Path | None = None
    seed_file: Path | None = None

    @model_validator(mode="after")
    def _unique_resources(self) -> SimulatorConfig:
        names = [r.name for r in self.resources]
        if len(set(names)) != len(names):
            raise ValueError(f"resource names must be unique, got {names}")
        if not self.resources:
            raise ValueError("at least one resource is needed")
        keys = [k for r in self.resources for k in r.keys]
        if len(set(keys)) != len(keys):
            raise ValueError("a key can belong to one resource only")
        anonymous = [r.name for r in self.resources if not r.keys]
        if anonymous and len(self.resources) > 1:
            raise ValueError(f"with several resources every resource needs keys; {anonymous} have none")
        return self

    @field_validator("regional_host")
    @classmethod
    def _host_ok(cls, value: str | None) -> str | None:
        if value is not None and (not value or "/" in value.removeprefix("https://").removeprefix("http://")):
            raise ValueError(
                f"regional_host must be a host name like westus.api.cognitive.microsoft.com: {value!r}"
            )
        return value

    def scaled(self, seconds: float) -> float:
        return seconds * self.time_scale
