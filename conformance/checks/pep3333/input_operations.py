"""The WSGI probe app's wsgi.input operations (Route.INPUT): the body, the bounds and the
results shared by the checks of several sections (no checks here).

The probe app's /probe/input runs the wsgi.input operations a check names and journals each
one before (``input-start``) and after (``input-step``) it runs.
"""

from __future__ import annotations

import time
from typing import Any

from conformance.probes.contract import Event
from conformance.probes.journal import Journal

# Seconds an input operation may take before it counts as blocked. The probe runs each
# operation as soon as the previous one returned and the whole body was sent with the head,
# so a correct server answers in milliseconds.
STEP_DEADLINE = 2.0
RESPONSE_BOUND = 5.0  # seconds for the response once the app has run its operations
BODY = b"first line\nsecond\n\nfourth line is longer than the others\nlast\n"


def wait_steps(journal: Journal, rid: str, count: int) -> list[dict[str, Any]]:
    """The ``input-step`` events of ``rid`` (by index) once ``count`` operations returned, or
    those there are when one operation did not return within STEP_DEADLINE of its own start.
    The deadline runs afresh from each start and each step the journal shows (the probe runs
    one operation after the other), so the operation that blocked got the whole STEP_DEADLINE
    from its ``input-start``, not what earlier operations left of one shared deadline."""
    seen: tuple[int, int] | None = None
    deadline = 0.0
    while True:
        events = journal.for_rid(rid)
        steps = [e for e in events if e["event"] == Event.INPUT_STEP]
        if len(steps) >= count:
            break
        progress = (sum(e["event"] == Event.INPUT_START for e in events), len(steps))
        now = time.monotonic()
        if progress != seen:
            seen, deadline = progress, now + STEP_DEADLINE
        elif now >= deadline:
            break
        time.sleep(0.01)
    return sorted(steps, key=lambda e: e["index"])


def result_bytes(result: Any) -> bytes:
    """The bytes an input operation returned (a list of lines joined); b"" for anything else."""
    if isinstance(result, bytes):
        return result
    if isinstance(result, list) and all(isinstance(item, bytes) for item in result):
        return b"".join(result)
    return b""
