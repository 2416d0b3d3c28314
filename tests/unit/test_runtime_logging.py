"""The operator's log (oplog.py): kopf's per-handler records lowered, the formats, and what a reconcile pass
logs, from real kopf handler runs and real SpeechEndpoint passes."""

from __future__ import annotations

import copy
import datetime
import io
import json
import logging
import re
import sys
import warnings
from collections.abc import Callable, Iterator
from types import SimpleNamespace
from typing import Any

import kopf
import pytest
import urllib3
from azure_speech_operator.azure.types import EntityError, ErrorClass, OperatorError
from azure_speech_operator.reconcile import Trigger
from azure_speech_operator.runtime import oplog
from azure_speech_operator.runtime.handlers import log_lines
from kopf._core.actions import execution  # kopf's own handler runner: the records are the real ones
from kopf._core.actions.loggers import ObjectLogger

from tests.e2e.harness import Kube
from tests.unit.test_runtime_runner import STARTED, Operator

from .test_speech_fakes import World

BODY = {
    "apiVersion": "speech.azure-operator.io/v1alpha1",
    "kind": "SpeechEndpoint",
    "metadata": {"name": "call-center-en", "namespace": "team-a", "uid": "u-1"},
}


class Records(logging.Handler):
    """Keeps the records that pass the operator's filter."""

    def __init__(self) -> None:
        super().__init__()
        self.records: list[logging.LogRecord] = []
        self.addFilter(oplog.KopfLevels())

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


@pytest.fixture
def kopf_records() -> Iterator[Records]:
    """kopf's per-object logger at INFO, with the operator's filter on its handler."""
    kopf_logger = logging.getLogger("kopf.objects")
    handler, level, propagate = Records(), kopf_logger.level, kopf_logger.propagate
    kopf_logger.addHandler(handler)
    kopf_logger.setLevel(logging.INFO)
    kopf_logger.propagate = False
    try:
        yield handler
    finally:
        kopf_logger.removeHandler(handler)
        kopf_logger.setLevel(level)
        kopf_logger.propagate = propagate


async def run_kopf_handler(fn: Callable[..., Any], handler_id: str = "reconcile-create") -> None:
    """One run of a handler as kopf runs it (execute_handler_once logs its success or failure)."""
    settings = kopf.OperatorSettings()
    handler = execution.Handler(
        id=handler_id, fn=fn, param=None, errors=None, timeout=None, retries=None, backoff=None
    )  # type: ignore[arg-type]
    state = SimpleNamespace(
        started=datetime.datetime.now(datetime.UTC),
        retries=0,
        runtime=datetime.timedelta(0),
        awakened=True,
    )
    cause = execution.Cause(logger=ObjectLogger(body=kopf.Body(BODY), settings=settings))
    await execution.execute_handler_once(settings=settings, handler=handler, cause=cause, state=state)  # type: ignore[arg-type]


def levels(records: Records) -> list[tuple[str, str]]:
    return [(r.levelname, r.getMessage()) for r in records.records]


async def test_a_handler_that_succeeds_is_not_logged_at_info(kopf_records: Records) -> None:
    await run_kopf_handler(lambda **_: None, "wakeup-speechendpoints")
    assert levels(kopf_records) == []
    logging.getLogger("kopf.objects").setLevel(logging.DEBUG)
    await run_kopf_handler(lambda **_: None, "wakeup-speechendpoints")
    assert ("DEBUG", "Handler 'wakeup-speechendpoints' succeeded.") in levels(kopf_records)


async def test_a_come_back_is_not_an_error(kopf_records: Records) -> None:
    def polls(**_: Any) -> None:
        raise oplog.ComeBack("next pass in 15s (Azure is deploying (NotStarted))", delay=15)

    def waits(**_: Any) -> None:
        raise oplog.ComeBack("reading the SpeechEndpoint failed: 503", delay=10, level=logging.INFO)

    await run_kopf_handler(polls)
    assert levels(kopf_records) == []
    await run_kopf_handler(waits)
    assert levels(kopf_records) == [
        ("INFO", "Handler 'reconcile-create' failed temporarily: reading the SpeechEndpoint failed: 503")
    ]


async def test_other_failures_stay_errors(kopf_records: Records) -> None:
    def temporary(**_: Any) -> None:
        raise kopf.TemporaryError("not ours", delay=1)

    def crashes(**_: Any) -> None:
        raise RuntimeError("a bug")

    await run_kopf_handler(temporary)
    await run_kopf_handler(crashes)
    assert [level for level, _ in levels(kopf_records)] == ["ERROR", "ERROR"]
    assert kopf_records.records[1].exc_info is not None  # the traceback is kept


def kopf_record(logger: str, message: str) -> logging.LogRecord:
    return logging.LogRecord(logger, logging.ERROR, "api.py", 1, message, (), None)


@pytest.mark.parametrize(
    ("logger", "message", "level"),
    [
        # kopf/_cogs/clients/api.py retries a request: transient until the last attempt
        (
            "kopf._core.engines.posting",
            "Request attempt #1/9 failed; will retry: POST /events -> 403",
            "INFO",
        ),
        ("kopf._core.reactor.queueing", "Request attempt #2/9 failed; will retry: PATCH /x -> 500", "INFO"),
        # the session closed under it (credentials refused, a token rotated): kopf logs in again
        (
            "kopf._core.reactor.observation",
            "Request attempt #2/17 failed; TCP closed; will re-authenticate: GET https://h/api",
            "INFO",
        ),
        (
            "kopf._core.reactor.queueing",
            "Request attempt #1/9 failed; SSL closed; will re-authenticate: GET /x",
            "INFO",
        ),
        # an event refused to the end: kopf's poster then warns "Failed to post an event" itself
        (
            "kopf._core.engines.posting",
            "Request attempt #9/9 failed; escalating: POST /events -> 403",
            "INFO",
        ),
        ("kopf._core.reactor.queueing", "Request attempt #9/9 failed; escalating: PATCH /x -> 500", "ERROR"),
    ],
)
def test_kopfs_kubernetes_api_retries_are_info(
    logger: str, message: str, level: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    record = kopf_record(logger, message)
    assert oplog.KopfLevels().filter(record) and record.levelname == level


def test_event_posts_refused_in_a_terminating_namespace_are_debug(caplog: pytest.LogCaptureFixture) -> None:
    """Seen on a real apiserver: every event about a resource deleted with its namespace is refused, and kopf
    retries each post nine times."""
    caplog.set_level(logging.DEBUG)
    message = (
        "Request attempt #3/9 failed; will retry: POST /api/v1/namespaces/x/events -> APIForbiddenError("
        "'events is forbidden: unable to create new content in namespace x because it is being terminated', "
        "{'details': {'causes': [{'reason': 'NamespaceTerminating'}]}})"
    )
    record = kopf_record("kopf._core.engines.posting", message)
    assert oplog.KopfLevels().filter(record) and record.levelname == "DEBUG"


def test_urllib3_connection_retries_are_dropped() -> None:
    """The kubernetes client under the operator's own API calls: an API server restart of a minute gave 531
    of these WARNINGs (tests/reliability/test_kube_faults.py); the operator logs the call's failure itself."""
    message = "Retrying (%r) after connection broken by '%r': %s"
    args = (urllib3.util.Retry(total=2), ConnectionRefusedError(111, "refused"), "/apis/x/status")
    quiet = logging.getLogger("urllib3")
    saved = quiet.level
    quiet.setLevel(logging.WARNING)  # as oplog.configure leaves it, at every log level: then dropped
    try:
        retry = logging.LogRecord("urllib3.connectionpool", logging.WARNING, __file__, 1, message, args, None)
        assert not oplog.KopfLevels().filter(retry)
    finally:
        quiet.setLevel(saved)
    full = logging.LogRecord(
        "urllib3.connectionpool", logging.WARNING, __file__, 1, "Connection pool is full", (), None
    )
    assert oplog.KopfLevels().filter(full) and full.levelno == logging.WARNING


def test_the_filter_leaves_other_loggers_alone() -> None:
    record = logging.LogRecord(
        "azure_speech_operator", logging.INFO, __file__, 1, "X 'y' succeeded.", (), None
    )
    assert oplog.KopfLevels().filter(record) and record.levelno == logging.INFO


# --- formats -----------------------------------------------------------------------------------------------


def formatted(formatter: logging.Formatter, message: str, *, about: dict[str, Any] | None = None) -> str:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(formatter)
    logger = logging.getLogger("azure_speech_operator.speechendpoint.handlers.test")
    logger.addHandler(handler)
    logger.propagate = False
    try:
        if about is None:
            logger.warning("%s", message)
        else:
            oplog.object_logger(logger.name, about).warning("%s", message)
    finally:
        logger.removeHandler(handler)
    return stream.getvalue()


def test_text_lines_name_the_logger_in_full_and_the_object() -> None:
    line = formatted(oplog.TextFormatter(), "stalled: InvalidModel: no\nsuch model", about=BODY)
    assert line.count("\n") == 1  # one line: the line break in the message is escaped
    assert "] azure_speech_operator.speechendpoint.handlers.test [WARNING] " in line
    assert line.rstrip("\n").endswith(
        "[SpeechEndpoint team-a/call-center-en] stalled: InvalidModel: no\\nsuch model"
    )
    plain = formatted(oplog.TextFormatter(), "operator started")
    assert plain.rstrip("\n").endswith("[WARNING] operator started")


def test_json_lines_carry_the_object_as_fields() -> None:
    entry = json.loads(formatted(oplog.JsonFormatter(), "Created: created endpoint e-1", about=BODY))
    assert entry["level"] == "WARNING"
    assert entry["logger"] == "azure_speech_operator.speechendpoint.handlers.test"
    assert entry["message"] == "Created: created endpoint e-1"
    assert (entry["kind"], entry["namespace"], entry["name"]) == (
        "SpeechEndpoint",
        "team-a",
        "call-center-en",
    )
    assert entry["time"].endswith("+00:00")
    assert "kind" not in json.loads(formatted(oplog.JsonFormatter(), "operator started"))


def test_configure_installs_one_handler_and_keeps_http_libraries_quiet() -> None:
    root = logging.getLogger()
    saved = (root.handlers[:], root.level, logging.getLogger("httpx").level)
    try:
        oplog.configure("info", "json")
        oplog.configure("debug", "text")
        ours = [h for h in root.handlers if isinstance(h, oplog._OperatorHandler)]
        assert len(ours) == 1 and isinstance(ours[0].formatter, oplog.TextFormatter)
        assert root.level == logging.DEBUG
        assert logging.getLogger("httpx").level == logging.WARNING
    finally:
        root.handlers[:], root.level = saved[0], saved[1]
        logging.getLogger("httpx").setLevel(saved[2])


def test_warnings_are_json_lines_and_a_repeated_one_is_debug(monkeypatch: pytest.MonkeyPatch) -> None:
    """urllib3 warns of every request to an API server whose certificate is not verified."""
    root = logging.getLogger()
    saved = (root.handlers[:], root.level)
    stderr = io.StringIO()
    monkeypatch.setattr(sys, "stderr", stderr)
    try:
        with warnings.catch_warnings():
            oplog.configure("info", "json")
            warnings.simplefilter("always", urllib3.exceptions.InsecureRequestWarning)  # as urllib3 asks
            for host in ("10.9.8.7", "10.9.8.7", "10.9.8.7", "10.9.8.6"):
                warnings.warn(
                    f"Unverified HTTPS request is being made to host '{host}'",
                    urllib3.exceptions.InsecureRequestWarning,
                    stacklevel=1,  # here, as urllib3's own call is its
                )
    finally:
        root.handlers[:], root.level = saved
    entries = [json.loads(line) for line in stderr.getvalue().splitlines()]  # each line one object
    assert [(e["level"], e["logger"]) for e in entries] == [("WARNING", "py.warnings")] * 2  # one per host
    assert entries[0]["message"].startswith(
        "InsecureRequestWarning: Unverified HTTPS request is being made to host '10.9.8.7' ("
    )
    assert re.search(r" \(\S+/test_runtime_logging\.py:\d+\)$", entries[0]["message"])  # where, on one line


# --- what a pass logs --------------------------------------------------------------------------------------


async def run_logged(world: World, trigger: Trigger = Trigger.CHANGE) -> list[tuple[str, str]]:
    previous = copy.deepcopy(world.status)
    outcome = await world.run(trigger)
    return [(logging.getLevelName(level), text) for level, text in log_lines(previous, outcome)]


async def test_a_healthy_create_logs_each_step_once_at_info() -> None:
    world = World()
    first = await run_logged(world)
    world.azure.finish()
    second = await run_logged(world)
    endpoint = world.azure.only().id
    assert first[0] == ("INFO", f"Created: created endpoint {endpoint}")
    assert [(level, text.split(":")[0]) for level, text in first[1:]] == [("INFO", "Deploying")]
    assert [(level, text.split(":")[0]) for level, text in second] == [("INFO", "Ready")]
    assert endpoint in second[0][1]
    assert await run_logged(world, Trigger.DRIFT) == []  # nothing new, nothing logged


async def test_turning_stalled_is_one_warning_with_the_code_and_the_endpoint_logged_once() -> None:
    world = World()
    await world.run()
    endpoint = world.azure.only().id
    world.azure.finish("Failed", EntityError(code="InvalidModel", message="model cannot be deployed"))
    lines = await run_logged(world)
    assert len(lines) == 1
    level, text = lines[0]
    assert level == "WARNING" and text.startswith("stalled: InvalidModel: ") and endpoint in text
    for trigger in (Trigger.DRIFT, Trigger.CHANGE, Trigger.RESUME):
        assert await run_logged(world, trigger) == []


async def test_a_refused_create_is_a_warning_naming_azures_code() -> None:
    world = World(spec=World().spec | {"model": {"baseModelId": "00000000-0000-4000-8000-000000000000"}})
    [(level, text)] = await run_logged(world)
    assert level == "WARNING" and text.startswith("stalled: InvalidModel: InvalidModel happened")


async def test_a_transient_error_is_info() -> None:
    world = World()
    world.azure.fail("create", OperatorError("TooManyRequests", "throttled", ErrorClass.TRANSIENT))
    [(level, text)] = await run_logged(world)
    assert level == "INFO" and text.startswith("TooManyRequests: throttled")


async def test_missing_credentials_are_a_warning_once() -> None:
    world = World()
    world.credentials_error = OperatorError("CredentialsNotFound", "no Secret x", ErrorClass.BLOCKED)
    [(level, text)] = await run_logged(world)
    assert level == "WARNING" and text.startswith("stalled: CredentialsNotFound: no Secret x")
    assert await run_logged(world) == []


async def test_an_endpoint_orphaned_after_the_credentials_wait_is_a_warning() -> None:
    world = World()
    await world.run()
    world.azure.finish()
    await world.run()
    endpoint = world.azure.only().id
    world.deletion_timestamp = world.now
    world.credentials_error = OperatorError("CredentialsNotFound", "no Secret x", ErrorClass.BLOCKED)
    waiting = await run_logged(world, Trigger.DELETE)
    assert [level for level, _ in waiting] == ["WARNING"]  # turned Stalled: CredentialsNotFound
    world.advance(world.timing.deletion_credentials_wait.total_seconds())
    released = await run_logged(world, Trigger.DELETE)
    assert world.released
    assert [level for level, _ in released] == ["WARNING"]
    assert released[0][1].startswith("OrphanedEndpoint: ") and endpoint in released[0][1]


async def test_a_deletion_logs_deleted_at_info() -> None:
    world = World()
    await world.run()
    world.azure.finish()
    await world.run()
    world.deletion_timestamp = world.now
    lines = await run_logged(world, Trigger.DELETE)
    assert world.released
    assert [(level, text.split(":")[0]) for level, text in lines] == [("INFO", "Deleted")]


# --- the process ------------------------------------------------------------------------------------------


def test_json_format_gives_one_object_per_line_with_full_logger_names(
    kube: Kube, cluster_namespace: str
) -> None:
    args = ["--metrics-port", "0", "--log-format", "json", "--namespace", cluster_namespace]
    with kube.namespace_watch_granted():
        operator = Operator(kube.operator_kubeconfig(), *args)
        try:
            operator.wait_for(STARTED)
        finally:
            assert operator.stop() == 0
    entries = [json.loads(line) for line in operator.output if line.strip()]
    started = next(e for e in entries if STARTED in e["message"])
    assert started["logger"] == "azure_speech_operator" and started["level"] == "INFO"
    assert not [e for e in entries if e["level"] == "ERROR"]
