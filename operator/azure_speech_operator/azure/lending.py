"""What the caller lends out while one of its requests waits for its Speech resource's request budget or
connections. The runtime bounds the passes in flight at once, and a pass waiting for one Speech resource
must not hold back the passes of all the others: it sets here a context manager that gives its place up for
the wait (runtime/passes.py). The client knows nothing of passes: it enters whatever is set, around a wait
only (a request that leaves at once lends nothing)."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from contextvars import ContextVar

WhileWaiting = Callable[[], AbstractAsyncContextManager[None]]

while_waiting: ContextVar[WhileWaiting | None] = ContextVar("while_waiting", default=None)
