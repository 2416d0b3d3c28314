"""Child processes for the test harness, the control plane and the demo: started with their output in a log
file, waited on by polling, stopped with SIGTERM then SIGKILL."""

from __future__ import annotations

import ctypes
import re
import signal
import socket
import subprocess
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any, TypeVar

REPO = Path(__file__).resolve().parents[1]
T = TypeVar("T")


class HarnessError(RuntimeError):
    """A process of the harness did not start or answer as expected."""


def wait_for(
    fn: Callable[[], T | None], timeout: float = 30.0, what: str = "condition", interval: float = 0.2
) -> T:
    """Calls `fn` until it returns something truthy and returns that; fails after `timeout` seconds with
    `what` and the last value (or exception) seen. Polls; never sleeps longer than `interval` at a time."""
    deadline = time.monotonic() + timeout
    last: Any = None
    while True:
        try:
            value = fn()
        except Exception as exc:  # keep polling: the thing may not exist yet
            last = exc
        else:
            if value:
                return value
            last = value
        if time.monotonic() >= deadline:
            raise AssertionError(f"timed out after {timeout:g}s waiting for {what}; last seen: {last!r}")
        time.sleep(interval)


def run_tool(
    argv: Sequence[str],
    *,
    input: str | None = None,
    env: Mapping[str, str] | None = None,
    check: bool = True,
    timeout: float = 60.0,
) -> subprocess.CompletedProcess[str]:
    """Runs a command-line tool (kubectl, helm) to its end; with `check`, a non-zero exit raises
    AssertionError showing the command (by its name and arguments), stdout and stderr."""
    proc = subprocess.run(list(argv), input=input, capture_output=True, text=True, env=env, timeout=timeout)
    if check and proc.returncode != 0:
        command = " ".join([Path(argv[0]).name, *argv[1:]])
        raise AssertionError(
            f"{command} exited {proc.returncode}\nstdout:\n{proc.stdout}\nstderr:\n{proc.stderr}"
        )
    return proc


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _die_with_parent() -> None:
    """In the child, before exec: the kernel sends it SIGTERM when the process that started it dies, so a
    test run killed outright (or a crashed demo) leaves no etcd, apiserver or operator behind."""
    PR_SET_PDEATHSIG = 1
    ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGTERM)


class Process:
    """A child process whose output goes to a log file; stopped with SIGTERM, then SIGKILL. It dies with the
    process that started it, unless `outlive_parent` is set (`make demo KEEP=1` sets it for all)."""

    outlive_parent = False

    def __init__(
        self, name: str, argv: Sequence[str], log_path: Path, env: dict[str, str] | None = None
    ) -> None:
        self.name = name
        self.argv = list(argv)
        self.log_path = log_path
        self.env = env
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        with self.log_path.open("ab") as log:
            log.write(f"\n=== {time.strftime('%H:%M:%S')} start: {' '.join(self.argv)}\n".encode())
            log.flush()
            self.proc = subprocess.Popen(
                self.argv,
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                env=self.env,
                cwd=REPO,
                start_new_session=True,
                preexec_fn=None if self.outlive_parent else _die_with_parent,
            )

    @property
    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def wait_for_line(self, pattern: str, timeout: float = 30.0, since: int = 0) -> re.Match[str]:
        regex = re.compile(pattern)

        def found() -> re.Match[str] | None:
            if self.proc is not None and self.proc.poll() is not None:
                raise HarnessError(
                    f"{self.name} exited with {self.proc.returncode}:\n{self.log_text(since)[-4000:]}"
                )
            return regex.search(self.log_text(since))

        try:
            return wait_for(found, timeout, f"{self.name} to log {pattern!r}", interval=0.05)
        except AssertionError as exc:
            raise HarnessError(f"{exc}\n{self.log_text(since)[-4000:]}") from None

    def log_size(self) -> int:
        try:
            return self.log_path.stat().st_size
        except FileNotFoundError:
            return 0

    def log_text(self, since: int = 0) -> str:
        try:
            with self.log_path.open("rb") as log:
                log.seek(since)
                return log.read().decode(errors="replace")
        except FileNotFoundError:
            return ""

    def stop(self, timeout: float = 15.0) -> int | None:
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.kill()
        return self.proc.returncode

    def kill(self) -> None:
        """SIGKILL, as a crash or an OOM kill would end it."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)
