"""`azure-speech-operator logs` when the API server cannot be reached, is silent, or the user presses Ctrl-C;
and the run settings it must not read. No cluster: the API server is a socket of the test's."""

from __future__ import annotations

import argparse
import errno
import os
import signal
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from azure_speech_operator.kube import unreachable_reason
from azure_speech_operator.speechendpoint import logs_cli

SERVER_PREFIX = "azure-speech-operator logs: cannot reach the Kubernetes API server"


def kubeconfig(path: Path, server: str) -> Path:
    path.write_text(
        "apiVersion: v1\nkind: Config\n"
        f"clusters: [{{name: c, cluster: {{server: '{server}'}}}}]\n"
        "users: [{name: u, user: {token: not-a-real-token}}]\n"
        "contexts: [{name: x, context: {cluster: c, user: u, namespace: default}}]\n"
        "current-context: x\n"
    )
    return path


@pytest.fixture
def silent_server() -> Iterator[socket.socket]:
    """Takes connections (the kernel completes them) and never answers."""
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen(8)
        yield server


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def parse(*argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    logs_cli.add_arguments(parser)
    return parser.parse_args(list(argv))


def connections_made(server: socket.socket) -> int:
    server.setblocking(False)
    count = 0
    while True:
        try:
            conn, _ = server.accept()
        except BlockingIOError:
            return count
        conn.close()
        count += 1


def test_an_unreachable_api_server_is_one_short_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    server = f"http://127.0.0.1:{closed_port()}"
    args = parse("spe/foo", "--kubeconfig", str(kubeconfig(tmp_path / "kc", server)))
    monkeypatch.delenv("KUBECONFIG", raising=False)
    assert logs_cli.main(args) == 1
    assert capsys.readouterr().err == f"{SERVER_PREFIX} {server}: Connection refused\n"


def test_a_silent_api_server_is_asked_once_with_the_commands_timeout(
    tmp_path: Path,
    silent_server: socket.socket,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(logs_cli, "KUBE_TIMEOUT", (1.0, 0.2))
    server = f"http://127.0.0.1:{silent_server.getsockname()[1]}"
    args = parse("spe/foo", "--kubeconfig", str(kubeconfig(tmp_path / "kc", server)))
    assert logs_cli.main(args) == 1
    assert capsys.readouterr().err == f"{SERVER_PREFIX} {server}: timed out\n"
    assert connections_made(silent_server) == 1  # urllib3's retries asked three more times, 30 s each


@pytest.mark.parametrize(
    "env",
    [
        {"AZURE_SPEECH_OPERATOR_METRICS_PORT": "abc"},
        {"AZURE_SPEECH_OPERATOR_DRIFT_INTERVAL": "often"},
        {"AZURE_SPEECH_OPERATOR_NAMESPACES": "Bad_Name"},
    ],
)
def test_a_bad_run_only_variable_does_not_stop_logs(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, env: dict[str, str]
) -> None:
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    server = f"http://127.0.0.1:{closed_port()}"
    args = parse("spe/foo", "--kubeconfig", str(kubeconfig(tmp_path / "kc", server)))
    assert logs_cli.main(args) == 1
    assert capsys.readouterr().err.startswith(SERVER_PREFIX)


def test_a_bad_variable_logs_uses_still_stops_it(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AZURE_SPEECH_OPERATOR_ALLOW_HTTP", "maybe")
    assert logs_cli.main(parse("spe/foo")) == 1
    assert capsys.readouterr().err.startswith(
        "azure-speech-operator logs: AZURE_SPEECH_OPERATOR_ALLOW_HTTP: "
    )


@pytest.mark.parametrize(
    ("exc", "reason"),
    [
        (ConnectionRefusedError(errno.ECONNREFUSED, "Connection refused"), "Connection refused"),
        (socket.gaierror(socket.EAI_NONAME, "Name or service not known"), "Name or service not known"),
        (TimeoutError("_ssl.c:989: The handshake operation timed out"), "timed out"),
        (RuntimeError("something else"), "no connection"),
    ],
)
def test_the_reason_is_the_innermost_errors(exc: BaseException, reason: str) -> None:
    try:
        try:
            raise exc
        except BaseException:
            raise ValueError("urllib3's long sentence with the pool and the URL") from None
    except ValueError as outer:
        assert unreachable_reason(outer) == reason


def test_ctrl_c_is_one_line_and_exit_130(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    async def interrupted(*_: object) -> int:
        raise KeyboardInterrupt

    monkeypatch.setattr(logs_cli, "run", interrupted)
    assert logs_cli.main(parse("spe/foo")) == 130
    assert capsys.readouterr().err == "azure-speech-operator logs: interrupted\n"


def test_ctrl_c_while_the_api_server_is_silent_exits_at_once(
    tmp_path: Path, silent_server: socket.socket
) -> None:
    server = f"http://127.0.0.1:{silent_server.getsockname()[1]}"
    proc = subprocess.Popen(
        [sys.executable, "-m", "azure_speech_operator", "logs", "spe/foo"],
        env={**os.environ, "KUBECONFIG": str(kubeconfig(tmp_path / "kc", server))},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        silent_server.settimeout(30)
        conn, _ = silent_server.accept()  # the request is in flight, in a thread of the client's
        with conn:
            proc.send_signal(signal.SIGINT)
            # the thread waits for its 15 s read timeout: the process must not wait for it
            _out, err = proc.communicate(timeout=8)
    finally:
        proc.kill()
        proc.wait()
    assert (proc.returncode, err) == (130, "azure-speech-operator logs: interrupted\n")
