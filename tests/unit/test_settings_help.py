"""`azure-speech-operator run --help`: each setting states one default, and it is the one that applies."""

from __future__ import annotations

import re

import pytest
from azure_speech_operator import cli
from azure_speech_operator.settings import OPTIONS


def run_help(capsys: pytest.CaptureFixture[str]) -> str:
    with pytest.raises(SystemExit) as exited:
        cli.main(["run", "--help"])
    assert exited.value.code == 0
    return " ".join(capsys.readouterr().out.split())  # argparse wraps lines: compare words


def option_help(text: str, flag: str) -> str:
    """The help of one flag: from the flag up to the next option of the settings group."""
    starts = {o.flag: m.start() for o in OPTIONS if (m := re.search(rf" {re.escape(o.flag)}[ ,]", text))}
    start = starts[flag]
    return text[start : min([i for i in starts.values() if i > start] or [len(text)])]


def test_every_setting_states_exactly_one_default(capsys: pytest.CaptureFixture[str]) -> None:
    text = run_help(capsys)
    for option in OPTIONS:
        shown = option_help(text, option.flag)
        description, suffix = shown.split(" [env ", 1)
        assert "default:" not in description, shown  # the suffix says it, computed from the real default
        assert suffix.count("; default ") == 1 and "default None" not in suffix, shown


def test_namespace_defaults_to_all_namespaces(capsys: pytest.CaptureFixture[str]) -> None:
    shown = option_help(run_help(capsys), "--namespace")
    assert "default all namespaces" in shown
    assert "default none" not in shown


def test_drift_interval_help_states_the_minimum(capsys: pytest.CaptureFixture[str]) -> None:
    shown = option_help(run_help(capsys), "--drift-interval")
    assert "at least 10s, a shorter value is raised to it with a warning" in shown
