"""The `azure-speech-operator` command: one sub-command per module, imported lazily.

Each sub-command module exposes `add_arguments(parser)` and `main(args) -> int`, and may expose
`argument_error_reporter(argv)`: who reports a command-line error instead of argparse (`run` with JSON logs).
Only the module of the chosen sub-command is imported, so `simulate-azure` starts without loading kopf or
the kubernetes client.
"""

from __future__ import annotations

import argparse
import importlib
import re
import signal
import sys
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from types import FrameType
from typing import Any, NoReturn

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
# Commands that SIGTERM and SIGINT stop with exit code 0 (docs/operations.md, docs/simulator.md), from the
# first instant: importing kopf and the handler modules takes about a second before a command installs its
# own handling. The others are interrupted: one line and 130, as a shell reports Ctrl-C.
STOPPED_BY_SIGNALS = frozenset({"run", "simulate-azure"})
INTERRUPTED_EXIT = 130


class _Parser(argparse.ArgumentParser):
    """argparse's parser, whose errors go to `report` (then exit 2) when the sub-command gives one."""

    report: Callable[[str], None] | None = None

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # A value starting with `-` and a digit is a value, as argparse already takes `-5`: `--drift-interval
        # -5s` is then refused for being negative instead of being read as an unknown flag `-5s`.
        self._negative_number_matcher = re.compile(r"^-\.?\d")

    def error(self, message: str) -> NoReturn:
        if self.report is None:
            super().error(message)
        self.report(message)
        self.exit(2)


def _parser(
    selected: str | None, argv: Sequence[str]
) -> tuple[argparse.ArgumentParser, argparse.ArgumentParser | None]:
    """The command's parser, and the selected sub-command's."""
    parser = _Parser(
        prog="azure-speech-operator",
        description="Kubernetes operator for Azure AI Speech custom endpoints.",
        allow_abbrev=False,
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True
    chosen = None
    for name, (module_name, help_text) in COMMANDS.items():
        # no abbreviations: `run`'s early look for --log-format (JSON errors) takes none either
        cmd = sub.add_parser(name, help=help_text, description=help_text, allow_abbrev=False)
        if name == selected:
            chosen = cmd
            module = importlib.import_module(module_name)
            module.add_arguments(cmd)
            cmd.set_defaults(_main=module.main)
            reporter = getattr(module, "argument_error_reporter", None)
            report = reporter(argv) if reporter else None
            cmd.report = _pointing_to_help(report, cmd.prog) if report else None
    return parser, chosen


def _pointing_to_help(report: Callable[[str], None], prog: str) -> Callable[[str], None]:
    """argparse's usage lines are left out of a reported error: the message says where to find them."""
    return lambda message: report(f"{message} (see {prog} --help)")


class _Terminated(KeyboardInterrupt):
    """SIGTERM before the command's own handling, raised where Python is as Ctrl-C is."""


def _terminate(signum: int, frame: FrameType | None) -> NoReturn:
    raise _Terminated


@contextmanager
def _sigterm_as_interrupt(command: str | None) -> Iterator[None]:
    """For a command that SIGTERM stops: SIGTERM is a KeyboardInterrupt until the command installs its own
    handler (asyncio's replaces this one), instead of a death without a word (exit -15)."""
    handled = command in STOPPED_BY_SIGNALS and threading.current_thread() is threading.main_thread()
    previous = signal.signal(signal.SIGTERM, _terminate) if handled else None
    try:
        yield
    finally:
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)


def main(argv: Sequence[str] | None = None) -> int:
    args_list = list(sys.argv[1:] if argv is None else argv)
    first = next((a for a in args_list if not a.startswith("-")), None)
    selected = first if first in COMMANDS else None
    try:
        with _sigterm_as_interrupt(selected):
            parser, chosen = _parser(selected, args_list)
            args, extra = parser.parse_known_args(args_list)
            if extra:  # the sub-command's error, as for its other argument errors
                (chosen or parser).error(f"unrecognized arguments: {' '.join(extra)}")
            result: int = args._main(args)
    except KeyboardInterrupt:
        if selected in STOPPED_BY_SIGNALS:
            return 0
        prog = " ".join(word for word in ("azure-speech-operator", selected) if word)
        print(f"{prog}: interrupted", file=sys.stderr)
        return INTERRUPTED_EXIT
    return result
