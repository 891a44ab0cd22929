"""Letting go of a connection the server closes: the client's close, at once.

A server that closes gracefully (RFC 9112 9.6) half-closes and then waits for the client's
close before its worker is free: gunicorn's sync worker lingers up to 2 s (gunicorn/util.py
close_graceful). A check that keeps such a connection open after its last response makes a
one-worker server wait that long before the next request of the check is even accepted. The
client has nothing more to say on a connection the server closes, so it closes too."""

from __future__ import annotations

from conformance.wire import Connection

# Seconds for the rest of a response whose app has finished (its last block has arrived, or
# its journalled steps all ran). It only decides whether the client closes its end early: no
# finding rests on it, and a response not complete by then leaves the connection as it was.
END_OF_RESPONSE = 1.0


def close_when_server_does(conn: Connection, *, method: str = "GET") -> None:
    """Read the next response on ``conn`` and close the client's end when the server said it
    closes the connection after it (Connection: close, close-delimited, HTTP/1.0 without
    keep-alive). A connection the server keeps open is left as it was."""
    response = conn.read_response(method=method, timeout=END_OF_RESPONSE)
    if response.complete and not response.keeps_alive():
        conn.close()
