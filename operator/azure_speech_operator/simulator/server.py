"""Serving the simulator as a process: print the listening line, stop cleanly on SIGTERM/SIGINT."""

from __future__ import annotations

import asyncio
import logging
import signal
import sys

from .config import SimulatorConfig
from .seed import Seed


async def serve(
    config: SimulatorConfig, host: str, port: int, *, seed: Seed | None = None, log_requests: bool = False
) -> int:
    """Serve until SIGTERM/SIGINT, then save the state file (a StateFileError if it cannot be)."""
    from .app import run_simulator

    if log_requests:
        logging.basicConfig(level=logging.INFO, stream=sys.stderr, format="%(asctime)s %(message)s")
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    async with run_simulator(config, seed=seed, host=host, port=port, access_log=log_requests) as sim:
        # Fixtures parse exactly this line; it appears only once the port accepts connections.
        print(f"simulate-azure listening on {sim.url}", flush=True)
        await stop.wait()
    return 0
