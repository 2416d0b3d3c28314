"""Settings of the Azure client layer: which hosts may be called, the request budget, timeouts and limits.

The operator maps `azure-speech-operator run --allowed-hosts ... --allow-http` and the matching environment
variables onto `ClientSettings`; the client itself knows nothing of flags or Kubernetes.
"""

from __future__ import annotations

import fnmatch

from pydantic import BaseModel, ConfigDict, Field, field_validator

DEFAULT_ALLOWED_HOSTS = (
    "*.api.cognitive.microsoft.com",
    "*.cognitiveservices.azure.com",
    "*.customvoice.api.speech.microsoft.com",
)
# Regional (shared) hosts: Microsoft Entra tokens are refused there, they need a custom domain.
REGIONAL_HOST_PATTERNS = ("*.api.cognitive.microsoft.com", "*.customvoice.api.speech.microsoft.com")
# Where Azure stores content logs; their SAS URLs are fetched only by `download_log`, never with a key.
DEFAULT_LOG_DOWNLOAD_HOSTS = ("*.blob.core.windows.net",)


class ClientSettings(BaseModel):
    """Everything that shapes how the operator talks to Azure, whatever resource it manages."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    allowed_hosts: tuple[str, ...] = DEFAULT_ALLOWED_HOSTS
    allow_http: bool = False
    log_download_hosts: tuple[str, ...] = DEFAULT_LOG_DOWNLOAD_HOSTS
    # A sliding window per (host, credential): at most budget_requests in any budget_window_s seconds.
    budget_requests: int = Field(default=90, ge=1)
    budget_window_s: float = Field(default=10.0, gt=0)
    # A 429 without Retry-After pauses its limiter this long.
    throttle_pause_s: float = Field(default=1.0, ge=0)
    # A call that would wait longer than this for a paused limiter fails at once (TooManyRequests, with the
    # remaining pause as retry_after) instead of holding a reconcile for minutes.
    max_pause_wait_s: float = Field(default=30.0, ge=0)
    max_concurrency: int = Field(default=16, ge=1)
    connect_timeout_s: float = Field(default=10.0, gt=0)
    read_timeout_s: float = Field(default=30.0, gt=0)
    max_response_bytes: int = Field(default=8 * 1024 * 1024, ge=1024)
    max_log_download_bytes: int = Field(default=2 * 1024 * 1024 * 1024, ge=1024)

    @field_validator("allowed_hosts", "log_download_hosts", mode="before")
    @classmethod
    def _split(cls, value: object) -> object:
        if isinstance(value, str):
            value = [part for part in value.split(",")]
        if isinstance(value, list | tuple):
            patterns = tuple(str(p).strip().lower() for p in value if str(p).strip())
            for pattern in patterns:
                if "/" in pattern or "@" in pattern or " " in pattern:
                    raise ValueError(f"host pattern {pattern!r} must be a host glob, optionally with :port")
            return patterns
        return value


def _split_port(hostport: str) -> tuple[str, str | None]:
    if hostport.startswith("["):  # IPv6 literal
        end = hostport.find("]")
        host, rest = hostport[: end + 1], hostport[end + 1 :]
        return host, rest[1:] if rest.startswith(":") else None
    if hostport.count(":") == 1:
        host, port = hostport.split(":")
        return host, port
    return hostport, None


def host_matches(pattern: str, host: str, port: int) -> bool:
    """Whether `host:port` matches a pattern like `*.cognitiveservices.azure.com`, `127.0.0.1:*` or
    `localhost:8080`. A pattern without a port matches any port; the host part is a case-insensitive glob
    where `*` also spans dots (`*.example.com` matches `a.b.example.com` but not `example.com`)."""
    pattern_host, pattern_port = _split_port(pattern.lower())
    if pattern_port not in (None, "*") and pattern_port != str(port):
        return False
    # IPv6 literals are compared without brackets (fnmatch would read them as a character class).
    return fnmatch.fnmatchcase(host.lower().rstrip(".").strip("[]"), pattern_host.strip("[]"))


def host_allowed(patterns: tuple[str, ...], host: str, port: int) -> bool:
    return any(host_matches(p, host, port) for p in patterns)
