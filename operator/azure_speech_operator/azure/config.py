"""Settings of the Azure client layer: which hosts may be called, the request budget, timeouts and limits.

The operator maps `azure-speech-operator run --allowed-hosts ... --allow-http` and the matching environment
variables onto `ClientSettings`; the client itself knows nothing of flags or Kubernetes. docs/client.md
describes the host patterns.
"""

from __future__ import annotations

import fnmatch
import re
from dataclasses import dataclass
from functools import lru_cache

from pydantic import BaseModel, ConfigDict, Field, field_validator

# The https port only: an Azure host on another port is not Azure's service (`*.api...` alone would match
# any port).
DEFAULT_ALLOWED_HOSTS = (
    "*.api.cognitive.microsoft.com:443",
    "*.cognitiveservices.azure.com:443",
    "*.customvoice.api.speech.microsoft.com:443",
)
# Regional (shared) hosts: Microsoft Entra tokens are refused there, they need a custom domain. Any port: a
# refusal list is safer wide.
REGIONAL_HOST_PATTERNS = (
    "*.api.cognitive.microsoft.com",
    "*.customvoice.api.speech.microsoft.com",
    "*.api.cognitive.azure.cn",  # Azure operated by 21Vianet
    "*.api.cognitive.microsoft.us",  # Azure Government
)
# Where `spec.azure.region` leads: Azure's public cloud. A sovereign cloud or a simulator in a staging
# cluster is another URL (`{region}` is replaced by the region; the allow-list still decides).
DEFAULT_REGION_URL = "https://{region}.api.cognitive.microsoft.com"
DEFAULT_VOICE_V3_REGION_URL = "https://{region}.customvoice.api.speech.microsoft.com"
# Where Azure stores content logs; their SAS URLs are fetched only by `download_log`, never with a key.
DEFAULT_LOG_DOWNLOAD_HOSTS = ("*.blob.core.windows.net:443",)
# Azure's public and sovereign cloud domains: plain http never goes to a host under them, whatever the
# settings say (`--allow-http` is for a simulator or a test double).
AZURE_DOMAINS = (
    "azure.com",
    "azure.net",
    "azure.cn",
    "azure.us",
    "microsoft.com",
    "microsoft.us",
    "windows.net",
    "chinacloudapi.cn",
    "usgovcloudapi.net",
)


def is_azure_host(host: str) -> bool:
    name = host.lower().rstrip(".")
    return any(name == domain or name.endswith("." + domain) for domain in AZURE_DOMAINS)


def regional_base_url(region_url: str, region: str) -> str:
    """Where a region leads by the `region_url` template (`https://{region}.api.cognitive.microsoft.com`)."""
    return region_url.replace("{region}", region)


class ClientSettings(BaseModel):
    """Everything that shapes how the operator talks to Azure, whatever resource it manages."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    # Host patterns (`host`, `host:port`, `host:*`), each optionally `http://PATTERN` to allow plain http
    # to the hosts it matches; `allow_http` allows it to every pattern (see `http_allowed`).
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
    # Overall limits from sending to the last byte: the read timeout restarts with every byte, so a host
    # dripping one byte a second would otherwise hold a request (or a download) for ever.
    request_deadline_s: float = Field(default=60.0, gt=0)
    download_deadline_s: float = Field(default=3600.0, gt=0)
    max_response_bytes: int = Field(default=8 * 1024 * 1024, ge=1024)
    max_log_download_bytes: int = Field(default=2 * 1024 * 1024 * 1024, ge=1024)
    region_url: str = DEFAULT_REGION_URL
    voice_v3_region_url: str = DEFAULT_VOICE_V3_REGION_URL

    @field_validator("region_url", "voice_v3_region_url")
    @classmethod
    def _region_url(cls, value: str) -> str:
        return check_region_url(value)

    def regional_base_url(self, region: str, *, voice_v3: bool = False) -> str:
        """The scheme and host a region names (for the v3.0 custom voice API, its own host)."""
        return regional_base_url(self.voice_v3_region_url if voice_v3 else self.region_url, region)

    @field_validator("allowed_hosts", "log_download_hosts", mode="before")
    @classmethod
    def _split(cls, value: object) -> object:
        if isinstance(value, str):
            value = [part for part in value.split(",")]
        if isinstance(value, list | tuple):
            patterns = tuple(str(p).strip().lower() for p in value if str(p).strip())
            for pattern in patterns:
                HostPattern.parse(pattern)  # raises ValueError naming the pattern
            return patterns
        return value


_REGION_URL = re.compile(
    r"https?://(\{region\}\.)?[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*"
    r"(:[0-9]{1,5})?"
)


def check_region_url(value: str) -> str:
    """A region URL template: `http(s)://` and a host that may start with `{region}.`, an optional port,
    nothing after it (e.g. https://{region}.api.cognitive.azure.cn, http://speech-simulator.staging:8080)."""
    text = value.strip().lower().rstrip("/")
    if not _REGION_URL.fullmatch(text):
        raise ValueError(
            f"{value!r} must be http(s)://HOST[:PORT] where HOST may start with '{{region}}.' "
            "(e.g. https://{region}.api.cognitive.azure.cn), with no path"
        )
    port = text.rpartition(":")[2] if text.count(":") == 2 else None
    if port is not None and not 1 <= int(port) <= 65535:
        raise ValueError(f"{value!r}: port {port} is not between 1 and 65535")
    return text


# Azure's region names (public, China, Government), for judging an allow-list against a region URL
_REGION_NAMES = frozenset(
    (
        "region",
        "eastus",
        "eastus2",
        "westus",
        "westus2",
        "westus3",
        "centralus",
        "northcentralus",
        "southcentralus",
        "westcentralus",
        "canadacentral",
        "canadaeast",
        "brazilsouth",
        "mexicocentral",
        "northeurope",
        "westeurope",
        "uksouth",
        "ukwest",
        "francecentral",
        "germanywestcentral",
        "switzerlandnorth",
        "swedencentral",
        "norwayeast",
        "polandcentral",
        "italynorth",
        "spaincentral",
        "eastasia",
        "southeastasia",
        "japaneast",
        "japanwest",
        "koreacentral",
        "australiaeast",
        "centralindia",
        "southindia",
        "uaenorth",
        "qatarcentral",
        "southafricanorth",
        "israelcentral",
        "chinaeast",
        "chinaeast2",
        "chinaeast3",
        "chinanorth",
        "chinanorth2",
        "chinanorth3",
        "usgovvirginia",
        "usgovarizona",
        "usgovtexas",
        "usdodeast",
        "usdodcentral",
    )
)


def region_url_refusal(region_url: str, allowed_hosts: tuple[str, ...], allow_http: bool) -> str | None:
    """Why the client would refuse every request a region URL leads to, whatever the region (no allowed
    pattern admits any of its hosts, or none of those allows the plain http it asks for), or None."""
    scheme, _, hostport = region_url.partition("://")
    template, port = _split_port(hostport)
    number = int(port) if port else (443 if scheme == "https" else 80)
    suffix = template.removeprefix("{region}.") if template.startswith("{region}.") else None

    def examples(pattern: HostPattern) -> list[str]:
        """Hosts of the template the pattern may admit: the pattern's own first label as the region, and
        Azure's region names (a glob such as `china*` or `*gov*` admits some of them)."""
        if suffix is None:
            return [template]
        first = pattern.host.partition(".")[0]
        regions = ([first] if first and not any(c in first for c in "*?[") else []) + list(_REGION_NAMES)
        return [f"{region}.{suffix}" for region in regions]

    admitting = [
        (p, host) for p in map(_parsed, allowed_hosts) for host in examples(p) if p.matches(host, number)
    ]
    shown = f"{template}:{number}"
    if not admitting:
        return f"no allowed host pattern admits {shown}"
    if scheme == "http" and not any(
        (allow_http or p.http) and not is_azure_host(host) for p, host in admitting
    ):
        return f"no allowed host pattern lets plain http go to {shown}"
    return None


@dataclass(frozen=True)
class HostPattern:
    """`[http://|https://]host[:port]`: the host part is a case-insensitive glob, the port a number or `*`
    (absent: any port). `http://` allows plain http to the hosts it matches (never to Azure's)."""

    text: str
    host: str
    port: str | None
    http: bool

    @classmethod
    def parse(cls, text: str) -> HostPattern:
        pattern = text.strip().lower()
        scheme, sep, rest = pattern.partition("://")
        if not sep:
            scheme, rest = "", pattern
        if scheme not in ("", "http", "https") or not rest or any(c in rest for c in "/@ "):
            raise ValueError(
                f"host pattern {text!r} must be a host glob, optionally with :port and an http:// or "
                "https:// prefix (e.g. *.example.com, 127.0.0.1:8080, http://127.0.0.1:*)"
            )
        host, port = _split_port(rest)
        if not host.strip("[]"):
            raise ValueError(f"host pattern {text!r} has no host")
        if port is not None and port != "*":
            port = _check_port(text, port)
        if scheme == "http" and is_azure_host(host.lstrip("*.")):
            raise ValueError(f"host pattern {text!r}: Azure's hosts are https only")
        return cls(pattern, host, port, scheme == "http")

    def matches(self, host: str, port: int) -> bool:
        if self.port not in (None, "*") and self.port != str(port):
            return False
        # IPv6 literals are compared without brackets (fnmatch would read them as a character class).
        return fnmatch.fnmatchcase(host.lower().rstrip(".").strip("[]"), self.host.strip("[]"))


def _check_port(text: str, port: str) -> str:
    """The port as `matches` compares it (`0443` is 443); a pattern with any other would match nothing."""
    if not (port.isascii() and port.isdigit() and 1 <= int(port) <= 65535):
        raise ValueError(f"host pattern {text!r}: the port must be a number from 1 to 65535 or *")
    return str(int(port))


def _split_port(hostport: str) -> tuple[str, str | None]:
    """`host[:port]` -> (host, port or None); `[v6]:port` for an IPv6 literal. Anything else after `]` is
    returned as the port, for the caller to refuse."""
    if hostport.startswith("["):  # IPv6 literal
        end = hostport.find("]")
        if end < 0:
            return "", None
        host, rest = hostport[: end + 1], hostport[end + 1 :]
        return host, rest.removeprefix(":") if rest else None
    if hostport.count(":") == 1:
        host, port = hostport.split(":")
        return host, port
    return hostport, None


@lru_cache(maxsize=1024)
def _parsed(text: str) -> HostPattern:
    return HostPattern.parse(text)


def host_matches(pattern: str, host: str, port: int) -> bool:
    """Whether `host:port` matches a pattern like `*.cognitiveservices.azure.com:443`, `127.0.0.1:*` or
    `http://localhost:8080`. A pattern without a port matches any port; the host part is a case-insensitive
    glob where `*` also spans dots (`*.example.com` matches `a.b.example.com` but not `example.com`)."""
    return _parsed(pattern).matches(host, port)


def matching_pattern(patterns: tuple[str, ...], host: str, port: int) -> HostPattern | None:
    """The first pattern admitting `host:port`, or None."""
    for text in patterns:
        pattern = _parsed(text)
        if pattern.matches(host, port):
            return pattern
    return None


def host_allowed(patterns: tuple[str, ...], host: str, port: int) -> bool:
    return matching_pattern(patterns, host, port) is not None


def http_allowed(patterns: tuple[str, ...], allow_http: bool, host: str, port: int) -> bool:
    """Whether plain http may go to `host:port`: never to Azure's hosts; else when a matching pattern says
    `http://`, or `allow_http` is set and any pattern matches."""
    if is_azure_host(host):
        return False
    return any(
        (allow_http or pattern.http) and pattern.matches(host, port) for pattern in map(_parsed, patterns)
    )
