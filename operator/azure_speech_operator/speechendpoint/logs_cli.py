"""`azure-speech-operator logs spe/NAME [-n NAMESPACE] [--download DIR]`: list (and fetch) the content logs
of a SpeechEndpoint's Azure endpoint.

It reads the SpeechEndpoint with your kubeconfig, resolves its credentials as the operator does (the key from
the Secret it names; workloadIdentity uses your own Microsoft Entra login), and calls Azure directly. Content
logs exist only with the v3.x API versions: later versions write logs to the customer's own storage account.

Log files are fetched from SAS URLs Azure returns; a SAS URL is a credential, so it is never printed or
logged, not even in errors. Exit code 0 on success, 1 with a one-line message on any error, 130 on Ctrl-C.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, TextIO

import kubernetes.client
from pydantic import ValidationError

from azure_speech_operator import kube as kube_module
from azure_speech_operator import settings as settings_module
from azure_speech_operator.azure.config import ClientSettings
from azure_speech_operator.azure.types import Credential, LogFile, OperatorError, SpeechEndpoints
from azure_speech_operator.azurespec import DNS_SUBDOMAIN
from azure_speech_operator.kube import (
    DaemonThreads,
    KubeApiError,
    KubeConfigError,
    default_namespace,
    load_configuration,
    unreachable_reason,
)
from azure_speech_operator.runtime.credentials import resolve_credentials
from azure_speech_operator.settings import SettingsError
from azure_speech_operator.speechendpoint.spec import AzureSpec

PLURAL = "speechendpoints"
LOG_API_VERSIONS = ("v3.2",)  # the v3.x versions the operator supports; only they serve content logs
_KIND_PREFIXES = (
    "spe",
    "speechendpoint",
    "speechendpoints",
    "speechendpoint.speech.azure-operator.io",
    "speechendpoints.speech.azure-operator.io",
)
_NAME = re.compile(DNS_SUBDOMAIN)
# The run settings that shape the Azure client (`region_url`: a region-based SpeechEndpoint in another cloud
# is reached at that cloud's host, as the operator reaches it).
_CLIENT_FIELDS = (
    "allowed_hosts",
    "allow_http",
    "log_download_hosts",
    "region_url",
    "azure_connect_timeout",
    "azure_read_timeout",
    "azure_request_deadline",
    "log_download_deadline",
)


# Connect and read timeouts of the Kubernetes API calls (one object, one Secret), each tried once: a silent
# API server is reported after this long, not after urllib3's retries (two minutes).
KUBE_TIMEOUT = (5.0, 15.0)
INTERRUPTED_EXIT = 130  # as a shell reports a command stopped by Ctrl-C


class KubeApi(kube_module.KubeApi):
    """The operator's Kubernetes client as a command uses it: each call tried once, within KUBE_TIMEOUT, in a
    daemon thread (Ctrl-C never waits for a call to a silent API server to time out)."""

    def __init__(self, configuration: kubernetes.client.Configuration) -> None:
        super().__init__(configuration, timeout=KUBE_TIMEOUT, retries=False, threads=DaemonThreads())


class LogsError(Exception):
    """A failure reported as one line."""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "target", metavar="spe/NAME", help="the SpeechEndpoint (spe/NAME, speechendpoint/NAME, NAME)"
    )
    parser.add_argument(
        "-n", "--namespace", default=None, help="namespace (default: the kubeconfig context's)"
    )
    parser.add_argument(
        "--download", metavar="DIR", type=Path, default=None, help="save every log file into DIR"
    )
    parser.add_argument(
        "--kubeconfig", default=None, help="kubeconfig file (default: $KUBECONFIG, ~/.kube/config)"
    )
    parser.add_argument("--context", default=None, help="kubeconfig context (default: the current one)")
    settings_module.add_arguments(parser, _CLIENT_FIELDS)


def parse_target(target: str) -> str:
    """`spe/NAME`, `speechendpoint/NAME`, `speechendpoints/NAME` or `NAME` -> NAME."""
    kind, _, name = target.rpartition("/")
    if kind and kind.lower() not in _KIND_PREFIXES:
        raise LogsError(f"{target!r}: expected spe/NAME, speechendpoint/NAME or NAME (not a {kind})")
    if not _NAME.fullmatch(name) or len(name) > 253:
        raise LogsError(f"{target!r}: {name!r} is not a valid resource name")
    return name


@dataclass(frozen=True)
class EndpointRef:
    namespace: str
    name: str
    endpoint_id: str
    azure: AzureSpec


async def find_endpoint(
    kube: kube_module.KubeApi, namespace: str, name: str
) -> tuple[EndpointRef, dict[str, Any]]:
    try:
        obj = await kube.get_object(PLURAL, namespace, name)
    except KubeApiError as exc:
        if exc.status == 0:
            raise LogsError(
                f"cannot reach the Kubernetes API server {kube.configuration.host}: {unreachable_reason(exc)}"
            ) from None
        raise LogsError(
            f"reading SpeechEndpoint {namespace}/{name}: HTTP {exc.status} {exc.message}"
        ) from None
    if obj is None:
        raise LogsError(f"SpeechEndpoint {namespace}/{name} not found")
    spec, status = obj.get("spec") or {}, obj.get("status") or {}
    endpoint_id = status.get("endpointId") or spec.get("endpointId")
    if not endpoint_id:
        raise LogsError(
            f"SpeechEndpoint {namespace}/{name} has no Azure endpoint yet (status.endpointId is empty)"
        )
    try:
        azure = AzureSpec.model_validate(spec.get("azure") or {})
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        raise LogsError(f"SpeechEndpoint {namespace}/{name}: spec.azure.{where}: {first['msg']}") from None
    if azure.api_version not in LOG_API_VERSIONS:
        raise LogsError(
            f"SpeechEndpoint {namespace}/{name} uses API version {azure.api_version}: content logs can be "
            f"listed only with {', '.join(LOG_API_VERSIONS)} (later versions store logs in your own storage "
            "account)"
        )
    return EndpointRef(namespace, name, str(endpoint_id), azure), obj


def _size(value: int | None) -> str:
    if value is None:
        return "-"
    if value < 1024:
        return f"{value} B"
    size = float(value)
    for unit in ("KiB", "MiB", "GiB"):
        size /= 1024
        if size < 1024 or unit == "GiB":
            break
    return f"{size:.1f} {unit}"


def _created(value: datetime | None) -> str:
    return value.strftime("%Y-%m-%dT%H:%M:%SZ") if value is not None else "-"


def printable(text: str) -> str:
    """Text from Azure as a terminal shows it, not as it would act on it: escape sequences, bidi overrides,
    line breaks and other unprintable characters are written as Python escapes (`\\x1b`, `\\u202e`)."""
    return "".join(c if c.isprintable() else c.encode("unicode_escape").decode("ascii") for c in text)


def format_table(files: Sequence[LogFile]) -> str:
    rows = [("NAME", "KIND", "SIZE", "CREATED")]
    rows += [
        (printable(f.name), printable(f.kind or "-"), _size(f.size), _created(f.created_at)) for f in files
    ]
    widths = [max(len(row[i]) for row in rows) for i in range(4)]
    return "\n".join("   ".join(cell.ljust(widths[i]) for i, cell in enumerate(row)).rstrip() for row in rows)


def safe_file_name(file: LogFile, taken: set[str]) -> str:
    """A plain file name inside the download directory, whatever Azure calls the file."""
    name = re.sub(r"[^A-Za-z0-9._-]", "_", file.name.replace("\\", "/").rsplit("/", 1)[-1]).lstrip(".")
    if not name:
        name = re.sub(r"[^A-Za-z0-9._-]", "_", file.id) or "log"
    candidate, counter = name, 1
    while candidate in taken:
        counter += 1
        stem, dot, ext = name.rpartition(".")
        candidate = f"{stem}-{counter}.{ext}" if dot and stem else f"{name}-{counter}"
    taken.add(candidate)
    return candidate


SpeechFactory = Callable[[ClientSettings, EndpointRef, Credential], Any]


async def run(args: argparse.Namespace, out: TextIO, *, speech_factory: SpeechFactory | None = None) -> int:
    settings = settings_module.load_settings(args, os.environ, fields=_CLIENT_FIELDS)
    # workloadIdentity here means the user's own Entra login, not the operator's: no namespace gate.
    settings = settings.model_copy(update={"workload_identity_namespaces": ("*",)})
    name = parse_target(args.target)
    try:
        configuration = load_configuration(args.kubeconfig, args.context)
    except KubeConfigError as exc:
        raise LogsError(str(exc)) from None
    namespace = args.namespace or default_namespace(args.kubeconfig, args.context)
    kube = KubeApi(configuration)
    try:
        ref, obj = await find_endpoint(kube, namespace, name)
        credentials = (obj.get("spec") or {}).get("azure", {}).get("credentials")
        credential = await resolve_credentials(kube, namespace, credentials, settings)
    finally:
        await kube.aclose()
    if speech_factory is not None:
        return await _list_and_download(
            speech_factory(settings.client_settings(), ref, credential), ref, args, out
        )
    from azure_speech_operator.azure.client import AzureClient

    async with AzureClient(settings.client_settings()) as client:
        speech = client.speech(ref.azure.target(), credential)
        return await _list_and_download(speech, ref, args, out)


async def _list_and_download(
    speech: SpeechEndpoints, ref: EndpointRef, args: argparse.Namespace, out: TextIO
) -> int:
    files = [file async for file in speech.list_logs(ref.endpoint_id)]
    if not files:
        print(
            f"no content logs for SpeechEndpoint {ref.namespace}/{ref.name} (endpoint {ref.endpoint_id})",
            file=out,
        )
        return 0
    print(format_table(files), file=out)
    if args.download is not None:
        directory: Path = args.download
        await asyncio.to_thread(directory.mkdir, parents=True, exist_ok=True)
        taken: set[str] = set()
        total = 0
        for file in files:
            dest = directory / safe_file_name(file, taken)
            size = await speech.download_log(file, dest)
            total += size
            print(f"downloaded {dest} ({size} bytes)", file=out)
        print(f"{len(files)} files, {total} bytes in {directory}", file=out)
    return 0


def main(args: argparse.Namespace) -> int:
    try:
        return asyncio.run(run(args, sys.stdout))
    except KeyboardInterrupt:
        print("azure-speech-operator logs: interrupted", file=sys.stderr)
        return INTERRUPTED_EXIT
    except (LogsError, SettingsError, OperatorError) as exc:
        print(f"azure-speech-operator logs: {printable(str(exc))}", file=sys.stderr)
        return 1
    except OSError as exc:
        print(
            f"azure-speech-operator logs: {exc.strerror or exc}: {exc.filename or ''}".rstrip(": "),
            file=sys.stderr,
        )
        return 1
    except Exception as exc:  # a traceback may quote Azure's text or a request: one line, the type only
        print(
            f"azure-speech-operator logs: unexpected {type(exc).__name__} (a bug; please report it)",
            file=sys.stderr,
        )
        return 1
