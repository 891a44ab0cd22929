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
    ("ws-merges-duplicate-headers", "asgi", wrapped("merges_duplicate_headers"), UVICORN_WSPROTO,
     {"asgi-www.ws-scope": "fail: ASGI-WS-01.k"}),
    ("ws-last-subprotocol-line", "asgi", wrapped("last_subprotocol_line"), UVICORN_WSPROTO,
     {"asgi-www.ws-scope": "fail: ASGI-WS-01.p"}),
    ("ws-scheme-http", "asgi", wrapped("scheme_http"), UVICORN_WSPROTO,
     {"asgi-www.ws-scope": "fail: ASGI-WS-01.c"}),
    ("ws-no-root-path", "asgi", wrapped("no_root_path"), UVICORN_WSPROTO,
     {"asgi-www.ws-scope-root-path-option": "fail: ASGI-WS-01.i"}),
    ("ws-accepts-before-the-app", "asgi", wrapped("accepts_before_the_app"), UVICORN_WSPROTO,
     {"asgi-www.ws-accept": "fail: ASGI-WS-02.a"}),
    ("ws-drops-subprotocol", "asgi", wrapped("drops_subprotocol"), UVICORN_WSPROTO,
     {"asgi-www.ws-accept": "fail: ASGI-WS-02.c"}),
    ("ws-drops-accept-headers", "asgi", wrapped("drops_accept_headers"), UVICORN_WSPROTO,
     {"asgi-www.ws-accept": "fail: ASGI-WS-02.f"}),
    ("ws-accepts-instead-of-403", "asgi", wrapped("accepts_instead_of_403"), UVICORN_WSPROTO,
     {"asgi-www.ws-close": "fail: ASGI-WS-03.a"}),
    ("ws-drops-close-code", "asgi", wrapped("drops_close_code"), UVICORN_WSPROTO,
     {"asgi-www.ws-close": "fail: ASGI-WS-03.c"}),
    ("ws-drops-close-reason", "asgi", wrapped("drops_close_reason"), UVICORN_WSPROTO,
     {"asgi-www.ws-close": "fail: ASGI-WS-03.d"}),
    ("ws-drops-empty-messages", "asgi", wrapped("drops_empty_messages"), UVICORN_WSPROTO,
     {"asgi-www.ws-messages": "fail: ASGI-WS-04.b",
      "asgi-www.ws-generated-messages": "fail: ASGI-WS-04.b"}),
    ("ws-text-as-bytes", "asgi", wrapped("text_as_bytes"), UVICORN_WSPROTO,
     {"asgi-www.ws-messages": "fail: ASGI-WS-04.g"}),
    ("ws-both-keys", "asgi", wrapped("both_keys"), UVICORN_WSPROTO,
     {"asgi-www.ws-messages": "fail: ASGI-WS-04.e"}),
    # daphne's defect: an empty text or bytes message from the app is never sent.
    ("ws-skips-empty-sends", "asgi", wrapped("skips_empty_sends"), UVICORN_WSPROTO,
     {"asgi-www.ws-messages": "fail: ASGI-WS-04.h", "deployment.websocket": "fail: PROXY-08.g"}),
    # hypercorn's defect: the client's close code is lost (1006 instead).
    ("ws-disconnect-code-1006", "asgi", wrapped("disconnect_code_1006"), UVICORN_WSPROTO,
     {"asgi-www.ws-disconnect": "fail: ASGI-WS-05.b, ASGI-WS-05.c",
      "deployment.websocket": "fail: PROXY-08.l, PROXY-08.m"}),
    ("ws-disconnect-without-reason", "asgi", wrapped("disconnect_without_reason"),
     UVICORN_WSPROTO, {"asgi-www.ws-disconnect": "fail: ASGI-WS-05.f"}),
    ("ws-silent-send-after-disconnect", "asgi", wrapped("silent_send_after_disconnect"),
     UVICORN_WSPROTO, {"asgi-www.ws-send-after-close": "warn: ASGI-WS-07.a"}),
    # granian's defect: of a denial body sent in parts only the last arrives.
    ("ws-denial-last-part-only", "asgi", wrapped("denial_last_part_only"), UVICORN_WSPROTO,
     {"asgi-ext.websocket-denial": "fail: ASGI-WS-03.b"}),
    # What only a server's own WebSocket layer does: the naive server, one switch each.
    ("ws-naive-no-pong", "asgi", PROBE, naive("no-pong"),
     {"rfc6455.ping-pong": "fail: ASGI-WS-06.a"}),
    ("ws-naive-pong-empty", "asgi", PROBE, naive("pong-empty"),
     {"rfc6455.ping-pong": "fail: ASGI-WS-06.c"}),
    ("ws-naive-ping-to-app", "asgi", PROBE, naive("ping-to-app"),
     {"rfc6455.ping-pong": "fail: ASGI-WS-06.e"}),
    ("ws-naive-accepts-unmasked", "asgi", PROBE, naive("accept-unmasked"),
     {"rfc6455.fail-the-connection": "fail: ASGI-WS-08.a"}),
    ("ws-naive-ignores-opcode", "asgi", PROBE, naive("ignore-opcode"),
     {"rfc6455.fail-the-connection": "fail: ASGI-WS-08.c"}),
    ("ws-naive-ignores-rsv", "asgi", PROBE, naive("ignore-rsv"),
     {"rfc6455.fail-the-connection": "fail: ASGI-WS-08.d"}),
    ("ws-naive-replaces-utf8", "asgi", PROBE, naive("replace-utf8"),
     {"rfc6455.fail-the-connection": "fail: ASGI-WS-08.e, ASGI-WS-08.g"}),
    ("ws-naive-close-no-frame", "asgi", PROBE, naive("close-no-frame"),
     {"rfc6455.fail-the-connection": "warn: ASGI-WS-08.f"}),
    ("ws-naive-upgrades-http10", "asgi", PROBE, naive("upgrade-http10"),
     {"rfc9110.upgrade-http10": "fail: PROXY-08.c"}),
    ("ws-naive-no-disconnect-on-reset", "asgi", PROBE, naive("no-disconnect-on-reset"),
     {"asgi-www.ws-disconnect": "fail: ASGI-WS-05.a"}),
    ("ws-naive-reset-code-1000", "asgi", PROBE, naive("reset-code-1000"),
     {"asgi-www.ws-disconnect": "fail: ASGI-WS-05.e"}),
]
# Rows whose target needs uvicorn's prefix option.
PROXY_SECTIONS = {"ws-no-root-path": 'prefix_args = ["--root-path", "/app"]'}


@pytest.mark.parametrize("name,interface,app,command,expected",
                         BROKEN_STACKS, ids=[row[0] for row in BROKEN_STACKS])
def test_check_catches_broken_websocket_server(tmp_path: Path, name: str, interface: str,
                                               app: str, command: str | None,
                                               expected: dict[str, str]) -> None:
    check_broken_stack(tmp_path, name, interface, app, command, expected, examples=10,
                       extra_toml=(f"[proxy]\n{PROXY_SECTIONS[name]}"
                                   if name in PROXY_SECTIONS else ""))
