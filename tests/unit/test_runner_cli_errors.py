"""`azure-speech-operator run` (and the cli's dispatch) on a command line, in the environment and under
signals: every refusal is one line naming where the value came from, an early signal stops quietly."""

from __future__ import annotations

import errno
import os
import signal
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from azure_speech_operator import cli, runner


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


# --- a signal before the command's own handling (imports take about a second) ------------------------------

# Stands for a signal arriving while `what` runs (the imports of kopf and of the handler modules).
SIGNAL_DURING = """
import os, signal, sys
from azure_speech_operator import cli, runner
from azure_speech_operator.speechendpoint import logs_cli

def during(module, name):
    def send(*args, **kwargs):
        os.kill(os.getpid(), signal.{signal})
        return original(*args, **kwargs)
    original = getattr(module, name)
    setattr(module, name, send)

during({module}, "{name}")
sys.exit(cli.main({argv!r}))
"""


def signalled(signal_name: str, module: str, name: str, argv: list[str]) -> subprocess.CompletedProcess[str]:
    code = SIGNAL_DURING.format(signal=signal_name, module=module, name=name, argv=argv)
    return subprocess.run(
        [sys.executable, "-c", code], env=command_env(), capture_output=True, text=True, timeout=60
    )


@pytest.mark.parametrize("signal_name", ["SIGTERM", "SIGINT"])
@pytest.mark.parametrize("name", ["add_arguments", "import_handler_modules"])
def test_an_early_signal_stops_run_quietly_with_exit_0(tmp_path: Path, signal_name: str, name: str) -> None:
    argv = ["run", "--kubeconfig", str(kubeconfig(tmp_path / "kc")), "--metrics-port", "0"]
    proc = signalled(signal_name, "runner", name, argv)
    assert (proc.returncode, proc.stderr, proc.stdout) == (0, "", "")


def test_an_early_ctrl_c_interrupts_logs_in_one_line() -> None:
    proc = signalled("SIGINT", "logs_cli", "add_arguments", ["logs", "spe/foo"])
    assert (proc.returncode, proc.stderr) == (130, "azure-speech-operator logs: interrupted\n")


def test_sigterm_keeps_its_handler_after_the_peering_loop() -> None:
    def handler(signum: int, frame: object) -> None:
        raise AssertionError("not called")

    async def with_loop_handlers() -> None:
        runner._stop_on_signals_until_kopf_takes_over()

    previous = signal.signal(signal.SIGTERM, handler)
    try:
        runner._run_keeping_sigterm_handler(with_loop_handlers())
        assert signal.getsignal(signal.SIGTERM) is handler
    finally:
        signal.signal(signal.SIGTERM, previous)


# --- the command line ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("flag", "message"),
    [
        ("--drift-interval", "--drift-interval: must be longer than zero"),
        ("--deletion-credentials-wait", "--deletion-credentials-wait: must not be negative"),
    ],
)
def test_a_negative_duration_is_refused_for_its_sign(
    flag: str, message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert cli.main(["run", flag, "-5s"]) == 2
    assert capsys.readouterr().err == f"azure-speech-operator run: {message}\n"


def test_a_negative_duration_from_the_environment_is_refused_for_its_sign(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AZURE_SPEECH_OPERATOR_DRIFT_INTERVAL", "-1m")
    assert cli.main(["run"]) == 2
    assert "AZURE_SPEECH_OPERATOR_DRIFT_INTERVAL: must be longer than zero" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("argv", "error"),
    [
        (["run", "--bogus"], "azure-speech-operator run: error: unrecognized arguments: --bogus"),
        (["logs", "spe/x", "--bogus"], "azure-speech-operator logs: error: unrecognized arguments: --bogus"),
        # an abbreviation is no flag: `--log-f json` neither asks for JSON errors nor sets the format
        (
            ["run", "--log-f", "json", "--bogus"],
            "azure-speech-operator run: error: unrecognized arguments: --log-f json --bogus",
        ),
        (["run", "--kubec", "x"], "azure-speech-operator run: error: unrecognized arguments: --kubec x"),
    ],
)
def test_an_unknown_flag_is_the_sub_commands_error(
    argv: list[str], error: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("AZURE_SPEECH_OPERATOR_LOG_FORMAT", raising=False)
    with pytest.raises(SystemExit) as info:
        cli.main(argv)
    err = capsys.readouterr().err
    assert info.value.code == 2
    assert err.splitlines()[-1] == error
    assert err.startswith(f"usage: azure-speech-operator {argv[0]} ")
