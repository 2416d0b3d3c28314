"""Serving the simulator as a process: print the listening line, stop cleanly on SIGTERM/SIGINT."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import sys

from .config import SimulatorConfig
from .seed import Seed


class ListenError(Exception):
    """The simulator could not listen on its host and port: the name does not resolve, the address is not this
    machine's, the port is taken. Only start-up errors become one: an OSError while serving is another story
    (a closed stdout, say) and must not be reported as a bad --host or --port."""

    def __init__(self, cause: OSError) -> None:
        super().__init__(str(cause))
        self.cause = cause


async def serve(
    config: SimulatorConfig, host: str, port: int, *, seed: Seed | None = None, log_requests: bool = False
) -> int:
    """Serve until SIGTERM/SIGINT, then save the state file (a StateFileError if it cannot be); a ListenError
    if host and port cannot be listened on."""
    from .app import run_simulator

    if log_requests:
        logging.basicConfig(level=logging.INFO, stream=sys.stderr, format="%(asctime)s %(message)s")
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    async with contextlib.AsyncExitStack() as stack:
        simulator = run_simulator(config, seed=seed, host=host, port=port, access_log=log_requests)
        try:
            sim = await stack.enter_async_context(simulator)
        except OSError as exc:
            raise ListenError(exc) from exc
        # Fixtures parse exactly this line; it appears only once the port accepts connections.
        print(f"simulate-azure listening on {sim.url}", flush=True)
        await stop.wait()
    return 0
