"""Runs every benchmark and prints one line per figure: `python -m bench`."""

from __future__ import annotations

import asyncio
import sys
import time

from . import client_bench, polling

BENCHMARKS = [("Azure client", client_bench.run)]


def main() -> int:
    def report(name: str, figure: str) -> None:
        print(f"  {name:<66} {figure}", flush=True)

    started = time.perf_counter()
    for title, run in BENCHMARKS:
        print(f"{title}:", flush=True)
        asyncio.run(run(report))
    print("Deployment polling (reads and lag per deployment duration):", flush=True)
    for interval in (15.0, 2.0):
        for line in polling.table(interval=interval):
            print(f"  {line}", flush=True)
    print(f"done in {time.perf_counter() - started:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
