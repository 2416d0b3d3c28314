"""`python -m bench.floor_operator --kind speech|voice --metrics-port N`: kopf's floor, the operator that
`python -m bench.converge --floor` runs instead of ours.

One `@kopf.on.create` handler for the kind that does nothing, started through the operator's own
`runner.run_operator` so that everything kopf-side is the same as ours: `runner.build_kopf_settings` with the
default settings (standalone, no peering; the finalizer name, kopf's progress and last-handled records as
annotations under the operator's prefix; no events from log lines; the watch and request timeouts and
retries), cluster-wide, and /readyz once kopf watches the kind. What differs: no other handlers (so no
finalizer is added: kopf adds one only for deletion handlers and daemons), kopf's own login (the
kubeconfig in $KUBECONFIG, as ours), and kopf's own log levels (its "Handler ... succeeded" and "Creation is
processed" lines at INFO, where the operator lowers them to DEBUG), in the operator's text format so the
bench counts them alike.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
from collections.abc import Sequence
from typing import Any

import kopf
from azure_speech_operator.runner import ServedKind, run_operator
from azure_speech_operator.runtime.metrics import Metrics
from azure_speech_operator.runtime.oplog import TEXT_FORMAT
from azure_speech_operator.settings import OperatorSettings

from bench import plan

HANDLER_ID = "nothing"


def register(registry: kopf.OperatorRegistry, plural: str) -> None:
    """The floor's only resource handler: on create of `plural`, nothing."""

    # kopf's own login from $KUBECONFIG (a registry of one's own has no default login handler)
    kopf.on.login(id="login", registry=registry)(kopf.login_via_client)

    @kopf.on.create(plan.GROUP, plan.VERSION, plural, id=HANDLER_ID, registry=registry)
    async def nothing(**_: Any) -> None:
        return None


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.floor_operator", description=__doc__)
    parser.add_argument("--kind", choices=sorted(plan.KINDS), required=True)
    parser.add_argument("--metrics-port", type=int, required=True, help="port of /readyz (127.0.0.1)")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format=TEXT_FORMAT, stream=sys.stdout)
    kind, plural = plan.KINDS[args.kind]
    registry = kopf.OperatorRegistry()
    register(registry, plural)
    settings = OperatorSettings(metrics_address="127.0.0.1", metrics_port=args.metrics_port)
    served = [ServedKind(kind, plural, __name__)]
    asyncio.run(run_operator(settings, registry=registry, served=served, metrics=Metrics()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
