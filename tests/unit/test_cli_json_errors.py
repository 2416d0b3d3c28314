"""With JSON logs asked for (`--log-format json` or AZURE_SPEECH_OPERATOR_LOG_FORMAT=json), `run`'s settings
and command-line errors are one JSON log line like every other, still exit 2 (docs/operations.md, "Start,
readiness and stop"); plain text when the format asked for is text or not a format."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from typing import Any

import pytest
from azure_speech_operator import cli

FORMAT_VARIABLE = "AZURE_SPEECH_OPERATOR_LOG_FORMAT"
DRIFT_ERROR = "--drift-interval: 'often' is not a duration; expected e.g. 90s, 5m, 1h30m or 30d"


@pytest.fixture(autouse=True)
def logging_restored(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.delenv(FORMAT_VARIABLE, raising=False)
    root = logging.getLogger()
    saved = (root.handlers[:], root.level)
    yield
    root.handlers[:], root.level = saved


def exit_code(argv: list[str]) -> int:
    try:
        return cli.main(argv)
    except SystemExit as exc:  # argparse's way out
        return int(exc.code or 0)


def one_json_error(err: str) -> dict[str, Any]:
    lines = err.splitlines()
    assert len(lines) == 1, err
    entry: dict[str, Any] = json.loads(lines[0])
    assert (entry["level"], entry["logger"]) == ("ERROR", "azure_speech_operator") and "time" in entry
    return entry


@pytest.mark.parametrize("asked", [["--log-format", "json"], ["--log-format=JSON"], []])
def test_a_bad_setting_is_a_json_error_line(
    asked: list[str], capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    if not asked:
        monkeypatch.setenv(FORMAT_VARIABLE, "json")
    assert exit_code(["run", "--drift-interval", "often", *asked]) == 2
    assert one_json_error(capsys.readouterr().err)["message"] == DRIFT_ERROR


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["run", "--log-format", "json", "--metrics-port"], "argument --metrics-port: expected one argument"),
        # reported by the top-level parser, for the sub-command
        (["run", "--frob", "--log-format", "json"], "unrecognized arguments: --frob"),
    ],
)
def test_a_command_line_error_is_a_json_error_line(
    argv: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert exit_code(argv) == 2
    entry = one_json_error(capsys.readouterr().err)
    assert entry["message"] == f"{message} (see azure-speech-operator run --help)"


def test_the_variable_asks_for_json_for_command_line_errors_too(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(FORMAT_VARIABLE, "json")
    assert exit_code(["run", "--frob"]) == 2
    one_json_error(capsys.readouterr().err)


def test_text_or_an_invalid_format_keeps_plain_text(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(FORMAT_VARIABLE, "json")  # the flag wins
    assert exit_code(["run", "--log-format", "yaml", "--drift-interval", "often"]) == 2
    assert capsys.readouterr().err == f"azure-speech-operator run: {DRIFT_ERROR}\n"
    assert exit_code(["run", "--log-format", "text", "--frob"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("usage: ") and err.endswith("error: unrecognized arguments: --frob\n")


def test_help_stays_argparses(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(FORMAT_VARIABLE, "json")
    assert exit_code(["run", "--help"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("usage: azure-speech-operator run ") and "--log-format FORMAT" in out
