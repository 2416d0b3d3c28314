"""Everything an operator deployment can configure, from `run` flags, environment variables and defaults.

Every setting has a flag on `azure-speech-operator run` and an environment variable
`AZURE_SPEECH_OPERATOR_<FIELD NAME IN CAPITALS>`; a flag wins over the environment, the environment over the
default. A bad value is refused with an error naming the flag or variable it came from, so a Deployment with a
typo fails at start instead of running with a surprise.

Durations accept `90`, `90s`, `5m`, `1h30m`, `30d` (a bare number is seconds); lists are comma-separated.
"""

from __future__ import annotations

import argparse
import fnmatch
import ipaddress
import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from azure_speech_operator.azure.config import (
    DEFAULT_ALLOWED_HOSTS,
    DEFAULT_LOG_DOWNLOAD_HOSTS,
    DEFAULT_REGION_URL,
    DEFAULT_VOICE_V3_REGION_URL,
    ClientSettings,
    check_region_url,
    region_url_refusal,
)

ENV_PREFIX = "AZURE_SPEECH_OPERATOR_"
PEERING_PRIORITY_MAX = 2**31 - 1
# kopf renews a peer's record 5-10 s before it expires: shorter lifetimes would renew it every second.
MIN_PEERING_LIFETIME = timedelta(seconds=10)
# The shortest drift interval used (flag or annotation): a shorter one is accepted, so tests and scaled-down
# runs keep their flags, and raised to this, with a warning at start for the flag.
MIN_DRIFT_INTERVAL = timedelta(seconds=10)
# A host name as the resolver takes it (RFC 1123 labels), for --metrics-address.
_HOST_NAME = re.compile(
    r"(?=.{1,253}$)[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*\.?"
)

# One requirement of a Kubernetes label selector (`key`, `!key`, `key=v`, `key==v`, `key!=v`,
# `key in (a,b)`, `key notin (a,b)`, `key>N`, `key<N` with N an integer), as the API server parses it.
_LABEL_NAME = r"[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?"
# The prefix is a DNS subdomain, at most 253 characters: the API server refuses a longer one only when kopf's
# watch asks with it, after "operator started".
_LABEL_PREFIX = r"(?=[-a-z0-9.]{1,253}/)[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*/"
_LABEL_KEY = rf"({_LABEL_PREFIX})?{_LABEL_NAME}"
_LABEL_VALUE = rf"({_LABEL_NAME})?"
_SELECTOR_REQUIREMENT = re.compile(
    rf"\s*(!\s*{_LABEL_KEY}|{_LABEL_KEY}\s*((==?|!=)\s*{_LABEL_VALUE}|[<>]\s*[-+]?[0-9]+"
    rf"|\s(in|notin)\s*\(\s*{_LABEL_NAME}(\s*,\s*{_LABEL_VALUE})*\s*\))?)\s*"
)
_SELECTOR_SPLIT = re.compile(r",(?![^()]*\))")  # commas between requirements, not inside `in (...)`

# A namespace is a DNS-1123 label. A glob (kopf's, i.e. fnmatch's) is made of what a label holds, `*`, `?` and
# closed `[...]` sets (`[!...]` negated); an unclosed `[` or a stray `]` would match no namespace at all.
_GLOB_CHARACTERS = frozenset("*?[]")
_NAMESPACE = re.compile(r"[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?")
_NAMESPACE_GLOB = re.compile(r"([-a-z0-9*?]|\[!?[-a-z0-9]+\])+")

Kind = Literal["str", "int", "bool", "duration", "list"]


class SettingsError(ValueError):
    """A setting could not be used; the message names the flag or environment variable."""


class OperatorSettings(BaseModel):
    """The operator's configuration. Durations are `timedelta`s; an empty `namespaces` means all."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    # Where to work.
    namespaces: tuple[str, ...] = ()
    # Reaching Azure (mapped onto the client's ClientSettings).
    allowed_hosts: tuple[str, ...] = DEFAULT_ALLOWED_HOSTS
    allow_http: bool = False
    log_download_hosts: tuple[str, ...] = DEFAULT_LOG_DOWNLOAD_HOSTS
    region_url: str = DEFAULT_REGION_URL
    voice_v3_region_url: str = DEFAULT_VOICE_V3_REGION_URL
    azure_budget_requests: int = Field(default=90, ge=1)
    azure_budget_window: timedelta = timedelta(seconds=10)
    azure_max_concurrency: int = Field(default=16, ge=1)
    max_passes_in_flight: int = Field(default=128, ge=1)
    azure_connect_timeout: timedelta = timedelta(seconds=10)
    azure_read_timeout: timedelta = timedelta(seconds=30)
    azure_request_deadline: timedelta = timedelta(seconds=60)
    log_download_deadline: timedelta = timedelta(hours=1)
    # Reconcile timing.
    drift_interval: timedelta = timedelta(hours=1)
    credentials_retry_interval: timedelta = timedelta(minutes=2)
    deletion_credentials_wait: timedelta = timedelta(minutes=10)
    model_expiry_window: timedelta = timedelta(days=30)
    model_check_interval: timedelta = timedelta(days=1)
    deploy_poll_interval: timedelta = timedelta(seconds=15)
    transient_backoff_cap: timedelta = timedelta(minutes=5)
    blocked_retry_base: timedelta = timedelta(minutes=5)
    blocked_retry_cap: timedelta = timedelta(minutes=30)
    waiting_retry_min: timedelta = timedelta(minutes=1)
    waiting_retry_max: timedelta = timedelta(minutes=5)
    voice_swap_grace_period: timedelta = timedelta(hours=24)
    # Credentials.
    workload_identity_namespaces: tuple[str, ...] = ()
    watch_credential_secrets: bool = True
    # Process.
    metrics_port: int = Field(default=8080, ge=0, le=65535)
    # Loopback: nothing outside the pod reaches /metrics unless asked (--metrics-address 0.0.0.0 in a pod, so
    # Prometheus and the kubelet's probes can).
    metrics_address: str = "127.0.0.1"
    peering: str | None = None
    # None: a random priority per process, so replicas started from one Deployment never tie (kopf pauses
    # every operator of a tied priority).
    peering_priority: int | None = Field(default=None, ge=0, le=PEERING_PRIORITY_MAX)
    # How long a silent peer counts as alive: the longest hand-over after a crash (docs/operations.md).
    peering_lifetime: timedelta = timedelta(seconds=60)
    # Sharding: only resources matching this Kubernetes label selector are listed and watched.
    label_selector: str | None = None
    log_level: Literal["debug", "info", "warning", "error"] = "info"
    log_format: Literal["text", "json"] = "text"

    @field_validator(
        "azure_budget_window",
        "azure_connect_timeout",
        "azure_read_timeout",
        "azure_request_deadline",
        "log_download_deadline",
        "drift_interval",
        "credentials_retry_interval",
        "model_check_interval",
        "deploy_poll_interval",
        "transient_backoff_cap",
        "blocked_retry_base",
        "blocked_retry_cap",
        "waiting_retry_min",
        "waiting_retry_max",
    )
    @classmethod
    def _positive(cls, value: timedelta) -> timedelta:
        if value <= timedelta(0):
            raise ValueError("must be longer than zero")
        return value

    @field_validator("deletion_credentials_wait", "model_expiry_window", "voice_swap_grace_period")
    @classmethod
    def _not_negative(cls, value: timedelta) -> timedelta:
        if value < timedelta(0):
            raise ValueError("must not be negative")
        return value

    @field_validator("namespaces", "workload_identity_namespaces")
    @classmethod
    def _namespace_patterns(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        for pattern in value:
            check_namespace_pattern(pattern)
        return value

    @field_validator("allowed_hosts", "log_download_hosts")
    @classmethod
    def _host_patterns(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        if not value:
            raise ValueError("at least one host pattern is needed")
        try:  # the client owns the pattern syntax: let it judge
            ClientSettings(allowed_hosts=value, log_download_hosts=value)
        except ValidationError as exc:
            raise ValueError(exc.errors()[0]["msg"].removeprefix("Value error, ")) from None
        return tuple(p.strip().lower() for p in value)

    @field_validator("region_url", "voice_v3_region_url")
    @classmethod
    def _region_url(cls, value: str) -> str:
        return check_region_url(value)

    @field_validator("metrics_address")
    @classmethod
    def _metrics_address(cls, value: str) -> str:
        return check_listen_address(value)

    @field_validator("peering")
    @classmethod
    def _peering_name(cls, value: str | None) -> str | None:
        if value is not None and not re.fullmatch(r"[a-z0-9]([a-z0-9.-]{0,251}[a-z0-9])?", value):
            raise ValueError(f"{value!r} is not a valid Kubernetes object name")
        return value

    @field_validator("peering_lifetime")
    @classmethod
    def _peering_lifetime(cls, value: timedelta) -> timedelta:
        if value < MIN_PEERING_LIFETIME or value.total_seconds() % 1:
            raise ValueError(f"must be whole seconds, at least {MIN_PEERING_LIFETIME.seconds}s")
        return value

    @field_validator("label_selector")
    @classmethod
    def _label_selector(cls, value: str | None) -> str | None:
        if value is None or not value.strip():
            return None  # blank: no selector (a chart value left empty)
        for requirement in _SELECTOR_SPLIT.split(value):
            if not _SELECTOR_REQUIREMENT.fullmatch(requirement):
                raise ValueError(
                    f"{requirement.strip()!r} is not a label selector requirement "
                    "(key, !key, key=value, key!=value, key in (a,b), key notin (a,b), key>N, key<N)"
                )
        return value.strip()

    @model_validator(mode="after")
    def _ranges(self) -> OperatorSettings:
        if self.blocked_retry_base > self.blocked_retry_cap:
            raise ValueError("blocked_retry_base must not be longer than blocked_retry_cap")
        if self.waiting_retry_min > self.waiting_retry_max:
            raise ValueError("waiting_retry_min must not be longer than waiting_retry_max")
        return self

    @property
    def create_in_flight(self) -> timedelta:
        """The longest a create may be in flight after its create-pending mark: sent within the client's
        longest pause for a throttled budget, then connecting and answering within their limits."""
        pause = timedelta(seconds=ClientSettings.model_fields["max_pause_wait_s"].default)
        return pause + self.azure_connect_timeout + self.azure_request_deadline

    def client_settings(self) -> ClientSettings:
        """The Azure client's view of these settings."""
        return ClientSettings(
            allowed_hosts=self.allowed_hosts,
            allow_http=self.allow_http,
            log_download_hosts=self.log_download_hosts,
            region_url=self.region_url,
            voice_v3_region_url=self.voice_v3_region_url,
            budget_requests=self.azure_budget_requests,
            budget_window_s=self.azure_budget_window.total_seconds(),
            max_concurrency=self.azure_max_concurrency,
            connect_timeout_s=self.azure_connect_timeout.total_seconds(),
            read_timeout_s=self.azure_read_timeout.total_seconds(),
            request_deadline_s=self.azure_request_deadline.total_seconds(),
            download_deadline_s=self.log_download_deadline.total_seconds(),
        )

    def workload_identity_allowed(self, namespace: str) -> bool:
        """Whether resources in `namespace` may borrow the operator's own Entra identity."""
        allowed = False
        for pattern in self.workload_identity_namespaces:
            if pattern.startswith("!"):
                if fnmatch.fnmatchcase(namespace, pattern[1:]):
                    return False
            elif fnmatch.fnmatchcase(namespace, pattern):
                allowed = True
        return allowed


def check_namespace_pattern(pattern: str) -> None:
    """A namespace name (`team-a`) or glob (`team-*`, `team-[ab]`), either after `!` for an exclusion."""
    body = pattern.removeprefix("!")
    if not body:
        raise ValueError(f"{pattern!r} names no namespace (leave the setting out to watch all of them)")
    if not _GLOB_CHARACTERS & set(body):
        if not _NAMESPACE.fullmatch(body):
            raise ValueError(
                f"{pattern!r} is not a namespace name (lowercase letters, digits and '-', starting and "
                "ending with a letter or digit, at most 63 characters)"
            )
    elif len(body) > 63 or not _NAMESPACE_GLOB.fullmatch(body):
        raise ValueError(
            f"{pattern!r} is not a namespace glob (a name with *, ? or closed [...] sets, e.g. team-*, "
            "team-[ab])"
        )


def check_listen_address(value: str) -> str:
    """An address to bind: an IPv4 or IPv6 address (`[::1]` too) or a host name (`localhost`)."""
    text = value.strip()
    literal = text[1:-1] if text.startswith("[") and text.endswith("]") else text
    try:
        return str(ipaddress.ip_address(literal))
    except ValueError:
        pass
    # an all-digit last label is no name: the resolver would read `10.1` as the address 10.0.0.1
    if (
        text.startswith("[")
        or not _HOST_NAME.fullmatch(text.lower())
        or text.rstrip(".").split(".")[-1].isdigit()
    ):
        raise ValueError(
            f"{value!r} is not an IP address or host name (e.g. 127.0.0.1, 0.0.0.0, ::, localhost)"
        )
    return text.lower()


@dataclass(frozen=True)
class Option:
    """How one setting is spelled on the command line and in the environment."""

    field: str
    kind: Kind
    help: str
    metavar: str | None = None
    flag_name: str | None = None  # default: the field name with dashes
    repeatable: bool = False
    default_text: str | None = None  # the default as --help shows it, where the value alone would mislead
    # a list whose empty items are judged (refused), not dropped: an empty `--namespace ''` is a mistake,
    # and dropping it would widen the setting to everything
    keeps_empty_items: bool = False
    # a blank variable is the setting left unset (a manifest's `value: ""`), where judging its one empty item
    # would refuse what always meant the default
    blank_env_is_unset: bool = False

    @property
    def flag(self) -> str:
        return "--" + (self.flag_name or self.field.replace("_", "-"))

    @property
    def env(self) -> str:
        return ENV_PREFIX + self.field.upper()


OPTIONS: tuple[Option, ...] = (
    Option(
        "namespaces",
        "list",
        "namespace to watch, or a glob like kopf's (`team-*`, `!kube-system`); repeatable",
        "NAMESPACE",
        flag_name="namespace",
        repeatable=True,
        default_text="all namespaces",
        keeps_empty_items=True,
        blank_env_is_unset=True,
    ),
    Option(
        "allowed_hosts",
        "list",
        "comma-separated host patterns the operator may call (`*.example.com`, `127.0.0.1:8080`)",
        "PATTERNS",
    ),
    Option(
        "allow_http",
        "bool",
        "allow plain http to every allowed host that is not Azure's (for a simulator); one pattern alone: "
        "http://PATTERN in --allowed-hosts",
    ),
    Option(
        "log_download_hosts",
        "list",
        "comma-separated host patterns content-log SAS URLs may point to (used by the logs command only)",
        "PATTERNS",
    ),
    Option(
        "region_url",
        "str",
        "where spec.azure.region leads ({region} is replaced): another cloud's host, e.g. "
        "https://{region}.api.cognitive.azure.cn, or a simulator; the host must be in --allowed-hosts",
        "URL",
    ),
    Option(
        "voice_v3_region_url",
        "str",
        "as --region-url, for VoiceEndpoints on custom voice API v3.0",
        "URL",
    ),
    Option(
        "azure_budget_requests", "int", "requests allowed per budget window per Azure host and credential"
    ),
    Option("azure_budget_window", "duration", "the sliding window of the Azure request budget"),
    Option("azure_max_concurrency", "int", "Azure requests in flight at once"),
    Option(
        "max_passes_in_flight",
        "int",
        "reconcile passes running at once (the others wait before they copy their object; a pass waiting for "
        "its Speech resource's budget gives its place up meanwhile)",
    ),
    Option("azure_connect_timeout", "duration", "timeout to connect to Azure"),
    Option("azure_read_timeout", "duration", "timeout to read an Azure answer (restarts with every byte)"),
    Option(
        "azure_request_deadline",
        "duration",
        "longest an Azure request may take from sending to the last byte of its answer",
    ),
    Option("log_download_deadline", "duration", "longest one content-log download may take (logs command)"),
    Option(
        "drift_interval",
        "duration",
        "how often each resource is compared with Azure (jittered); at least "
        f"{MIN_DRIFT_INTERVAL.seconds}s, a shorter value is raised to it with a warning",
    ),
    Option("credentials_retry_interval", "duration", "retry interval for resources missing credentials"),
    Option(
        "deletion_credentials_wait",
        "duration",
        "how long a deletion waits for missing credentials before it releases the resource (orphaning)",
    ),
    Option("model_expiry_window", "duration", "ModelExpiring is shown this long before a model expires"),
    Option("model_check_interval", "duration", "how often a deployed model's expiry date is read"),
    Option(
        "deploy_poll_interval",
        "duration",
        "polls of Azure's work come after a quarter of the time waited, at least a third of this, when "
        "Azure sends no Retry-After (at most the transient cap)",
    ),
    Option("transient_backoff_cap", "duration", "longest backoff after transient errors"),
    Option("blocked_retry_base", "duration", "first retry delay of blocked errors (quota, 401/403)"),
    Option("blocked_retry_cap", "duration", "longest retry delay of blocked errors"),
    Option("waiting_retry_min", "duration", "shortest retry delay while Azure is busy"),
    Option("waiting_retry_max", "duration", "longest retry delay while Azure is busy"),
    Option("voice_swap_grace_period", "duration", "default life of the old voice endpoint after a swap"),
    Option(
        "workload_identity_namespaces",
        "list",
        "comma-separated namespaces (globs) whose resources may use workloadIdentity",
        "NAMESPACES",
    ),
    Option(
        "watch_credential_secrets",
        "bool",
        "watch Secrets labelled speech.azure-operator.io/credentials=true to retry blocked resources at once",
    ),
    Option("metrics_port", "int", "port of /metrics, /healthz and /readyz; 0 turns the server off"),
    Option(
        "metrics_address",
        "str",
        "address the metrics server binds to: an IPv4 or IPv6 address (0.0.0.0 or :: for all) or a host name",
        "ADDRESS",
    ),
    Option(
        "label_selector",
        "str",
        "serve only SpeechEndpoints and VoiceEndpoints matching this label selector (sharding; e.g. "
        "shard=a or 'shard in (a,b)')",
        "SELECTOR",
        default_text="all",
    ),
    Option("peering", "str", "kopf peering object name", "NAME", default_text="standalone (no peering)"),
    Option(
        "peering_priority",
        "int",
        "this process's kopf peering priority: the highest live one works, the others pause",
        "N",
        default_text="random per process",
    ),
    Option(
        "peering_lifetime",
        "duration",
        "how long a peer that stopped renewing its record counts as alive (the longest hand-over after a "
        "crash); each replica renews it 5-10 s before it expires",
    ),
    Option("log_level", "str", "debug, info, warning or error", "LEVEL"),
    Option("log_format", "str", "text or json", "FORMAT"),
)
OPTIONS_BY_FIELD = {o.field: o for o in OPTIONS}

_DURATION_UNITS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0}
_DURATION_PART = re.compile(r"(\d+(?:\.\d+)?)(ms|s|m|h|d)")


# The longest duration any setting, annotation or field takes: far beyond any use, and far enough from
# datetime's end (year 9999) that a time this far from now is always a date.
MAX_DURATION = timedelta(days=36500)


def parse_duration(text: str) -> timedelta:
    """`90`, `90s`, `1.5m`, `1h30m`, `30d`, `250ms` -> timedelta. A bare number is seconds."""
    value = text.strip().lower()
    if not value:
        raise ValueError("is empty; expected a duration like 90s, 5m, 1h or 30d")
    try:
        seconds = float(value)
    except ValueError:
        pos, seconds = 0, 0.0
        for match in _DURATION_PART.finditer(value):
            if match.start() != pos:
                break
            seconds += float(match.group(1)) * _DURATION_UNITS[match.group(2)]
            pos = match.end()
        if pos != len(value) or pos == 0:
            raise ValueError(f"{text!r} is not a duration; expected e.g. 90s, 5m, 1h30m or 30d") from None
    if not math.isfinite(seconds):
        raise ValueError(f"{text!r} is not a finite duration")
    if seconds > MAX_DURATION.total_seconds():
        raise ValueError(f"{text!r} is too long; at most {MAX_DURATION.days}d")
    return timedelta(seconds=seconds)


def parse_bool(text: str) -> bool:
    value = text.strip().lower()
    if value in ("1", "true", "yes", "on"):
        return True
    if value in ("0", "false", "no", "off"):
        return False
    raise ValueError(f"{text!r} is not a boolean; expected true or false")


def _split_list(values: Sequence[str], keep_empty: bool = False) -> tuple[str, ...]:
    parts = (part.strip() for value in values for part in value.split(","))
    return tuple(part for part in parts if part or keep_empty)


def _convert(option: Option, raw: Any) -> Any:
    """Turn a flag's or variable's text into the field's type (pydantic validates the result)."""
    if option.kind == "list":
        return _split_list(raw if isinstance(raw, list) else [raw], option.keeps_empty_items)
    if option.kind == "bool":
        return raw if isinstance(raw, bool) else parse_bool(raw)
    if option.kind == "duration":
        # a leading `-` is read, so that `-5s` is refused for being negative rather than for its spelling
        text = str(raw).strip()
        return -parse_duration(text[1:]) if re.match(r"-[0-9.]", text) else parse_duration(text)
    if option.kind == "int":
        try:
            return int(str(raw).strip())
        except ValueError:
            raise ValueError(f"{raw!r} is not an integer") from None
    value = str(raw).strip()
    return value.lower() if option.field in ("log_level", "log_format") else value


def add_arguments(parser: argparse.ArgumentParser, fields: Sequence[str] | None = None) -> None:
    """One flag per setting (or per setting in `fields`). Defaults stay None so that an absent flag lets the
    environment decide."""
    group = parser.add_argument_group("operator settings (each also read from AZURE_SPEECH_OPERATOR_<NAME>)")
    for option in OPTIONS:
        if fields is not None and option.field not in fields:
            continue
        default = OperatorSettings.model_fields[option.field].default
        shown = option.default_text or _show_default(default)
        help_text = f"{option.help} [env {option.env}; default {shown}]"
        if option.kind == "bool":
            group.add_argument(
                option.flag,
                dest=option.field,
                action=argparse.BooleanOptionalAction,
                default=None,
                help=help_text,
            )
        elif option.repeatable:
            group.add_argument(
                option.flag,
                dest=option.field,
                action="append",
                default=None,
                metavar=option.metavar,
                help=help_text,
            )
        else:
            group.add_argument(
                option.flag,
                dest=option.field,
                default=None,
                metavar=option.metavar or ("DURATION" if option.kind == "duration" else option.kind.upper()),
                help=help_text,
            )


def _show_default(value: object) -> str:
    if isinstance(value, timedelta):
        return format_duration(value)
    if isinstance(value, tuple):
        return ",".join(value) if value else "none"
    return str(value)


def format_duration(value: timedelta) -> str:
    seconds = value.total_seconds()
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size and seconds % size == 0:
            return f"{int(seconds // size)}{unit}"
    return f"{seconds:g}s"


def load_settings(
    args: argparse.Namespace | None, environ: Mapping[str, str], *, fields: Sequence[str] | None = None
) -> OperatorSettings:
    """Flags (an argparse namespace from `add_arguments`) over environment over defaults. With `fields`, only
    those settings are read (the others keep their defaults): a command that uses a few settings is not
    stopped by a bad value of a variable meant for `run`."""
    values: dict[str, Any] = {}
    sources: dict[str, str] = {}
    for option in OPTIONS:
        if fields is not None and option.field not in fields:
            continue
        raw: Any = _flag_text(option, getattr(args, option.field, None) if args is not None else None)
        source = option.flag
        if raw is None and option.env in environ:
            raw, source = environ[option.env], option.env
            if option.blank_env_is_unset and not raw.strip():
                continue
        if raw is None:
            continue
        sources[option.field] = source
        try:
            values[option.field] = _convert(option, raw)
        except ValueError as exc:
            raise SettingsError(f"{source}: {exc}") from None
    try:
        return OperatorSettings(**values)
    except ValidationError as exc:
        raise SettingsError(_describe(exc, sources)) from None


def _flag_text(option: Option, raw: Any) -> Any:
    """A flag's value as typed: argparse before Python 3.13 gives `[]` for the value `--` (`--peering=--`)."""
    if option.repeatable and isinstance(raw, list):
        return ["--" if item == [] else item for item in raw]
    return "--" if raw == [] else raw


def setting_source(field: str, args: argparse.Namespace | None, environ: Mapping[str, str]) -> str:
    """The flag or environment variable a setting's value came from, as `load_settings` chose it."""
    option = OPTIONS_BY_FIELD[field]
    if args is not None and getattr(args, field, None) is not None:
        return option.flag
    return option.env if option.env in environ else option.flag


def adjustment_warnings(
    settings: OperatorSettings, args: argparse.Namespace | None, environ: Mapping[str, str]
) -> list[str]:
    """Values accepted but not used as given, each as a line naming where it came from."""
    warnings = []
    # A region URL no allowed pattern admits stalls every resource named by a region (HostNotAllowed): said
    # at start. Only a warning: an allow-list narrowed to custom domains is a deliberate choice (the
    # defaults are not judged at all).
    for name, default in (
        ("region_url", DEFAULT_REGION_URL),
        ("voice_v3_region_url", DEFAULT_VOICE_V3_REGION_URL),
    ):
        value = getattr(settings, name)
        refusal = (
            None
            if value == default
            else region_url_refusal(value, settings.allowed_hosts, settings.allow_http)
        )
        if refusal is not None:
            see = " and ".join(setting_source(f, args, environ) for f in ("allowed_hosts", "allow_http"))
            warnings.append(
                f"{setting_source(name, args, environ)} {value}: {refusal} (see {see}): a resource named "
                "by a region stalls on HostNotAllowed"
            )
    if settings.drift_interval < MIN_DRIFT_INTERVAL:
        minimum = format_duration(MIN_DRIFT_INTERVAL)
        warnings.append(
            f"{setting_source('drift_interval', args, environ)} {format_duration(settings.drift_interval)} "
            f"is below the minimum drift interval: {minimum} is used"
        )
    return warnings


def _describe(exc: ValidationError, sources: Mapping[str, str]) -> str:
    messages = []
    for error in exc.errors():
        field = str(error["loc"][0]) if error["loc"] else ""
        message = str(error["msg"]).removeprefix("Value error, ")
        if field:
            messages.append(f"{sources.get(field, OPTIONS_BY_FIELD[field].flag)}: {message}")
        else:
            for option in OPTIONS:
                # whole names only: region_url is also the end of voice_v3_region_url
                message = re.sub(rf"\b{option.field}\b", f"{option.flag} ({option.env})", message)
            messages.append(message)
    return "; ".join(messages)
