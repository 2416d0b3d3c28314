import subprocess
import sys

from azure_speech_operator.cli import COMMANDS


def test_help_lists_every_command() -> None:
    out = subprocess.run(
        [sys.executable, "-m", "azure_speech_operator", "--help"], capture_output=True, text=True, check=True
    ).stdout
    for name in COMMANDS:
        assert name in out


def test_unknown_command_fails_with_usage() -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "azure_speech_operator", "no-such-command"], capture_output=True, text=True
    )
    assert proc.returncode == 2
    assert "invalid choice" in proc.stderr
