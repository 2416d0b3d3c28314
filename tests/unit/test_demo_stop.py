"""`make demo` stops a demo left running by `make demo KEEP=1` before it starts; only `make demo-stop` says
when there was none to stop (every `make demo` used to open with "no demo is running")."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.demo import main, stop_kept

NONE_RUNNING = "no demo is running"


def test_stopping_before_a_demo_is_silent_when_none_runs(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert stop_kept(tmp_path) is False
    assert capsys.readouterr().out == ""


def test_make_demo_stop_says_when_no_demo_runs(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--stop", "--state-dir", str(tmp_path)]) == 0
    assert NONE_RUNNING in capsys.readouterr().out
