"""The `azure-speech-operator` command: one sub-command per module, imported lazily.

Each sub-command module exposes `add_arguments(parser)` and `main(args) -> int`. Only the module of the
chosen sub-command is imported, so `simulate-azure` starts without loading kopf or the kubernetes client.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

from azure_speech_operator import __version__

COMMANDS: dict[str, tuple[str, str]] = {
    "run": ("azure_speech_operator.runner", "run the operator against the cluster in KUBECONFIG"),
    "simulate-azure": (
        "azure_speech_operator.simulator.cli",
        "serve a simulator of the Azure Speech endpoint APIs",
    ),
    "logs": (
        "azure_speech_operator.speechendpoint.logs_cli",
        "list or download a SpeechEndpoint's content logs",
    ),
}


def _parser(selected: str | None) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="azure-speech-operator",
        description="Kubernetes operator for Azure AI Speech custom endpoints.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True
    for name, (module_name, help_text) in COMMANDS.items():
        cmd = sub.add_parser(name, help=help_text, description=help_text)
        if name == selected:
            module = importlib.import_module(module_name)
            module.add_arguments(cmd)
            cmd.set_defaults(_main=module.main)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args_list = list(sys.argv[1:] if argv is None else argv)
    selected = next((a for a in args_list if not a.startswith("-")), None)
    parser = _parser(selected if selected in COMMANDS else None)
    args = parser.parse_args(args_list)
    result: int = args._main(args)
    return result
