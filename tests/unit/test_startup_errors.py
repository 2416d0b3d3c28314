"""Start-up failures of `run` and `logs` are one line naming what to fix, never a traceback: an unusable
kubeconfig, an API server refusing its credentials, a metrics address that cannot be bound; and `logs` takes
the shared client settings `run` takes (docs/operations.md, "Start, readiness and stop", "Content logs")."""

from __future__ import annotations

import argparse
import errno
import http.server
import io
import json
import os
import signal
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any, ClassVar

import pytest
import yaml
from azure_speech_operator import cli, kube, runner
from azure_speech_operator.azure.config import ClientSettings
from azure_speech_operator.azure.types import ApiKey
from azure_speech_operator.kube import KubeConfigError, default_namespace, load_configuration
from azure_speech_operator.runtime.metrics import Metrics
from azure_speech_operator.speechendpoint import logs_cli
from azure_speech_operator.speechendpoint.spec import AzureSpec

from tests.localhttp import serving

TOKEN = "tok-3f9a1c-never-printed"
CA_DATA = "certificate-authority-data"

GOOD = {
    "apiVersion": "v1",
    "kind": "Config",
    "clusters": [{"name": "c", "cluster": {"server": "http://127.0.0.1:9"}}],
    "users": [{"name": "u", "user": {"token": TOKEN}}],
    "contexts": [{"name": "c", "context": {"cluster": "c", "user": "u"}}],
    "current-context": "c",
}
UNUSABLE = {
    "malformed YAML": f"users:\n- name: u\n  user: {{token: {TOKEN}\nclusters: [\n",
    "clusters is a number": yaml.safe_dump({**GOOD, "clusters": 5}),
    "a list at the top": yaml.safe_dump([GOOD]),
    "a mapping of strings": yaml.safe_dump({**GOOD, "users": {"u": TOKEN}}),
    "not base64": yaml.safe_dump(
        {**GOOD, "clusters": [{"name": "c", "cluster": {"server": "https://k8s", CA_DATA: "!" + TOKEN}}]}
    ),
}


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "bad.yaml"
    path.write_text(text)
    return path


def without_service_account() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if k not in ("KUBERNETES_SERVICE_HOST", "KUBECONFIG")}


def run_command(*argv: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "azure_speech_operator", *argv],
        env=without_service_account(),
        capture_output=True,
        text=True,
        timeout=timeout,
    )


# --- an unusable kubeconfig ---------------------------------------------------------------------------------


@pytest.mark.parametrize("content", UNUSABLE.values(), ids=UNUSABLE.keys())
def test_an_unusable_kubeconfig_is_a_config_error_naming_the_file_not_its_content(
    tmp_path: Path, content: str
) -> None:
    path = write(tmp_path, content)
    with pytest.raises(KubeConfigError) as info:
        load_configuration(str(path))
    message = str(info.value)
    assert message.startswith(f"cannot load the Kubernetes configuration from {path}: ")
    assert TOKEN not in message and "\n" not in message


def test_a_missing_kubeconfig_is_called_missing(tmp_path: Path) -> None:
    path = tmp_path / "typo.yaml"
    with pytest.raises(KubeConfigError, match=f"from {path}: no such file$"):
        load_configuration(str(path))
    # KUBECONFIG's list: one file there is enough
    real = write(tmp_path, UNUSABLE["malformed YAML"])
    with pytest.raises(KubeConfigError, match="not valid YAML"):
        load_configuration(f"{path}{os.pathsep}{real}")


def test_malformed_yaml_names_the_line(tmp_path: Path) -> None:
    with pytest.raises(KubeConfigError, match=r"not valid YAML: .*\(line \d+, column \d+\)"):
        load_configuration(str(write(tmp_path, UNUSABLE["malformed YAML"])))


def test_the_default_namespace_of_an_unusable_kubeconfig_is_default(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(kube, "SERVICE_ACCOUNT_NAMESPACE", str(tmp_path / "not-in-a-pod"))
    for content in UNUSABLE.values():
        assert default_namespace(str(write(tmp_path, content))) == "default"


@pytest.mark.parametrize("problem", ["malformed YAML", "clusters is a number"])
def test_run_exits_1_with_one_error_line_for_an_unusable_kubeconfig(tmp_path: Path, problem: str) -> None:
    path = write(tmp_path, UNUSABLE[problem])
    proc = run_command("run", "--kubeconfig", str(path), "--metrics-port", "0")
    output = proc.stdout + proc.stderr
    assert proc.returncode == 1, output
    assert "Traceback" not in output and TOKEN not in output
    errors = [line for line in output.splitlines() if "[ERROR]" in line]
    assert len(errors) == 1 and f"cannot load the Kubernetes configuration from {path}: " in errors[0], output


@pytest.mark.parametrize("problem", ["malformed YAML", "clusters is a number"])
def test_logs_exits_1_with_one_line_for_an_unusable_kubeconfig(
    tmp_path: Path, problem: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("KUBECONFIG", raising=False)
    path = write(tmp_path, UNUSABLE[problem])
    assert cli.main(["logs", "spe/call-center", "--kubeconfig", str(path)]) == 1
    err = capsys.readouterr().err
    assert err.startswith(
        f"azure-speech-operator logs: cannot load the Kubernetes configuration from {path}: "
    )
    assert len(err.splitlines()) == 1 and "unexpected" not in err and TOKEN not in err


# --- an API server refusing the credentials -----------------------------------------------------------------


class Refusing(http.server.BaseHTTPRequestHandler):
    """An API server that knows no one: 401 to every request, as for an expired token."""

    answer: ClassVar[dict[str, Any]] = {
        "kind": "Status", "apiVersion": "v1", "status": "Failure", "reason": "Unauthorized", "code": 401
    }  # fmt: skip

    def _refuse(self) -> None:
        body = json.dumps(self.answer).encode()
        self.send_response(self.answer["code"])
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_GET = do_POST = do_PATCH = do_PUT = do_DELETE = _refuse

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture
def refusing_server() -> Iterator[str]:
    with serving(Refusing) as url:
        yield url


class Overloaded(Refusing):
    """An API server answering 503 to everything: kopf retries its discovery, the operator not started yet."""

    answer: ClassVar[dict[str, Any]] = {
        "kind": "Status",
        "status": "Failure",
        "code": 503,
        "message": "overloaded",
    }


def test_a_signal_while_kopf_still_starts_ends_with_operator_stopped(tmp_path: Path) -> None:
    # kopf's own signal handling has taken over, "operator started" is not logged yet: a clean stop still
    # says it stopped, with exit 0
    with serving(Overloaded) as url:
        config = {**GOOD, "clusters": [{"name": "c", "cluster": {"server": url}}]}
        path = write(tmp_path, yaml.safe_dump(config))
        argv = [sys.executable, "-m", "azure_speech_operator", "run", "--kubeconfig", str(path)]
        argv += ["--metrics-port", "0"]
        with subprocess.Popen(argv, env=without_service_account(), stderr=subprocess.PIPE, text=True) as proc:
            assert proc.stderr is not None
            seen = []
            for line in proc.stderr:  # kopf retrying a request: its signal handlers are in place
                seen.append(line)
                if "Request attempt" in line:
                    break
            proc.send_signal(signal.SIGTERM)
            rest = proc.stderr.read()
    output = "".join(seen) + rest
    assert proc.returncode == 0, output
    assert "operator stopped" in rest and "operator started" not in output, output


def test_run_exits_1_with_one_error_line_when_the_api_server_refuses_the_credentials(
    tmp_path: Path, refusing_server: str
) -> None:
    config = {**GOOD, "clusters": [{"name": "c", "cluster": {"server": refusing_server}}]}
    path = write(tmp_path, yaml.safe_dump(config))
    proc = run_command("run", "--kubeconfig", str(path), "--metrics-port", "0", timeout=120)
    output = proc.stdout + proc.stderr
    assert proc.returncode == 1, output
    assert "Traceback" not in output and "Consider installing" not in output and TOKEN not in output, output
    expected = (
        f"[ERROR] the Kubernetes API server {refusing_server} refused the credentials of kubeconfig {path} "
        "(HTTP 401 Unauthorized): its token or client certificate is wrong or has expired"
    )
    assert expected in output, output
    # the one ERROR line: nothing had started, so nothing "stopped"
    assert output.count("[ERROR]") == 1 and "operator stopped" not in output, output


def test_with_peering_a_refused_login_is_the_same_one_error_line(
    tmp_path: Path, refusing_server: str
) -> None:
    # the peering objects are created before kopf starts: the API server's 401 meets that request first
    config = {**GOOD, "clusters": [{"name": "c", "cluster": {"server": refusing_server}}]}
    path = write(tmp_path, yaml.safe_dump(config))
    proc = run_command("run", "--kubeconfig", str(path), "--metrics-port", "0", "--peering", "speech")
    output = proc.stdout + proc.stderr
    assert proc.returncode == 1, output
    expected = (
        f"[ERROR] the Kubernetes API server {refusing_server} refused the credentials of kubeconfig {path} "
        "(HTTP 401 Unauthorized): its token or client certificate is wrong or has expired"
    )
    assert expected in output and output.count("[ERROR]") == 1 and TOKEN not in output, output


def test_with_peering_an_unreachable_api_server_is_retried_and_a_signal_stops_the_retries(
    tmp_path: Path,
) -> None:
    path = write(tmp_path, yaml.safe_dump(GOOD))  # port 9: nothing listens
    argv = [sys.executable, "-m", "azure_speech_operator", "run", "--kubeconfig", str(path), "--peering", "p"]
    env = without_service_account()
    with subprocess.Popen(argv, env=env, stderr=subprocess.PIPE, text=True) as proc:
        assert proc.stderr is not None
        first = proc.stderr.readline()
        proc.send_signal(signal.SIGTERM)
        rest = proc.stderr.read()
    assert "[INFO] creating the peering objects failed, retrying in 1s: " in first, first + rest
    assert proc.returncode == 0 and "stopped by a signal during startup" in rest, first + rest


def test_a_login_failure_without_an_http_status_is_named_as_such() -> None:
    refused = runner.KubeLoginRefused.from_login_error(RuntimeError("no credentials"))
    assert refused.status is None
    assert refused.describe("https://k8s:6443", "the pod's service account") == (
        "cannot log in to the Kubernetes API server https://k8s:6443 with the credentials of the pod's "
        "service account"
    )


# --- the metrics server's address ---------------------------------------------------------------------------


def test_run_exits_2_naming_a_metrics_address_that_is_no_address(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["run", "--metrics-address", "not an ip", "--metrics-port", "18081"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("azure-speech-operator run: --metrics-address: 'not an ip' is not an IP address")


@pytest.mark.parametrize(
    ("values", "words"),
    [
        (
            {"region_url": "https://{region}.api.cognitive.azure.cn"},
            "admits {region}.api.cognitive.azure.cn:443",
        ),
        ({"region_url": "http://sim:8080", "allowed_hosts": ("sim:8080",)}, "lets plain http go to sim:8080"),
        ({"voice_v3_region_url": "https://{region}.tts.example"}, "admits {region}.tts.example:443"),
    ],
)
def test_a_region_url_no_allowed_host_admits_is_a_warning_at_start(
    values: dict[str, Any], words: str
) -> None:
    # every resource named by a region would stall on HostNotAllowed: said at start
    from azure_speech_operator.settings import OperatorSettings, adjustment_warnings

    (warning,) = adjustment_warnings(OperatorSettings(**values), None, {})
    assert warning.startswith("--") and "region-url" in warning.split(" ")[0] and words in warning
    assert "--allowed-hosts" in warning and "HostNotAllowed" in warning


@pytest.mark.parametrize(
    "values",
    [
        {"region_url": "http://sim:8080", "allowed_hosts": ("sim:8080",), "allow_http": True},
        {"region_url": "http://sim:8080", "allowed_hosts": ("http://sim:8080",)},
        # narrowed to the regions in use, or to any of that cloud's
        {
            "region_url": "https://{region}.api.cognitive.azure.cn",
            "allowed_hosts": ("chinaeast2.api.cognitive.azure.cn:443",),
        },
        {
            "region_url": "https://{region}.api.cognitive.azure.cn:443",
            "allowed_hosts": ("*.api.cognitive.azure.cn",),
        },
        # globs that admit some region's host
        {"region_url": "https://{region}.api.cognitive.azure.cn", "allowed_hosts": ("china*.azure.cn",)},
        {"region_url": "https://{region}.api.cognitive.microsoft.us", "allowed_hosts": ("*gov*",)},
        {"region_url": "https://{region}.api.cognitive.azure.cn", "allowed_hosts": ("chinaeast2.*",)},
        # the default region URL is not judged: allowed hosts narrowed to custom domains is a choice
        {"allowed_hosts": ("*.cognitiveservices.azure.com:443",)},
    ],
)
def test_a_region_url_some_allowed_host_admits_starts_quietly(values: dict[str, Any]) -> None:
    from azure_speech_operator.settings import OperatorSettings, adjustment_warnings

    assert adjustment_warnings(OperatorSettings(**values), None, {}) == []


def test_run_exits_2_naming_an_allowed_host_with_a_bad_port(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["run", "--allowed-hosts", "127.0.0.1:8080,localhost:abc"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("azure-speech-operator run: --allowed-hosts: host pattern 'localhost:abc'")


@pytest.mark.parametrize(
    ("exc", "named"),
    [
        (OSError(errno.EADDRINUSE, "asyncio's sentence"), "--metrics-port 8080: "),
        (OSError(errno.EACCES, "asyncio's sentence"), "--metrics-port 8080: "),
        (OSError(errno.EADDRNOTAVAIL, "asyncio's sentence"), "--metrics-address 10.1.2.3: "),
        (socket.gaierror(socket.EAI_NONAME, "Name or service not known"), "--metrics-address 10.1.2.3: "),
        (OSError(errno.ENOBUFS, "asyncio's sentence"), "--metrics-address 10.1.2.3 --metrics-port 8080: "),
    ],
)
def test_a_listen_failure_names_the_flag_to_change(exc: OSError, named: str) -> None:
    message = runner.listen_failure("10.1.2.3", 8080, exc)
    assert message.startswith(f"{named}cannot listen on 10.1.2.3:8080: ")
    assert "asyncio's sentence" not in message and "Unknown error" not in message


async def test_an_address_of_another_host_names_the_address_flag() -> None:
    server = runner.HealthServer(Metrics(), "192.0.2.1", 18082)  # TEST-NET-1: never this host's
    with pytest.raises(runner.MetricsServerError) as info:
        await server.start()
    assert str(info.value).startswith("--metrics-address 192.0.2.1: cannot listen on 192.0.2.1:18082: ")


async def test_a_busy_port_names_the_port_flag() -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        with pytest.raises(runner.MetricsServerError) as info:
            await runner.HealthServer(Metrics(), "127.0.0.1", port).start()
    assert str(info.value) == (
        f"--metrics-port {port}: cannot listen on 127.0.0.1:{port}: Address already in use (choose another "
        "port, or 0 to turn the server off)"
    )  # as docs/operations.md shows it


def test_an_ipv6_listen_address_is_shown_in_brackets() -> None:
    message = runner.listen_failure("::1", 8080, OSError(errno.EADDRINUSE, ""))
    assert "cannot listen on [::1]:8080: " in message


# --- a drift interval below the minimum ---------------------------------------------------------------------


def test_run_warns_of_a_drift_interval_below_the_minimum(tmp_path: Path) -> None:
    path = write(tmp_path, UNUSABLE["malformed YAML"])  # stops right after the settings are read
    proc = run_command("run", "--drift-interval", "5s", "--kubeconfig", str(path), "--metrics-port", "0")
    warnings = [line for line in (proc.stdout + proc.stderr).splitlines() if "[WARNING]" in line]
    assert len(warnings) == 1 and warnings[0].endswith(
        "--drift-interval 5s is below the minimum drift interval: 10s is used"
    ), proc.stderr


# --- `logs` in another cloud --------------------------------------------------------------------------------


async def test_logs_reaches_a_region_in_another_cloud_with_region_url(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    seen: list[ClientSettings] = []

    class Speech:
        async def list_logs(self, endpoint_id: str) -> Any:
            for _ in ():
                yield

    def factory(settings: ClientSettings, ref: logs_cli.EndpointRef, credential: Any) -> Speech:
        seen.append(settings)
        return Speech()

    async def find_endpoint(
        kube: Any, namespace: str, name: str
    ) -> tuple[logs_cli.EndpointRef, dict[str, Any]]:
        azure = AzureSpec.model_validate(
            {"region": "chinaeast2", "apiVersion": "v3.2", "credentials": {"secretRef": {"name": "k"}}}
        )
        return logs_cli.EndpointRef(namespace, name, "e1", azure), {"spec": {"azure": {}}}

    async def resolve_credentials(*args: Any) -> ApiKey:
        return ApiKey(key="key")

    class Kube:
        def __init__(self, configuration: Any) -> None:
            pass

        async def aclose(self) -> None:
            pass

    monkeypatch.setattr(logs_cli, "load_configuration", lambda *args: None)
    monkeypatch.setattr(logs_cli, "KubeApi", Kube)
    monkeypatch.setattr(logs_cli, "find_endpoint", find_endpoint)
    monkeypatch.setattr(logs_cli, "resolve_credentials", resolve_credentials)
    url = "https://{region}.api.cognitive.azure.cn"
    parser = argparse.ArgumentParser()
    logs_cli.add_arguments(parser)
    allowed = "*.api.cognitive.azure.cn:443"
    args = parser.parse_args(
        ["spe/call-center", "-n", "team-a", "--region-url", url, "--allowed-hosts", allowed]
    )
    assert await logs_cli.run(args, io.StringIO(), speech_factory=factory) == 0
    assert seen[0].regional_base_url("chinaeast2") == "https://chinaeast2.api.cognitive.azure.cn"


def test_logs_help_lists_region_url(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        cli.main(["logs", "--help"])
    assert "--region-url URL" in capsys.readouterr().out
