"""The WSGI probe's endless stream (Route.ENDLESS) and the bounds that wait on it.

A check's bound is always longer than what the suite's own probe does: the stream ends by
itself after ENDLESS_SECONDS, and close() is owed "upon completion of the current request",
so a server that notices a vanished client only when the stream ends is slow, not wrong. Every
wait for the close (or for the first block of a held-back response) covers the whole stream and
CLOSE_BOUND more."""

from __future__ import annotations

from conformance.probes.contract import Route

# A correct server calls close() within milliseconds; 3 s absorbs a loaded machine. (It was
# 10 s, and the stream 5 s: that only made every server that never calls close() cost the
# matrix 15 s per case, and changed no verdict of the 28 configurations.)
CLOSE_BOUND = 3.0  # seconds for close() after the response ended or the client vanished
ENDLESS_SECONDS = 3.0
ENDLESS_PATH = f"{Route.ENDLESS}?seconds={ENDLESS_SECONDS:g}"
DISCONNECT_CLOSE_BOUND = ENDLESS_SECONDS + CLOSE_BOUND
FIRST_BLOCK_BOUND = ENDLESS_SECONDS + CLOSE_BOUND
