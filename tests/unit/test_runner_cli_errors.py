"""`azure-speech-operator run` (and the cli's dispatch) on a command line, in the environment and under
signals: every refusal is one line naming where the value came from, an early signal stops quietly."""

from __future__ import annotations

import errno
import os
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from azure_speech_operator import runner


def kubeconfig(path: Path) -> Path:
    """A kubeconfig whose API server nothing listens on: `run` fails on the metrics port before it calls."""
    path.write_text(
        "apiVersion: v1\nkind: Config\n"
        "clusters: [{name: c, cluster: {server: 'https://127.0.0.1:1'}}]\n"
        "users: [{name: u, user: {token: not-a-real-token}}]\n"
        "contexts: [{name: x, context: {cluster: c, user: u}}]\n"
        "current-context: x\n"
    )
    return path


def command_env(**variables: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AZURE_SPEECH_OPERATOR_", "KUBERNETES_"))}
    return {**env, **variables}


def run_command(*argv: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "azure_speech_operator", *argv],
        env=env or command_env(),
        capture_output=True,
        text=True,
        timeout=60,
    )


@pytest.fixture
def busy_port() -> Iterator[int]:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        yield int(busy.getsockname()[1])


# --- the metrics server's address and port ----------------------------------------------------------------


def test_a_busy_port_from_the_environment_names_the_variable(tmp_path: Path, busy_port: int) -> None:
    env = command_env(AZURE_SPEECH_OPERATOR_METRICS_PORT=str(busy_port))
    proc = run_command("run", "--kubeconfig", str(kubeconfig(tmp_path / "kc")), env=env)
    assert proc.returncode == 1
    assert f"AZURE_SPEECH_OPERATOR_METRICS_PORT {busy_port}: cannot listen on 127.0.0.1:{busy_port}" in (
        proc.stderr + proc.stdout
    )
    assert f"--metrics-port {busy_port}" not in proc.stderr + proc.stdout


@pytest.mark.parametrize(
    ("exc", "named"),
    [
        (OSError(errno.EADDRINUSE, ""), "PORT_VAR 8080: "),
        (OSError(errno.EADDRNOTAVAIL, ""), "ADDRESS_VAR 10.1.2.3: "),
        (OSError(errno.ENOBUFS, ""), "ADDRESS_VAR 10.1.2.3 PORT_VAR 8080: "),
    ],
)
def test_the_metrics_error_names_the_sources_it_is_given(exc: OSError, named: str) -> None:
    error = runner.MetricsServerError("10.1.2.3", 8080, exc)
    assert error.describe("ADDRESS_VAR", "PORT_VAR").startswith(named)
    assert str(error).startswith(
        named.replace("ADDRESS_VAR", "--metrics-address").replace("PORT_VAR", "--metrics-port")
    )
