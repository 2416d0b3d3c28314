"""The `azure-speech-operator` command: one sub-command per module, imported lazily.

Each sub-command module exposes `add_arguments(parser)` and `main(args) -> int`, and may expose
`argument_error_reporter(argv)`: who reports a command-line error instead of argparse (`run` with JSON logs).
Only the module of the chosen sub-command is imported, so `simulate-azure` starts without loading kopf or
the kubernetes client.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Callable, Sequence
from typing import NoReturn

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


class _Parser(argparse.ArgumentParser):
    """argparse's parser, whose errors go to `report` (then exit 2) when the sub-command gives one."""

    report: Callable[[str], None] | None = None

    def error(self, message: str) -> NoReturn:
        if self.report is None:
            super().error(message)
        self.report(message)
        self.exit(2)


def _parser(selected: str | None, argv: Sequence[str]) -> argparse.ArgumentParser:
    parser = _Parser(
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
            reporter = getattr(module, "argument_error_reporter", None)
            report = reporter(argv) if reporter else None
            # the top-level parser's errors too: it reports the sub-command's unrecognized arguments
            parser.report = cmd.report = _pointing_to_help(report, cmd.prog) if report else None
    return parser


def _pointing_to_help(report: Callable[[str], None], prog: str) -> Callable[[str], None]:
    """argparse's usage lines are left out of a reported error: the message says where to find them."""
    return lambda message: report(f"{message} (see {prog} --help)")


def main(argv: Sequence[str] | None = None) -> int:
    args_list = list(sys.argv[1:] if argv is None else argv)
    selected = next((a for a in args_list if not a.startswith("-")), None)
    parser = _parser(selected if selected in COMMANDS else None, args_list)
    args = parser.parse_args(args_list)
    result: int = args._main(args)
    return result
