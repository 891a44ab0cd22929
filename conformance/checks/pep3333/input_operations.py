"""The WSGI probe app's wsgi.input operations (Route.INPUT): the body, the bounds and the
results shared by the checks of several sections (no checks here).

The probe app's /probe/input runs the wsgi.input operations a check names and journals each
one before (``input-start``) and after (``input-step``) it runs.
"""

from __future__ import annotations

from typing import Any

# Seconds an input operation may take before it counts as blocked. The probe runs each
# operation as soon as the previous one returned and the whole body was sent with the head,
# so a correct server answers in milliseconds.
STEP_DEADLINE = 2.0
RESPONSE_BOUND = 5.0  # seconds for the response once the app has run its operations
BODY = b"first line\nsecond\n\nfourth line is longer than the others\nlast\n"


def result_bytes(result: Any) -> bytes:
    """The bytes an input operation returned (a list of lines joined); b"" for anything else."""
    if isinstance(result, bytes):
        return result
    if isinstance(result, list) and all(isinstance(item, bytes) for item in result):
        return b"".join(result)
    return b""
