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
        "asgi-ext.websocket-denial": "fail: ASGI-WS-03.b",  # granian's: only the last part
    }),
    ("ws-lax-b", "asgi", wrapped("lax_b"), UVICORN_WSPROTO, {
        "asgi-www.ws-scope": "fail: ASGI-WS-01.p",  # hypercorn's: the last protocol line only
        "asgi-www.ws-scope-root-path-option": "fail: ASGI-WS-01.i",  # root_path for http only
        "asgi-www.ws-accept": "fail: ASGI-WS-02.f",  # the accept's headers dropped
        "asgi-www.ws-close": "fail: ASGI-WS-03.d",  # the close reason dropped
        "asgi-www.ws-messages": "fail: ASGI-WS-04.b",  # empty messages dropped
        "asgi-www.ws-generated-messages": "fail: ASGI-WS-04.b",
        "asgi-www.ws-disconnect": "fail: ASGI-WS-05.f",  # spec 2.5 declared, reason dropped
    }),
    ("ws-lax-c", "asgi", wrapped("lax_c"), UVICORN_WSPROTO, {
        "asgi-www.ws-scope": "fail: ASGI-WS-01.c",  # scheme "http"
        "asgi-www.ws-accept": "fail: ASGI-WS-02.a",  # the 101 before the app's accept
        "asgi-www.ws-close": "fail: ASGI-WS-03.a",  # accept + close instead of a 403
        # both text and bytes set; daphne's: the app's empty messages never sent
        "asgi-www.ws-messages": "fail: ASGI-WS-04.e, ASGI-WS-04.h",
    }),
    ("ws-lax-proxy", "asgi", wrapped("lax_proxy"), UVICORN_WSPROTO, {
        "deployment.websocket": "fail: PROXY-08.g, PROXY-08.l, PROXY-08.m",
    }),
    # What only a server's own WebSocket layer does: the naive server, switches for clauses
    # of different checks (naive_websocket_server.py).
    ("ws-naive-a", "asgi", PROBE,
     naive("no-pong", "accept-unmasked", "upgrade-http10", "no-disconnect-on-reset"), {
         "rfc6455.ping-pong": "fail: ASGI-WS-06.a",
         "rfc6455.fail-the-connection": "fail: ASGI-WS-08.a",
         "rfc9110.upgrade-http10": "fail: PROXY-08.c",
         "asgi-www.ws-disconnect": "fail: ASGI-WS-05.a",
     }),
    ("ws-naive-b", "asgi", PROBE, naive("pong-empty", "ignore-opcode", "reset-code-1000"), {
        "rfc6455.ping-pong": "fail: ASGI-WS-06.c",
        "rfc6455.fail-the-connection": "fail: ASGI-WS-08.c",
        "asgi-www.ws-disconnect": "fail: ASGI-WS-05.e",
    }),
    # RSV ignored, invalid UTF-8 delivered, and the reserved-opcode error closed without a
    # Close frame: three sub-cases of one check, one switch each.
    ("ws-naive-c", "asgi", PROBE,
     naive("ping-to-app", "ignore-rsv", "replace-utf8", "close-no-frame"), {
         "rfc6455.ping-pong": "fail: ASGI-WS-06.e",
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
