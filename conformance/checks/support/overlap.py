"""Waiting on several connections of one check at once.

Some checks send a few independent requests, each on a connection of its own, and then wait
on each for an answer, a close or a bound. One after the other, their waits add up; side by
side, the check takes as long as its slowest connection. Each wait keeps its own bound,
counted from its own request, exactly as before: only the waits overlap, never what is sent
or judged. Judging stays in the calling thread and in the sub-cases' order, so findings come
out as they did one after the other.

Only for servers that serve connections concurrently (the ASGI event loops): a server that
takes one connection at a time would serialise the waits and let a later one run out.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any


def overlapped(waits: Sequence[Callable[[], Any]]) -> list[Any]:
    """Run each wait in a thread of its own; their results in the order given. A wait that
    raises raises here (the first one in that order). A wait touches only its own
    connection: the check's records (findings, connections, the journal) stay in the calling
    thread."""
    if len(waits) <= 1:
        return [wait() for wait in waits]
    with ThreadPoolExecutor(max_workers=len(waits), thread_name_prefix="overlap") as pool:
        futures = [pool.submit(wait) for wait in waits]
        return [future.result() for future in futures]
