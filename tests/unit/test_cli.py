import subprocess
import sys

from azure_speech_operator import __version__
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


def test_version_prints_the_package_version() -> None:
    """What `make image` runs inside the image to show it works."""
    command = [sys.executable, "-m", "azure_speech_operator", "--version"]
    proc = subprocess.run(command, capture_output=True, text=True, check=True)
    assert proc.stdout.strip() == f"azure-speech-operator {__version__}"
