"""Typed async client for the Azure Speech endpoint APIs. Knows nothing of Kubernetes."""

from .auth import AzureIdentityTokenProvider, TokenProvider
from .client import AzureClient
from .config import DEFAULT_ALLOWED_HOSTS, ClientSettings, host_allowed, host_matches, http_allowed
from .errors import CODE_CLASSES, classify, error_from_response
from .retry_after import parse_retry_after
from .speech import MARKER_KEY
from .transport import RequestObserver
from .types import (
    ApiKey,
    AzureError,
    AzureTarget,
    Credential,
    EntraIdentity,
    ErrorClass,
    OperatorError,
    SpeechEndpoints,
    VoiceEndpoints,
)

__all__ = [
    "CODE_CLASSES",
    "DEFAULT_ALLOWED_HOSTS",
    "MARKER_KEY",
    "ApiKey",
    "AzureClient",
    "AzureError",
    "AzureIdentityTokenProvider",
    "AzureTarget",
    "ClientSettings",
    "Credential",
    "EntraIdentity",
    "ErrorClass",
    "OperatorError",
    "RequestObserver",
    "SpeechEndpoints",
    "TokenProvider",
    "VoiceEndpoints",
    "classify",
    "error_from_response",
    "host_allowed",
    "host_matches",
    "http_allowed",
    "parse_retry_after",
]
