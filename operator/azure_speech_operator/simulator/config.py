"""Configuration of the simulator: the Speech resources it hosts and the realism knobs.

Durations are the unscaled, realistic values; `time_scale` multiplies every one of them when an action starts.
Rate limits are not scaled: they are always in real seconds.

Every number has a finite upper bound (docs/simulator.md, "Limits"): an infinite or absurd value would only
break the simulator later (dates past the year 9999, sleeps that overflow), so it is refused up front.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)

FaultKind = Literal["429", "500", "502", "503", "slow", "timeout", "reset", "malformed"]
FAULT_KINDS: tuple[FaultKind, ...] = ("429", "500", "502", "503", "slow", "timeout", "reset", "malformed")

DEFAULT_RESOURCE = "default"
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$")
# An Azure region name as it appears in host names (westus, westeurope, usgovvirginia): one DNS label.
_REGION = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?$")

# Upper bounds (docs/simulator.md, "Limits").
MAX_TIME_SCALE = 1000.0
MAX_DURATION_SECONDS = 365 * 86400.0  # one (unscaled) phase: a year
MAX_FAULT_SECONDS = 3600.0  # the real-time delay of a slow or timeout fault: an hour
MAX_RATE_WINDOW_SECONDS = 86400.0  # a rate-limit window: a day


class RateLimit(BaseModel):
    """A sliding window: at most `requests` per `seconds` real seconds. requests=0 turns it off."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    requests: int = Field(default=100, ge=0)
    seconds: float = Field(default=10.0, gt=0, le=MAX_RATE_WINDOW_SECONDS, allow_inf_nan=False)

    @classmethod
    def parse(cls, text: str) -> RateLimit:
        """`N/S` (e.g. `100/10`), or `0` for no limit."""
        text = text.strip()
        if text == "0":
            return cls(requests=0)
        match = re.fullmatch(r"(\d+)\s*/\s*(\d+(?:\.\d+)?)", text)
        if not match or not 0 < float(match.group(2)) <= MAX_RATE_WINDOW_SECONDS:
            raise ValueError(
                f"rate limit must look like N/S, S above 0 and at most {MAX_RATE_WINDOW_SECONDS:g} "
                f"(e.g. 100/10), or 0; got {text!r}"
            )
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
    def _no_empty(cls, value: tuple[str, ...], info: ValidationInfo) -> tuple[str, ...]:
        if any(not k for k in value):
            what = "a bearer token" if info.field_name == "bearer_tokens" else "a key"
            raise ValueError(f"{what} must not be an empty string")
        return value

    def __repr__(self) -> str:  # keys never print
        return f"ResourceConfig(name={self.name!r}, keys=<{len(self.keys)} hidden>)"

    __str__ = __repr__


def _seconds(default: float, description: str) -> Any:
    return Field(default=default, ge=0, le=MAX_DURATION_SECONDS, allow_inf_nan=False, description=description)


class Durations(BaseModel):
    """Realistic, unscaled durations in seconds."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    speech_queue: float = _seconds(30.0, "NotStarted before a deploy runs")
    speech_deploy: float = _seconds(300.0, "Running of a first deployment")
    speech_redeploy: float = _seconds(180.0, "Running of a model change")
    voice_queue: float = _seconds(10.0, "NotStarted before a voice deploy runs")
    voice_deploy: float = _seconds(300.0, "Running of a voice deployment")
    voice_suspend: float = _seconds(5.0, "Disabling of a suspend")
    voice_resume: float = _seconds(300.0, "Running of a resume")
    speech_training: float = _seconds(1800.0, "Running of a custom speech model training")
    voice_training: float = _seconds(3600.0, "Running of a voice model training")


class SimulatorConfig(BaseModel):
    """Everything the simulator can be told. Build one in tests, or let the CLI build it from flags."""

    model_config = ConfigDict(validate_assignment=True)

    resources: tuple[ResourceConfig, ...] = (ResourceConfig(),)
    time_scale: float = Field(default=1.0, gt=0, le=MAX_TIME_SCALE, allow_inf_nan=False)
    durations: Durations = Durations()
    rate_limit: RateLimit = RateLimit()
    fault_rate: float = Field(default=0.0, ge=0, le=1, allow_inf_nan=False)
    fault_kinds: tuple[FaultKind, ...] = FAULT_KINDS
    slow_seconds: float = Field(
        default=2.0,
        ge=0,
        le=MAX_FAULT_SECONDS,
        allow_inf_nan=False,
        description="delay of a 'slow' fault, real seconds",
    )
    timeout_seconds: float = Field(
        default=30.0,
        ge=0,
        le=MAX_FAULT_SECONDS,
        allow_inf_nan=False,
        description="hang of a 'timeout' fault, real seconds",
    )
    deploy_failure_probability: float = Field(default=0.0, ge=0, le=1, allow_inf_nan=False)
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

    @field_validator("fault_kinds")
    @classmethod
    def _some_kinds(cls, value: tuple[FaultKind, ...]) -> tuple[FaultKind, ...]:
        if not value:
            # An empty list would silently turn a fault rate off: say so with the knob meant for it.
            raise ValueError("at least one fault kind is needed (a fault rate of 0 turns random faults off)")
        return value

    @field_validator("region")
    @classmethod
    def _region_ok(cls, value: str) -> str:
        if not _REGION.match(value):
            raise ValueError(f"region must be a region name like westus (letters, digits, '-'): {value!r}")
        return value

    @field_validator("regional_host")
    @classmethod
    def _host_ok(cls, value: str | None) -> str | None:
        # the value goes into every self, Location and Operation-Location URL as it is
        if value is not None and not _is_regional_host(value):
            raise ValueError(
                "regional host must be a host name (westus.api.cognitive.microsoft.com) or an IP address, "
                f"optionally with :PORT (1-65535) and http:// or https:// before it: {value!r}"
            )
        return value

    def scaled(self, seconds: float) -> float:
        return seconds * self.time_scale


def _is_regional_host(value: str) -> bool:
    """`[http[s]://]HOST[:PORT]`, HOST a host name or an IP address: an IPv6 address is bracketed when a
    scheme or port goes with it (alone it is bracketed in links as it is written into them)."""
    from ..settings import check_listen_address

    scheme, sep, rest = value.partition("://")
    if (sep and scheme not in ("http", "https")) or any(c.isspace() for c in value):
        return False
    host, port = _split_port(rest if sep else value)
    try:
        ipv6 = ":" in check_listen_address(host)
    except ValueError:
        return False
    if port is not None and not _is_port(port):
        return False
    if host.startswith("["):
        return ipv6
    return not ipv6 or (not sep and port is None)


def _split_port(text: str) -> tuple[str, str | None]:
    """`host:port` or `[v6]:port` split at the port; a bare IPv6 address has none."""
    if text.startswith("[") and "]:" in text:
        host, _, port = text.partition("]:")
        return f"{host}]", port
    if text.count(":") == 1:
        host, _, port = text.partition(":")
        return host, port
    return text, None


def _is_port(text: str) -> bool:
    return re.fullmatch(r"[0-9]{1,5}", text) is not None and 1 <= int(text) <= 65535


def problems(exc: ValidationError, where: Callable[[tuple[int | str, ...]], str] | None = None) -> str:
    """A ValidationError on one line, `where: what (got value)` joined by `; `: pydantic's own text spans
    several lines and links its docs. `where` names a location (a flag, a key); the default dots it."""
    out = []
    for error in exc.errors():
        message = str(error["msg"]).removeprefix("Value error, ")
        if error["type"] == "extra_forbidden":
            message = "unknown key"
        value = error.get("input")
        shown = isinstance(value, dict | list | tuple) or repr(value) in message
        got = "" if shown else f" (got {_short(value)})"
        place = where(error["loc"]) if where else ".".join(str(part) for part in error["loc"])
        out.append(f"{place}: {message}{got}" if place else f"{message}{got}")
    return "; ".join(out)


def _short(value: object) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def json_kind(value: object) -> str:
    """What a parsed JSON (or YAML) value is, for error messages: `a list`, `null` ..."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "an object"
    return type(value).__name__
