"""`azure-speech-operator simulate-azure`: serve the simulator until SIGTERM/SIGINT.

Top-level imports stay light: aiohttp and the simulator modules load only when the command runs.
"""

from __future__ import annotations

import argparse
import contextlib
import errno
import ipaddress
import json
import os
import re
import socket
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .config import SimulatorConfig
    from .seed import Seed
    from .server import ListenError


def argument_error_reporter(argv: Sequence[str]) -> Callable[[str], None]:
    """For the operator's cli: argparse's errors (a flag's value its type refuses, an unknown flag) on one
    line naming the flag, as every other bad flag is reported, instead of the usage block and the error."""
    return _report_argument_error


# argparse writes `argument --port: <problem>`; the simulator's own errors read `--port: <problem>`.
_ARGPARSE_PREFIX = re.compile(r"^argument (\S+): ")


def _report_argument_error(message: str) -> None:
    print("simulate-azure: " + _ARGPARSE_PREFIX.sub(r"\1: ", message, count=1), file=sys.stderr)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--host",
        type=_listen_host,
        default="127.0.0.1",
        help="IP address or host name to listen on (default 127.0.0.1; 0.0.0.0 or :: for every interface)",
    )
    parser.add_argument("--port", type=_port, default=8081, help="port to listen on; 0 picks a free one")
    parser.add_argument(
        "--keys",
        default="",
        help="K1,K2: the keys of the default resource (none: any non-empty key is accepted)",
    )
    parser.add_argument(
        "--resource",
        action="append",
        default=[],
        metavar="NAME=K1,K2[@N/S]",
        help="another Speech resource with its own keys and optionally its own rate limit (repeatable)",
    )
    parser.add_argument(
        "--bearer-token",
        action="append",
        default=[],
        metavar="TOKEN",
        help="a bearer token for the default resource",
    )
    parser.add_argument(
        "--time-scale", type=float, default=1.0, help="multiplies every duration (0.01: 30 min -> 18 s)"
    )
    parser.add_argument(
        "--rate-limit", default="100/10", help="N/S requests per resource, sliding window; 0 = off"
    )
    parser.add_argument(
        "--fault-rate", type=float, default=0.0, help="probability of a random fault per request"
    )
    parser.add_argument(
        "--fault-kinds",
        default="429,500,502,503,slow,timeout,reset,malformed",
        help="comma-separated fault kinds drawn by --fault-rate",
    )
    parser.add_argument(
        "--deploy-failure-rate", type=float, default=0.0, help="probability that a deployment fails"
    )
    parser.add_argument(
        "--seed", type=int, default=0, help="seed of every random choice (faults, failures, ids)"
    )
    parser.add_argument(
        "--state-file", type=Path, default=None, help="keep endpoints across restarts in this file"
    )
    parser.add_argument(
        "--seed-file", type=Path, default=None, help="YAML or JSON seed data overriding the built-in"
    )
    parser.add_argument(
        "--print-seed", action="store_true", help="print the effective seed data as JSON and exit"
    )
    parser.add_argument(
        "--regional-host",
        default=None,
        help="host named in self/Location/Operation-Location URLs, e.g. westus.api.cognitive.microsoft.com",
    )
    parser.add_argument("--region", default="westus", help="region named in endpoint links")
    parser.add_argument(
        "--quota", type=int, default=50, help="custom speech endpoint deployments per resource"
    )
    parser.add_argument("--voice-quota", type=int, default=50, help="custom voice endpoints per resource")
    for name, default in (
        ("speech-queue", 30),
        ("speech-deploy", 300),
        ("speech-redeploy", 180),
        ("voice-queue", 10),
        ("voice-deploy", 300),
        ("voice-suspend", 5),
        ("voice-resume", 300),
        ("speech-training", 1800),
        ("voice-training", 3600),
    ):
        parser.add_argument(
            f"--{name}-seconds",
            type=float,
            default=float(default),
            help=f"unscaled duration (default {default})",
        )
    parser.add_argument("--slow-seconds", type=float, default=2.0, help="delay of a 'slow' fault")
    parser.add_argument("--timeout-seconds", type=float, default=30.0, help="hang of a 'timeout' fault")
    parser.add_argument("--log-requests", action="store_true", help="log every request to stderr")


def _port(text: str) -> int:
    """A TCP port, 0-65535 (argparse names the flag in its error, exit 2)."""
    try:
        port = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a port number") from None
    if not 0 <= port <= 65535:
        raise argparse.ArgumentTypeError(f"{port} is not a port: 0-65535 (0 picks a free one)")
    return port


def _listen_host(text: str) -> str:
    """An IP address or a host name, as --metrics-address takes it: an empty host would make aiohttp listen on
    every interface, and a malformed one fail later in the resolver without naming the flag."""
    with contextlib.suppress(ValueError):
        # the default and other plain literals need not load the operator's settings (and with them the
        # Azure client: 0.15 s of start-up)
        return str(ipaddress.ip_address(text))
    from ..settings import check_listen_address

    try:
        return check_listen_address(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


# Why a bind fails: the address is not this machine's, or the port is taken or privileged.
_HOST_ERRNOS = frozenset({errno.EADDRNOTAVAIL, errno.EAFNOSUPPORT})
_PORT_ERRNOS = frozenset({errno.EADDRINUSE, errno.EACCES})


def _listen_problem(exc: ListenError, host: str, port: int) -> str:
    """`FLAG: cannot ...` for an address the simulator cannot listen on: the flag at fault and its value."""
    from .http import url_host

    cause = exc.cause
    if isinstance(cause, socket.gaierror):
        return f"--host: cannot resolve {host!r}: {cause.strerror}"
    # asyncio words the error itself ("error while attempting to bind on address ..."): the errno says it all
    reason = os.strerror(cause.errno) if cause.errno else str(cause)
    if cause.errno in _HOST_ERRNOS:
        return f"--host: cannot listen on {host}: {reason}"
    flag = "--port" if cause.errno in _PORT_ERRNOS else "--host/--port"
    return f"{flag}: cannot listen on {url_host(host)}:{port}: {reason}"


def _split(text: str) -> tuple[str, ...]:
    return tuple(part.strip() for part in text.split(",") if part.strip())


# Config fields whose flag is not simply the field name with dashes.
_FLAGS = {
    "deploy_failure_probability": "--deploy-failure-rate",
    "deployment_quota": "--quota",
    "voice_endpoint_quota": "--voice-quota",
    "resources": "--keys/--resource",
    "name": "--resource",
    "keys": "--keys/--resource",
    "bearer_tokens": "--bearer-token",
}


def _flag(loc: tuple[int | str, ...]) -> str:
    """The flag behind a config error's location (SimulatorConfig field path)."""
    fields = [str(part) for part in loc if isinstance(part, str)]
    if not fields:
        return "--keys/--resource"
    from .config import Durations

    top, name = fields[0], fields[-1]
    if name in Durations.model_fields:  # no other field shares a duration's name
        return f"--{name.replace('_', '-')}-seconds"
    if "rate_limit" in fields:
        return "--resource" if top == "resources" else "--rate-limit"
    return _FLAGS.get(name, f"--{name.replace('_', '-')}")


def build_config(args: argparse.Namespace) -> SimulatorConfig:
    """The configuration the flags describe; a ValueError naming the flag when one is out of range."""
    from pydantic import ValidationError

    from .config import problems

    try:
        return _build_config(args)
    except ValidationError as exc:
        raise ValueError(problems(exc, _flag)) from None


def _build_config(args: argparse.Namespace) -> SimulatorConfig:
    from .config import FAULT_KINDS, Durations, RateLimit, ResourceConfig, SimulatorConfig

    resources = [
        ResourceConfig(
            name="default",
            keys=_split(args.keys),
            bearer_tokens=tuple(args.bearer_token),
            deployment_quota=args.quota,
            voice_endpoint_quota=args.voice_quota,
        )
    ]
    for spec in args.resource:
        name, sep, rest = spec.partition("=")
        keys, at, limit = rest.partition("@")
        if not sep or not _split(keys):
            raise ValueError(f"--resource must look like NAME=KEY1,KEY2 or NAME=KEY1,KEY2@N/S, got {spec!r}")
        try:
            rate_limit = RateLimit.parse(limit) if at else None
        except ValueError as exc:
            raise ValueError(f"--resource {name.strip()}: {exc}") from None
        resources.append(
            ResourceConfig(
                name=name.strip(),
                keys=_split(keys),
                deployment_quota=args.quota,
                voice_endpoint_quota=args.voice_quota,
                rate_limit=rate_limit,
            )
        )
    try:
        rate_limit = RateLimit.parse(args.rate_limit)
    except ValueError as exc:
        raise ValueError(f"--rate-limit: {exc}") from None
    kinds = _split(args.fault_kinds)
    bad = [k for k in kinds if k not in FAULT_KINDS]
    if bad:
        raise ValueError(f"--fault-kinds: unknown kinds {bad}; known: {', '.join(FAULT_KINDS)}")
    return SimulatorConfig.model_validate(
        {
            "resources": resources,
            "time_scale": args.time_scale,
            "rate_limit": rate_limit,
            "fault_rate": args.fault_rate,
            "fault_kinds": kinds,
            "deploy_failure_probability": args.deploy_failure_rate,
            "seed": args.seed,
            "state_file": args.state_file,
            "seed_file": args.seed_file,
            "regional_host": args.regional_host,
            "region": args.region,
            "slow_seconds": args.slow_seconds,
            "timeout_seconds": args.timeout_seconds,
            "durations": Durations(
                speech_queue=args.speech_queue_seconds,
                speech_deploy=args.speech_deploy_seconds,
                speech_redeploy=args.speech_redeploy_seconds,
                voice_queue=args.voice_queue_seconds,
                voice_deploy=args.voice_deploy_seconds,
                voice_suspend=args.voice_suspend_seconds,
                voice_resume=args.voice_resume_seconds,
                speech_training=args.speech_training_seconds,
                voice_training=args.voice_training_seconds,
            ),
        }
    )


def _seed(config: SimulatorConfig) -> Seed:
    from .seed import SeedFileError, default_seed, load_seed

    if config.seed_file is None:
        return default_seed()
    try:
        return load_seed(config.seed_file)
    except SeedFileError as exc:
        raise ValueError(f"--seed-file: {exc}") from None


def main(args: argparse.Namespace) -> int:
    from .state import StateFileError, check_state_file

    try:
        config = build_config(args)
        seed = _seed(config)
        if args.print_seed:
            json.dump(seed.dump(), sys.stdout, indent=2)
            sys.stdout.write("\n")
            return 0
        if config.state_file is not None:
            check_state_file(config.state_file)
    except StateFileError as exc:
        print(f"simulate-azure: --state-file: {exc}", file=sys.stderr)
        return 2
    except ValueError as exc:
        print(f"simulate-azure: {exc}", file=sys.stderr)
        return 2
    import asyncio

    from .server import ListenError, serve

    try:
        return asyncio.run(serve(config, args.host, args.port, seed=seed, log_requests=args.log_requests))
    except KeyboardInterrupt:
        return 0
    except StateFileError as exc:  # unreadable or foreign state file; the last save failed
        print(f"simulate-azure: --state-file: {exc}", file=sys.stderr)
        return 2
    except ListenError as exc:
        print(f"simulate-azure: {_listen_problem(exc, args.host, args.port)}", file=sys.stderr)
        return 2
