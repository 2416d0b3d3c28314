"""Issue 12, suite 4 (secrets), runnable by itself:

    flock /tmp/e2e.lock .venv/bin/python -m pytest tests/e2e/test_reliability_secrets.py -s

A canary key (random per run) is the Speech key of resources of both kinds: served by a simulator that knows
it, refused (401) by one that does not, and with a model Azure refuses; the operator runs at --log-level debug
through creation, those errors and deletion. The canary, in any encoding, must appear nowhere: the operator's
log (every level, exception text included), events, any resource (status, annotations), /metrics, the
exported ConfigMaps. Then the network edges: a host off the allow-list and plain http without --allow-http
get no connection at all, a 307 is never followed; and the RBAC and pod security the project ships are the
promised lists below. Each test prints its figures (docs/reliability.md records them)."""

from __future__ import annotations

import base64
import json
import threading
import uuid
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.install.chart import Helm, deploy_objects, one
from tests.processes import REPO

from .harness import Kube, Operator, Simulator
from .kinds import KINDS, resource, short, unknown_model
from .test_speech_hostile import secret

CANARY = f"canary{uuid.uuid4().hex}"


def canary_forms(text: str) -> list[str]:
    """The forms of the canary found in text: as is, in any case, and base64 (a Secret's data)."""
    forms = {CANARY, base64.b64encode(CANARY.encode()).decode()}
    return sorted(form for form in forms if form.lower() in text.lower())


@pytest.fixture(scope="module")
def canary_azure(e2e_workdir: Path) -> Iterator[Simulator]:
    """A second simulator whose only key is the canary (the session's simulator answers it 401)."""
    workdir = e2e_workdir / "canary-simulator"
    workdir.mkdir(exist_ok=True)
    sim = Simulator(workdir, keys=[CANARY], time_scale=0.01).start()
    try:
        yield sim
    finally:
        sim.stop()


def test_the_canary_key_reaches_no_log_event_status_metric_or_config_map(
    kube: Kube, simulator: Simulator, canary_azure: Simulator, operator: Operator, namespace: str
) -> None:
    operator.restart(extra_args=["--log-level", "debug"])
    try:
        since = operator.log_size()
        labelled = secret("canary", CANARY)  # labelled: the operator's Secret watch receives it whole
        labelled["metadata"]["labels"] = {"speech.azure-operator.io/credentials": "true"}
        kube.apply(labelled, namespace)
        # the detector's control: the Secret itself holds the canary (base64) and it is found there
        assert canary_forms(kube.kubectl("get", "secret", "canary", "-n", namespace, "-o", "json").stdout)
        expected: dict[tuple[str, str], tuple[str, str]] = {}  # (kind, name) -> condition, reason
        for kind in KINDS:
            name = short(kind)
            exported = {"exportTo": {"configMapName": f"{name}-export"}}
            kube.apply(
                [
                    resource(kind, f"{name}-served", canary_azure, credentials="canary", **exported),
                    # the session's simulator knows no canary: 401
                    resource(kind, f"{name}-401", simulator, credentials="canary"),
                    resource(
                        kind, f"{name}-refused", canary_azure, credentials="canary", **unknown_model(kind)
                    ),
                ],
                namespace,
            )
            expected |= {
                (kind, f"{name}-served"): ("Ready", ""),
                (kind, f"{name}-401"): ("Stalled", "Unauthorized"),
                (kind, f"{name}-refused"): ("Stalled", ""),
            }
        objects = {
            key: kube.wait_condition(key[0], key[1], namespace, cond, reason=reason or None, timeout=120)
            for key, (cond, reason) in expected.items()
        }
        exports = [kube.get("ConfigMap", f"{short(kind)}-export", namespace) for kind in KINDS]
        assert all(cm and cm.get("data") for cm in exports), exports
        metrics_live = operator.metrics()
        for kind, name in expected:
            kube.delete(kind, name, namespace, timeout=90)
        sources = {
            "operator log (debug)": operator.logs(since),
            "events": kube.kubectl("get", "events", "-n", namespace, "-o", "json").stdout,
            "resources (status, annotations)": json.dumps(list(objects.values())),
            "metrics": metrics_live + operator.metrics(),
            "exported ConfigMaps": json.dumps(exports),
        }
    finally:
        operator.restart(extra_args=[])
    served_requests = canary_azure.requests()["total"]
    unauthorized = sum(ops.get("401", 0) for ops in (simulator.requests().get("operations") or {}).values())
    log = sources["operator log (debug)"]
    print(
        f"\nsecrets canary: {len(expected)} resources ({len(KINDS)} kinds), "
        f"{served_requests} requests with the canary key to its simulator, {unauthorized} answered 401 "
        f"by the other; scanned {len(log.splitlines())} log lines "
        f"({log.count('[DEBUG]')} DEBUG, {log.count('Traceback')} tracebacks)"
    )
    hits = {what: canary_forms(text) for what, text in sources.items()}
    for what, text in sources.items():
        print(f"  {what}: {len(text)} characters, canary found {len(hits[what])} times")
    assert served_requests > 0 and unauthorized > 0
    assert log.count("[DEBUG]") > 0  # debug logging really was on
    assert hits == {what: [] for what in sources}


# --- the network edges --------------------------------------------------------------------------------------


class Counting(ThreadingHTTPServer):
    """A local HTTP server that counts the connections it accepts and answers every request 307 to
    `location` + the request's path (a redirect to the simulator)."""

    daemon_threads = True

    def __init__(self, host: str, location: str = "http://127.0.0.1:9") -> None:
        self.connections = 0
        self.requests: list[str] = []
        self.location = location
        super().__init__((host, 0), _Redirect)

    def verify_request(self, request: Any, client_address: Any) -> bool:
        self.connections += 1
        return True

    @property
    def url(self) -> str:
        host, port = self.server_address[:2]
        return f"http://{host!s}:{port}"


class _Redirect(BaseHTTPRequestHandler):
    server: Counting

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def _redirect(self) -> None:
        self.server.requests.append(f"{self.command} {self.path}")
        self.send_response(307)
        self.send_header("Location", self.server.location + self.path)
        self.send_header("Content-Length", "0")
        self.end_headers()

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _redirect


@pytest.fixture
def listen() -> Iterator[Any]:
    servers: list[Counting] = []

    def start(host: str, location: str = "http://127.0.0.1:9") -> Counting:
        server = Counting(host, location)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.shutdown()
        server.server_close()


def stalled_both_kinds(
    kube: Kube, simulator: Simulator, namespace: str, endpoint: str, reason: str
) -> list[str]:
    """Resources of both kinds on `endpoint` end Stalled with `reason`; returns their Stalled messages."""
    kube.apply(simulator.credentials_secret(namespace), namespace)
    names = {kind: f"{short(kind)}-{reason.lower()}" for kind in KINDS}
    kube.apply(
        [resource(kind, name, simulator, endpoint=endpoint) for kind, name in names.items()], namespace
    )
    messages = []
    for kind, name in names.items():
        obj = kube.wait_condition(kind, name, namespace, "Stalled", reason=reason, timeout=60)
        messages.append(kube.condition(obj, "Stalled")["message"])  # type: ignore[index]
    for kind, name in names.items():
        kube.delete(kind, name, namespace, timeout=60)
    return messages


@pytest.mark.parametrize(
    ("host", "flags", "words"),
    [
        ("127.0.0.2", [], "127.0.0.2"),  # the operator allows 127.0.0.1 and localhost only
        ("127.0.0.1", ["--no-allow-http"], "plain http"),  # on the allow-list, but http
    ],
    ids=["off-the-allow-list", "http-without-allow-http"],
)
def test_a_refused_host_gets_no_connection(
    kube: Kube,
    simulator: Simulator,
    operator: Operator,
    namespace: str,
    listen: Any,
    host: str,
    flags: list[str],
    words: str,
) -> None:
    listener = listen(host)
    if flags:
        operator.restart(extra_args=flags)
    try:
        messages = stalled_both_kinds(kube, simulator, namespace, listener.url, "HostNotAllowed")
    finally:
        if flags:
            operator.restart(extra_args=[])
    print(
        f"\nsecrets {host} {' '.join(flags)}: {len(messages)} resources HostNotAllowed, "
        f"{listener.connections} connections"
    )
    assert all(words in message for message in messages), messages
    assert listener.connections == 0


def test_a_redirect_is_never_followed(
    kube: Kube, simulator: Simulator, operator: Operator, namespace: str, listen: Any
) -> None:
    token = uuid.uuid4().hex
    redirector = listen("127.0.0.1", f"{simulator.url}/followed-{token}")
    before = simulator.log_size()
    messages = stalled_both_kinds(kube, simulator, namespace, redirector.url, "UnexpectedRedirect")
    followed = simulator.logs(before).count(token)
    print(
        f"\nsecrets redirect: {len(redirector.requests)} requests answered 307 "
        f"({len(messages)} resources UnexpectedRedirect), {followed} followed to the simulator"
    )
    assert redirector.requests and followed == 0


# --- what the project ships: RBAC and pod security ------------------------------------------------------

# The ClusterRole promised in docs/operations.md ("RBAC"), cluster-wide with the default values: (apiGroup,
# resource) -> verbs. Nothing else, no wildcard.
PROMISED_RULES: dict[tuple[str, str], set[str]] = {
    ("apiextensions.k8s.io", "customresourcedefinitions"): {"list", "watch"},
    ("", "namespaces"): {"get"},
    ("speech.azure-operator.io", "speechendpoints"): {"list", "watch", "patch"},
    ("speech.azure-operator.io", "voiceendpoints"): {"list", "watch", "patch"},
    ("speech.azure-operator.io", "speechendpoints/status"): {"patch"},
    ("speech.azure-operator.io", "voiceendpoints/status"): {"patch"},
    ("", "events"): {"create"},
    ("", "secrets"): {"get", "list", "watch"},
    ("", "configmaps"): {"get", "create", "update", "delete"},
}
# The restricted Pod Security Standard and a read-only root filesystem (docs/install.md)
PROMISED_POD = {
    "runAsNonRoot": True,
    "runAsUser": 65532,
    "runAsGroup": 65532,
    "fsGroup": 65532,
    "seccompProfile": {"type": "RuntimeDefault"},
}
PROMISED_CONTAINER = {
    "allowPrivilegeEscalation": False,
    "readOnlyRootFilesystem": True,
    "runAsNonRoot": True,
    "capabilities": {"drop": ["ALL"]},
    "seccompProfile": {"type": "RuntimeDefault"},
}


def granted(rules: list[dict[str, Any]]) -> dict[tuple[str, str], set[str]]:
    found: dict[tuple[str, str], set[str]] = {}
    for rule in rules:
        for group in rule["apiGroups"]:
            for name in rule["resources"]:
                found.setdefault((group, name), set()).update(rule["verbs"])
    return found


def documented_rules() -> dict[tuple[str, str], set[str]]:
    """The RBAC table of docs/operations.md as the default (cluster-wide) install grants it: a row whose
    reason starts "only with" an option that is off by default (--namespace, --peering) is left out."""
    section = (REPO / "docs" / "operations.md").read_text().split("\n## RBAC\n", 1)[1].split("\n## ", 1)[0]
    found: dict[tuple[str, str], set[str]] = {}
    for line in section.splitlines():
        cells = [cell.strip().strip("`") for cell in line.strip().strip("|").split("|")]
        if len(cells) < 4 or cells[0] in ("API group", "---"):
            continue
        if cells[3].startswith("only with") and "(default on)" not in cells[3]:
            continue
        group = "" if cells[0] == '""' else cells[0]
        for name in cells[1].split(","):
            found.setdefault((group, name.strip()), set()).update(v.strip() for v in cells[2].split(","))
    return found


def security_contexts(deployment: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    pod = deployment["spec"]["template"]["spec"]
    (container,) = pod["containers"]
    return pod["securityContext"], container["securityContext"]


def test_rendered_rbac_and_pod_security_are_the_promised_lists(tmp_path: Path) -> None:
    rendered = Helm(tmp_path).template()
    shipped = deploy_objects()
    rbac_file = [doc for doc in yaml.safe_load_all((REPO / "deploy" / "rbac.yaml").read_text()) if doc]
    roles = {
        "deploy/rbac.yaml": granted(one(rbac_file, "ClusterRole")["rules"]),
        "helm template": granted(one(rendered, "ClusterRole")["rules"]),
        "docs/operations.md": documented_rules(),
    }
    pods = {
        "deploy/deployment.yaml": one(shipped, "Deployment"),
        "helm template": one(rendered, "Deployment"),
    }
    verbs = sum(len(v) for v in PROMISED_RULES.values())
    print(
        f"\nsecrets RBAC: {len(PROMISED_RULES)} resources, {verbs} verbs promised; "
        f"compared with {', '.join(roles)}"
    )
    print(
        f"secrets pod security: {len(PROMISED_POD)} pod and {len(PROMISED_CONTAINER)} container fields; "
        f"compared with {', '.join(pods)}"
    )
    for where, rules in roles.items():
        assert rules == PROMISED_RULES, where
    for where, deployment in pods.items():
        assert security_contexts(deployment) == (PROMISED_POD, PROMISED_CONTAINER), where
