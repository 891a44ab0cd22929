"""The WebSocket checks (asgi-www.ws-*, rfc6455.*, asgi-ext.websocket-denial,
deployment.websocket, rfc9110.upgrade-http10) catch the clause each variant breaks: the ASGI
probe under uvicorn (wsproto) behind a middleware that breaks one clause
(tests/broken/broken_asgi_websocket.py), or, for what only a server's own WebSocket layer can
get wrong, a deliberately naive WebSocket server with one switch per defect
(tests/broken/naive_websocket_server.py). Real servers pass the same checks: see
test_real_targets.py and the published matrix."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import BROKEN, check_broken_stack

PROBE = "conformance.probes.asgi_app:app"
# uvicorn with its wsproto implementation named, so that installing websockets changes nothing.
UVICORN_WSPROTO = ('["{bin}/uvicorn", "--http", "h11", "--ws", "wsproto", "--host", "{host}", '
                   '"--port", "{port}", "--lifespan", "on", "--no-access-log", "{app}"]')


def naive(*switches: str) -> str:
    extra = "".join(f'"--{switch}", ' for switch in switches)
    return (f'["{{python}}", "{BROKEN}/naive_websocket_server.py", "--host", "{{host}}", '
            f'"--port", "{{port}}", {extra}"{{app}}"]')


def wrapped(variant: str) -> str:
    return f"broken_asgi_websocket:{variant}"


# (variant name, interface, app, command, {check id: expected verdict and clauses})
BROKEN_STACKS: list[tuple[str, str, str, str | None, dict[str, str]]] = [
    # Middlewares over uvicorn (broken_asgi_websocket.py): each clause below is one
    # middleware's defect; the stack names them in this order.
    ("ws-lax-a", "asgi", wrapped("lax_a"), UVICORN_WSPROTO, {
        "asgi-www.ws-scope": "fail: ASGI-WS-01.k",  # duplicate header lines merged
        "asgi-www.ws-accept": "fail: ASGI-WS-02.c",  # the accept's subprotocol dropped
        "asgi-www.ws-close": "fail: ASGI-WS-03.c",  # the close code dropped
        "asgi-www.ws-messages": "fail: ASGI-WS-04.g",  # text delivered as bytes
        # hypercorn's defect: the client's close code lost (1006)
        "asgi-www.ws-disconnect": "fail: ASGI-WS-05.b, ASGI-WS-05.c",
        "asgi-www.ws-send-after-close": "warn: ASGI-WS-07.a",  # send() after close returns
        "asgi-ext.websocket-denial": "fail: ASGI-EXT-01.g",  # granian's: only the last part
    }),
    ("ws-lax-b", "asgi", wrapped("lax_b"), UVICORN_WSPROTO, {
        "asgi-www.ws-scope": "fail: ASGI-WS-01.p",  # hypercorn's: the last protocol line only
        "asgi-www.ws-scope-root-path-option": "fail: ASGI-WS-01.i",  # root_path for http only
        # the accept's headers dropped; a subprotocol sent though the app accepted with none
        "asgi-www.ws-accept": "fail: ASGI-WS-02.f, ASGI-WS-02.e",
        "asgi-www.ws-close": "fail: ASGI-WS-03.d",  # the close reason dropped
        "asgi-www.ws-messages": "fail: ASGI-WS-04.b",  # empty messages dropped
        "asgi-www.ws-generated-messages": "fail: ASGI-WS-04.b",
        "asgi-www.ws-disconnect": "fail: ASGI-WS-05.f",  # spec 2.5 declared, reason dropped
        "asgi-ext.websocket-denial": "fail: ASGI-EXT-01.f",  # the denial's status replaced
    }),
    ("ws-lax-c", "asgi", wrapped("lax_c"), UVICORN_WSPROTO, {
        "asgi-www.ws-scope": "fail: ASGI-WS-01.c",  # scheme "http"
        "asgi-www.ws-accept": "fail: ASGI-WS-02.a",  # the 101 before the app's accept
        "asgi-www.ws-close": "fail: ASGI-WS-03.a",  # accept + close instead of a 403
        # both text and bytes set; daphne's: the app's empty messages never sent
        "asgi-www.ws-messages": "fail: ASGI-WS-04.e, ASGI-WS-04.h",
    }),
    ("ws-lax-d", "asgi", wrapped("lax_d"), UVICORN_WSPROTO, {
        # scheme empty, path undecoded, raw_path decoded, query decoded, headers reversed,
        # names upper-cased, a pseudo-header, client port a str, server port wrong
        "asgi-www.ws-scope": "fail: ASGI-WS-01.d, ASGI-WS-01.e, ASGI-WS-01.f, ASGI-WS-01.h, "
                             "ASGI-WS-01.j, ASGI-WS-01.l, ASGI-WS-01.m, ASGI-WS-01.n, "
                             "ASGI-WS-01.o",
        "asgi-www.ws-messages": "fail: ASGI-WS-04.f",  # bytes delivered as text
    }),
    ("ws-lax-e", "asgi", wrapped("lax_e"), UVICORN_WSPROTO, {
        "asgi-www.ws-scope": "info: ASGI-WS-01.g",  # raw_path absent: allowed, reported
        "asgi-www.ws-messages": "fail: ASGI-WS-04.d, ASGI-WS-04.a",  # payloads changed
        "asgi-ext.websocket-denial": "fail: ASGI-EXT-01.h",  # the denial's headers reordered
    }),
    ("ws-lax-type", "asgi", wrapped("lax_type"), UVICORN_WSPROTO, {
        "asgi-www.ws-scope": "fail: ASGI-WS-01.b",  # type b"websocket"
    }),
    ("ws-lax-unadvertised", "asgi", wrapped("lax_unadvertised"), UVICORN_WSPROTO, {
        # the denial delivered, its extension not in the scope
        "asgi-ext.websocket-denial": "fail: ASGI-EXT-01.b",
    }),
    ("ws-lax-proxy", "asgi", wrapped("lax_proxy"), UVICORN_WSPROTO, {
        "deployment.websocket": "fail: PROXY-08.d, PROXY-08.e, PROXY-08.f, PROXY-08.g, "
                                "PROXY-08.i, PROXY-08.l, PROXY-08.m",
    }),
    ("ws-lax-proxy-b", "asgi", wrapped("lax_proxy_b"), UVICORN_WSPROTO, {
        "deployment.websocket": "fail: PROXY-08.h, PROXY-08.j, PROXY-08.n",
    }),
    # What only a server's own WebSocket layer does: the naive server, switches for clauses
    # of different checks (naive_websocket_server.py).
    ("ws-naive-a", "asgi", PROBE,
     naive("no-pong", "accept-unmasked", "upgrade-http10", "no-disconnect-on-reset",
           "reject-fragments"), {
         "rfc6455.ping-pong": "fail: ASGI-WS-06.a",
         "rfc6455.fail-the-connection": "fail: ASGI-WS-08.a",
         "rfc9110.upgrade-http10": "fail: PROXY-08.c",
         "asgi-www.ws-disconnect": "fail: ASGI-WS-05.a",
         "asgi-www.ws-close": "fail: ASGI-WS-05.a",  # nor after its own 403
         "asgi-www.ws-messages": "fail: ASGI-WS-04.c",
     }),
    ("ws-naive-b", "asgi", PROBE,
     naive("pong-empty", "ignore-opcode", "reset-code-1000", "app-close-no-frame",
           "no-close-echo", "denial-keep-open"), {
         "rfc6455.ping-pong": "fail: ASGI-WS-06.c",
         "rfc6455.fail-the-connection": "fail: ASGI-WS-08.c",
         "asgi-www.ws-disconnect": "fail: ASGI-WS-05.e",
         "asgi-www.ws-close": "fail: ASGI-WS-03.f",
         "asgi-ext.websocket-denial": "warn: ASGI-EXT-01.d",
         "deployment.websocket": "fail: PROXY-08.k",
     }),
    # An HTTP/1.0 request with Upgrade refused with a 400 the app never sees, where the same
    # request without Upgrade gets the server's 200 (hypercorn's answer).
    ("ws-naive-refuse-http10", "asgi", PROBE, naive("refuse-http10-upgrade"), {
        "rfc9110.upgrade-http10": "fail: PROXY-08.c",
    }),
    # A pong held back until the app's next message has gone out (or 1 s).
    ("ws-naive-pong-late", "asgi", PROBE, naive("pong-after-data"), {
        "rfc6455.ping-pong": "warn: ASGI-WS-06.b",
    }),
    # A 403 with "Connection: close" to a close before accept, and the connection held open
    # until the app returns (hypercorn's): the app still gets websocket.disconnect at the
    # client's close.
    ("ws-naive-403-keep-open", "asgi", PROBE, naive("close-403-keep-open"), {
        "asgi-www.ws-close": "fail: HTTP-13.g",
    }),
    # An accept with headers answered "200 OK" with the upgrade fields (socketify).
    ("ws-naive-accept-headers-200", "asgi", PROBE, naive("accept-headers-200"), {
        "asgi-www.ws-accept": "fail: ASGI-WS-02.j",
    }),
    # RSV ignored, invalid UTF-8 delivered, and the reserved-opcode error closed without a
    # Close frame: three sub-cases of one check, one switch each.
    ("ws-naive-c", "asgi", PROBE,
     naive("ping-to-app", "ignore-rsv", "replace-utf8", "close-no-frame",
           "first-fragment-only"), {
         "rfc6455.ping-pong": "fail: ASGI-WS-06.e",
         "asgi-www.ws-messages": "warn: ASGI-WS-04.a",
         "rfc6455.fail-the-connection":
             "fail: ASGI-WS-08.d, ASGI-WS-08.e, ASGI-WS-08.g, ASGI-WS-08.f",
     }),
]
# Rows whose target needs uvicorn's prefix option.
PROXY_SECTIONS = {"ws-lax-b": 'prefix_args = ["--root-path", "/app"]'}


@pytest.mark.parametrize("name,interface,app,command,expected",
                         BROKEN_STACKS, ids=[row[0] for row in BROKEN_STACKS])
def test_check_catches_broken_websocket_server(tmp_path: Path, name: str, interface: str,
                                               app: str, command: str | None,
                                               expected: dict[str, str]) -> None:
    check_broken_stack(tmp_path, name, interface, app, command, expected, examples=10,
                       extra_toml=(f"[proxy]\n{PROXY_SECTIONS[name]}"
                                   if name in PROXY_SECTIONS else ""))
