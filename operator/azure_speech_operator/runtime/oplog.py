"""The operator's log: levels that say what happens, full logger names, the object each line is about.

Levels (docs/operations.md): ERROR when someone must look at the operator itself (a handler crashed, a
setting is unusable); WARNING when a resource needs a person (it turned Stalled, or an endpoint was left in
Azure without being asked to); INFO one line per real step of a resource (created, deploying, ready,
redeploying, deleted ...) and for transient errors retried on their own; DEBUG for the rest.

kopf logs every handler run at INFO ("Handler 'x' succeeded.") and every `TemporaryError` at ERROR ("Handler
'x' failed temporarily: ..."), though a handler raises one for each planned poll of a deployment. A filter on
the operator's log handler lowers those records: the success lines always, the temporary failures only when
the exception kopf is handling is a `ComeBack` (then to the level the come-back names). A real exception from
a handler stays at ERROR with its traceback. kopf's retries of a Kubernetes API request are INFO (an event
refused in a namespace being deleted is retried for a minute), its final failure stays ERROR (except for an
event, which kopf then reports as a WARNING itself). urllib3's WARNING for each immediate retry of a broken
connection (under the operator's own Kubernetes calls, azure_speech_operator.kube) is dropped: the call's
failure, if it comes, is logged and retried by the operator (an API server restart gave hundreds of them).

Python's warnings are log records too (logger `py.warnings`, as with logging.captureWarnings), one line in
the chosen format, and a repeated one is DEBUG: urllib3 warns of every request to an API server whose
certificate is not verified (`insecure-skip-tls-verify: true`), which one WARNING says as well.
"""

from __future__ import annotations

import copy
import json
import logging
import re
import sys
import warnings
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any, Literal, Protocol, TextIO

import kopf

from azure_speech_operator.conditions import (
    MODEL_EXPIRED,
    MODEL_EXPIRING,
    RECONCILING,
    STALLED,
    Condition,
    is_true,
    transitions,
)

LogFormat = Literal["text", "json"]
TEXT_FORMAT = "[%(asctime)s] %(name)s [%(levelname)s] %(message)s"
# Noisy third-party loggers kept at WARNING or above (httpx would log every request URL at INFO).
QUIET_LOGGERS = ("kubernetes", "urllib3", "httpx", "httpcore", "aiohttp.access", "azure")


class ComeBack(kopf.TemporaryError):
    """A handler asks kopf to run it again after `delay` seconds: a planned poll, a wait, or a retry of a
    transient error. kopf's "failed temporarily" record of it is logged at `level` instead of ERROR."""

    def __init__(self, message: str, *, delay: float, level: int = logging.DEBUG) -> None:
        super().__init__(message, delay=delay)
        self.level = level


# kopf's records about a handler's run (kopf/_core/actions/execution.py, _core/reactor/processing.py).
_KOPF_CHATTER = re.compile(
    r"(Handler|Daemon|Timer|Activity|Indexer|Webhook) '[^']*' succeeded\.$"
    r"|(Creation|Updating|Deletion|Resuming) is (processed|superseded by \w+): "
)
_KOPF_TEMPORARY = re.compile(r"(Handler|Daemon|Timer|Activity) '[^']*' failed temporarily: ")
# kopf's retries of a Kubernetes API request (kopf/_cogs/clients/api.py): transient until the last attempt.
_KOPF_API_RETRY = re.compile(
    r"Request attempt #\S+ failed; (will retry|(TCP|SSL) closed; will re-authenticate): "
)
_KOPF_API_GIVES_UP = re.compile(r"Request attempt #\S+ failed; escalating: ")
# urllib3/connectionpool.py, before each of its immediate retries of a broken connection
_URLLIB3_RETRY = re.compile(r"Retrying \(Retry\(")
_URLLIB3_POOL = "urllib3.connectionpool"
# kopf's event poster follows a failed post with its own WARNING ("Failed to post an event"): an event
# refused in a namespace being deleted is routine.
_KOPF_POSTING = "kopf._core.engines.posting"
_NAMESPACE_TERMINATING = "NamespaceTerminating"  # the apiserver's cause for a write refused there


class KopfLevels(logging.Filter):
    """Lowers kopf's per-handler records and urllib3's connection retries (see the module's docstring); drops
    those below the level now."""

    def filter(self, record: logging.LogRecord) -> bool:
        level = kopf_level(record)
        if level >= record.levelno:
            return True
        if not logging.getLogger(record.name).isEnabledFor(level):
            return False
        record.levelno, record.levelname = level, logging.getLevelName(level)
        return True


def kopf_level(record: logging.LogRecord) -> int:
    """The level a record should have. kopf logs a handler's temporary failure inside the `except` block
    that caught it, so the exception being handled is the one the handler raised."""
    if record.name == _URLLIB3_POOL and _URLLIB3_RETRY.match(record.getMessage()):
        return logging.DEBUG
    if not record.name.startswith("kopf"):
        return record.levelno
    message = record.getMessage()
    if record.levelno == logging.INFO and _KOPF_CHATTER.match(message):
        return logging.DEBUG
    if _KOPF_TEMPORARY.match(message):
        handled = sys.exc_info()[1]
        if isinstance(handled, ComeBack):
            return handled.level
    if _KOPF_API_RETRY.match(message):
        # nine retries of one event post into a namespace being deleted are not worth nine INFO lines
        terminating = record.name == _KOPF_POSTING and _NAMESPACE_TERMINATING in message
        return logging.DEBUG if terminating else logging.INFO
    if record.name == _KOPF_POSTING and _KOPF_API_GIVES_UP.match(message):
        return logging.INFO
    return record.levelno


# --- formats ----------------------------------------------------------------------------------------------


def object_ref(record: logging.LogRecord) -> Mapping[str, Any]:
    """The object a record is about: kopf's per-object loggers and `object_logger` put it in `k8s_ref`."""
    ref = getattr(record, "k8s_ref", None)
    return ref if isinstance(ref, Mapping) else {}


def describe_object(ref: Mapping[str, Any]) -> str:
    """`SpeechEndpoint team-a/call-center` (the kind, then namespace/name)."""
    where = "/".join(str(ref[k]) for k in ("namespace", "name") if ref.get(k))
    return " ".join(part for part in (str(ref.get("kind") or ""), where) if part)


_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]|\n|\r|\t")


class TextFormatter(logging.Formatter):
    """`[time] logger [LEVEL] [Kind namespace/name] message`, one line per message: a line break or a
    control character in a message (Azure's text, say) is escaped; a traceback follows on its own lines."""

    def __init__(self) -> None:
        super().__init__(TEXT_FORMAT)

    def format(self, record: logging.LogRecord) -> str:
        message = _CONTROL.sub(lambda m: repr(m.group())[1:-1], record.getMessage())
        described = describe_object(object_ref(record))
        record = copy.copy(record)
        record.msg, record.args = (f"[{described}] {message}" if described else message), None
        return super().format(record)


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time (UTC, RFC 3339), level, logger, message, and kind, namespace, name when
    the message is about an object; `exception` holds a traceback."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        ref = object_ref(record)
        entry.update({k: ref[k] for k in ("kind", "namespace", "name") if ref.get(k)})
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        if record.stack_info:
            entry["stack"] = self.formatStack(record.stack_info)
        return json.dumps(entry, default=str)


class _OperatorHandler(logging.StreamHandler[Any]):
    """Marks the handler `configure` installs, so that configuring again replaces it."""


def configure(level: str, log_format: LogFormat) -> None:
    """The operator's logging (instead of kopf.configure, whose format cuts logger names to 20 characters):
    stderr, the chosen format, kopf's per-handler records lowered."""
    handler = _OperatorHandler(sys.stderr)
    handler.setFormatter(JsonFormatter() if log_format == "json" else TextFormatter())
    handler.addFilter(KopfLevels())
    root = logging.getLogger()
    root.handlers[:] = [h for h in root.handlers if not isinstance(h, _OperatorHandler)] + [handler]
    root.setLevel(level.upper())
    # asyncio's debug records only in debug mode (as kopf.configure does).
    logging.getLogger("asyncio").propagate = root.level <= logging.DEBUG
    for name in QUIET_LOGGERS:
        logging.getLogger(name).setLevel(max(logging.WARNING, root.level))
    warnings.showwarning = _log_warning


WARNINGS_LOGGER = "py.warnings"  # logging.captureWarnings's
_WARNED_TEXTS_KEPT = 1000  # a bound on what is remembered, should warnings vary without end
_warned: set[tuple[type[Warning], str]] = set()
_show_warning = warnings.showwarning  # for a warning written to a file of the caller's choice


def _log_warning(
    message: Warning | str,
    category: type[Warning],
    filename: str,
    lineno: int,
    file: TextIO | None = None,
    line: str | None = None,
) -> None:
    """warnings.showwarning as one log record; logging.captureWarnings's would add the source line on a
    second line and repeat urllib3's warning for every request (urllib3 asks for them "always")."""
    if file is not None:
        _show_warning(message, category, filename, lineno, file, line)
        return
    key = (category, str(message))
    level = logging.DEBUG if key in _warned else logging.WARNING
    if len(_warned) < _WARNED_TEXTS_KEPT:
        _warned.add(key)
    logging.getLogger(WARNINGS_LOGGER).log(
        level, "%s: %s (%s:%s)", category.__name__, message, filename, lineno
    )


def object_logger(name: str, obj: Mapping[str, Any]) -> logging.LoggerAdapter[logging.Logger]:
    """A logger whose records name `obj` (kind, namespace, name), as kopf's per-object loggers do, but under
    the operator's own logger `name`."""
    metadata = obj.get("metadata") or {}
    ref = {
        "kind": obj.get("kind"),
        "namespace": metadata.get("namespace"),
        "name": metadata.get("name"),
        "uid": metadata.get("uid"),
    }
    return logging.LoggerAdapter(logging.getLogger(name), {"k8s_ref": ref})


# --- what a reconcile pass logs ---------------------------------------------------------------------------


class PostedEvent(Protocol):
    @property
    def type(self) -> str: ...

    @property
    def reason(self) -> str: ...

    @property
    def message(self) -> str: ...


def pass_lines(
    events: Iterable[PostedEvent],
    previous_conditions: Sequence[Mapping[str, Any]] | None,
    conditions: Sequence[Mapping[str, Any]] | None,
    *,
    released: bool = False,
    endpoint_id: str | None = None,
) -> list[tuple[int, str]]:
    """The log lines of one pass, from the events it posts and the conditions it leaves.

    A resource turning Stalled (or stalling on another code) gives one WARNING line with the code, the message
    and the endpoint; it is not repeated while the resource stays Stalled, because only a change of the
    condition counts. The other events are one line each: INFO for Normal ones and for Warnings about an
    error the operator retries on its own (the resource is still Reconciling); WARNING for the rest (an
    endpoint left in Azure when a resource is released, a model expiring).
    """
    lines: list[tuple[int, str]] = []
    stalled: Condition | None = None
    for _old, new in transitions(previous_conditions, conditions or []):
        if new.type == STALLED and new.status == "True":
            stalled = new
            text = _with_endpoint(f"stalled: {new.reason}: {new.message}", endpoint_id)
            lines.append((logging.WARNING, text))
    retrying = is_true(conditions, RECONCILING) and not released
    for event in events:
        said = stalled is not None and (event.reason == stalled.reason or event.message == stalled.message)
        if said and event.type != "Normal":
            continue  # the Stalled line above says it
        text = _with_endpoint(f"{event.reason}: {event.message}", endpoint_id)
        if event.type == "Normal" or (retrying and event.reason not in (MODEL_EXPIRING, MODEL_EXPIRED)):
            lines.append((logging.INFO, text))
        else:
            lines.append((logging.WARNING, text))
    return lines


def _with_endpoint(text: str, endpoint_id: str | None) -> str:
    if not endpoint_id or endpoint_id.lower() in text.lower():
        return text
    return f"{text} (endpoint {endpoint_id})"
