"""The contract between the checks and the probe apps: the routes a check requests and the
journal events a probe records. Both sides import these names, so a route or an event renamed
on one side cannot silently stop matching on the other.

Both enums are str-valued: ``f"{Route.STREAM}?blocks=2"`` and ``entry["event"] == Event.BODY``
work as plain strings do. A path that is no route (``/desync/...``, ``/upstream/...``, any other)
is answered by the echo behaviour, which journals REQUEST and BODY."""

from __future__ import annotations

from enum import StrEnum


class Route(StrEnum):
    """Paths the probe apps give a behaviour to (``app`` in wsgi_app.py / asgi_app.py)."""

    READY = "/probe/ready"  # the harness's readiness probe; never journalled
    ECHO = "/probe/echo"  # any unrouted path behaves so: journal request + body, answer "echo"
    # both interfaces
    STREAM = "/probe/stream"  # ?blocks=N&wait=S: gated blocks (PRODUCE, GATE_OPEN/TIMEOUT)
    # ?code=N: answer that status with a small body (none for 204/304); WSGI ?blocks=0: as []
    FRAMING_STATUS = "/probe/framing-status"
    NO_READ = "/probe/no-read"  # answer without reading the request body
    RESPOND = "/probe/respond"  # ?mode= (WSGI), ?case= (ASGI): scripted responses
    # WSGI only
    TAINT = "/probe/taint"  # add keys to environ (fresh-dict check)
    READ_ALL = "/probe/read-all"
    RAISE_IN_ITER = "/probe/raise-in-iter"
    ENDLESS = "/probe/endless"  # ?seconds=S: stream until the client leaves or S pass
    INPUT = "/probe/input"  # ?ops=...: wsgi.input operations, each journalled
    # ASGI only
    WAIT_DISCONNECT = "/probe/wait-disconnect"
    RECEIVE_ALL = "/probe/receive-all"
    SEND_AFTER_DISCONNECT = "/probe/send-after-disconnect"
    STATE = "/probe/state"
    EXT = "/probe/ext"  # ?kind=...: the ASGI extensions' send events
    # behind nginx (proxy_probes.py), both interfaces
    WHOAMI = "/probe/whoami"
    STATUS = "/probe/status"
    ERROR = "/probe/error"
    DIGEST = "/probe/digest"


class WsRoute(StrEnum):
    """Paths the ASGI probe gives a WebSocket behaviour to (asgi_websocket.py); any other path
    of a websocket scope is the echo."""

    ECHO = "/ws/echo"
    CLOSE_BEFORE_ACCEPT = "/ws/close-before-accept"
    DENY = "/ws/deny"
    CLOSE_AFTER_ACCEPT = "/ws/close-after-accept"
    SEND_AFTER_CLOSE = "/ws/send-after-close"
    SEND_SIZES = "/ws/send-sizes"
    RECEIVE_ONLY = "/ws/receive-only"


class Event(StrEnum):
    """Journal event names (``journal.record(event, rid, ...)``)."""

    REQUEST = "request"  # the environ / scope snapshot
    BODY = "body"  # the whole request body as the app read it
    BODY_SUMMARY = "body-summary"  # size and sha256 of a large body
    RECEIVE = "receive"  # one ASGI receive() result
    AWAITING_RECEIVE = "awaiting-receive"
    RECEIVE_AGAIN = "receive-again"  # a fresh receive() after a pending one was given up
    AFTER_RESPONSE = "after-response"
    SEND_AFTER_DISCONNECT = "send-after-disconnect"
    SEND_RESULT = "send-result"  # one scripted ASGI send(): raised or not
    APP_RETURNED = "app-returned"
    APP_EXCEPTION = "app-exception"
    STATE = "state"
    FD_AFTER_SEND = "fd-after-send"
    PRODUCE = "produce"
    GATE_OPEN = "gate-open"
    GATE_TIMEOUT = "gate-timeout"
    CLOSE = "close"  # the WSGI iterable's close()
    RAISE = "raise"
    ENDLESS_FINISHED = "endless-finished"
    INPUT_START = "input-start"
    INPUT_STEP = "input-step"
    RESPOND = "respond"  # one scripted WSGI start_response / write step
    FILE_CLOSE = "file-close"
    WHOAMI = "whoami"
    STATUS = "status"
    ERROR = "error"
    LIFESPAN_SCOPE = "lifespan-scope"
    LIFESPAN_RECEIVE = "lifespan-receive"
    LIFESPAN_SEND = "lifespan-send"
    WS_RECEIVE = "ws-receive"  # one websocket receive() result (a digest of large payloads)
    WS_SEND = "ws-send"  # one websocket send(): the message and whether it raised


# The response-side probe's latin-1 header value (the latin1-repeat case of both probes):
# characters 0x80-0xFF, with \xa0 and \x85 (whitespace to str.strip()) at its edges. A WSGI app
# sends it as this str (PEP 3333: ISO-8859-1 characters), an ASGI app as its latin-1 bytes.
LATIN1_HEADER_VALUE = "\xa0caf\xe9\xa0\x85 \xff\x85"
# The echo behaviour's answer, to every method (HEAD too: whether a server forwards an app's
# body for HEAD is what rfc9112.bodiless-responses looks at).
ECHO_BODY = b"echo\n"
# The app's own repeated header: one name in two lines, values in this order.
REPEATED_HEADER = ("X-Repeat", ("one", "two"))


def probe_query(raw: object) -> str:
    """An ASGI scope's query_string as the text a probe app parses its parameters from.

    A server that keeps the '?' in query_string (socketify 0.0.31: b"?case=...") breaks
    ASGI-SCOPE-04, which asgi-www.scope-query-string and asgi-www.ws-scope report from the
    journalled scope. The probe apps drop that one '?' before parsing, so the bug fails those
    checks only, instead of making every scripted case (?case=, ?kind=, ?code=, ...) fall
    through to the wrong behaviour and every check built on one report what it did not test."""
    text = raw.decode("latin-1") if isinstance(raw, bytes | bytearray) else str(raw or "")
    return text.removeprefix("?")


# The connection-specific fields of RFC 9113 8.2.2 other than Transfer-Encoding (which the
# scripted responses send on their own: app-te, hop-by-hop), as an app might send them
# (/probe/respond ?case= / ?mode=connection-fields): a server speaking HTTP/2 must not carry
# them onto the wire.
CONNECTION_FIELDS = (("Connection", "keep-alive"), ("Keep-Alive", "timeout=5"),
                     ("Proxy-Connection", "keep-alive"), ("Upgrade", "h2c"))
CONNECTION_FIELDS_BODY = b"connection-fields\n"
