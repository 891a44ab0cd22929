"""One poll-until helper: every wait of the suite for something another process does
(a journal event, a port that answers, a process that exits, a listener that closes).

The deadline is the suite's bound; a caller that hits it reports what did not happen within
how long (DESIGN.md: no server is blamed for the suite's own timing)."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")

DEFAULT_INTERVAL = 0.01


def poll_until(probe: Callable[[], T | None], timeout: float, *,
               interval: float = DEFAULT_INTERVAL) -> T | None:
    """Call ``probe`` until it returns something other than None (or False); that value, or
    None when ``timeout`` seconds pass first. ``probe`` runs at least once."""
    deadline = time.monotonic() + timeout
    while True:
        value = probe()
        if value is not None and value is not False:
            return value
        if time.monotonic() >= deadline:
            return None
        time.sleep(interval)
