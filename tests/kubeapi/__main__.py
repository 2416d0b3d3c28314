"""`python -m tests.kubeapi --port PORT --kubeconfig FILE`: serve the emulated Kubernetes API until
SIGTERM."""

from __future__ import annotations

import argparse
import asyncio
import logging
import signal
import sys

from .runner import start_site, write_kubeconfig
from .server import KubeApi, ServerOptions


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m tests.kubeapi", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=0, help="port to listen on (default: any free port)")
    parser.add_argument("--kubeconfig", help="write a kubeconfig for this server to FILE")
    parser.add_argument("--namespace", default="default", help="the kubeconfig context's namespace")
    parser.add_argument(
        "--bookmark-interval", type=float, default=15.0, help="seconds between watch BOOKMARK events"
    )
    parser.add_argument("--history", type=int, default=2000, help="watch events retained per resource")
    parser.add_argument("--log-level", default="WARNING", help="INFO logs every request")
    return parser


async def _serve(args: argparse.Namespace) -> int:
    from .registry import Registry

    api = KubeApi(
        Registry(history_limit=args.history), ServerOptions(bookmark_interval=args.bookmark_interval)
    )
    runner, url = await start_site(api, args.host, args.port)
    if args.kubeconfig:
        write_kubeconfig(args.kubeconfig, url, args.namespace)
    print(f"kubeapi listening on {url}", flush=True)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()
    await runner.cleanup()
    return 0


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    logging.basicConfig(
        level=args.log_level.upper(),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    return asyncio.run(_serve(args))


if __name__ == "__main__":
    sys.exit(main())
