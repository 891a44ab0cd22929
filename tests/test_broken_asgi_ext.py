"""The ASGI extension and lifespan checks catch each clause they are about (issue 13): every
stack below breaks one clause of each check it runs, and must give the stated verdict with
that clause's finding at its sentence's level. Extensions few real servers offer are built on
the naive server (tests/broken/broken_asgi_ext.py); the rest are wrappers under a real uvicorn.
Correct servers pass the same checks: see test_real_targets.py."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import BROKEN, check_broken_stack

PROBE = "conformance.probes.asgi_app:app"


def ext_server(*switches: str) -> str:
    """The naive server with the extension switches of broken_asgi_ext.py."""
    extra = "".join(f'"{switch}", ' for switch in switches)
    return (f'["{{python}}", "{BROKEN}/broken_asgi_ext.py", "--host", "{{host}}", '
            f'"--port", "{{port}}", {extra}"{{app}}"]')


# (variant name, interface, app "module:attr", command or None, {check id: expected verdict})
BROKEN_STACKS: list[tuple[str, str, str, str | None, dict[str, str]]] = [
    # pathsend offered as True, not a dict (it works): "the value of that entry should
    # itself be a dict" (ASGI-SCOPE-09.a). Debug offered (ASGI-SCOPE-09.c) and tls on plain
    # TCP (ASGI-SCOPE-09.e), sentences the catalogue also lists under their own sections.
    ("extensions-advertised-oddly", "asgi", "broken_asgi_ext:advertised_oddly", None,
     {"asgi-ext.pathsend": "warn: ASGI-SCOPE-09.a",
      "asgi-ext.no-debug": "warn: ASGI-SCOPE-09.c",
      "asgi-ext.tls-only-on-tls": "fail: ASGI-SCOPE-09.e"}),
    # The file's bytes after a HEAD response (ASGI-EXT-02.e, ASGI-EXT-05.c: "it should
    # behave the same as ordinary http.response.body"); trailers without TE: trailers
    # (ASGI-EXT-03.f = ASGI-HTTP-11.b); the early hint as a 100 (ASGI-EXT-04.c).
    ("extensions-naive-a", "asgi", PROBE,
     ext_server("--head-body", "--pathsend", "--zerocopysend", "correct", "--trailers",
                "always", "--early-hints", "as-100"),
     {"asgi-ext.pathsend": "warn: ASGI-EXT-02.e",
      "asgi-ext.zerocopysend": "warn: ASGI-EXT-05.c",
      "asgi-ext.trailers": "fail: ASGI-EXT-03.f, ASGI-HTTP-11.b",
      "asgi-ext.early-hints": "fail: ASGI-EXT-04.c"}),
    # offset, count and the file's position ignored (ASGI-EXT-05.d, .f, .e); the trailers
    # never waited for (ASGI-HTTP-11.d = ASGI-EXT-03.c); the 103 after the final response
    # (ASGI-EXT-04.g).
    ("extensions-naive-b", "asgi", PROBE,
     ext_server("--zerocopysend", "whole-file", "--trailers", "drop",
                "--early-hints", "after-final"),
     {"asgi-ext.zerocopysend": "fail: ASGI-EXT-05.d, ASGI-EXT-05.e, ASGI-EXT-05.f",
      "asgi-ext.trailers": "fail: ASGI-HTTP-11.d, ASGI-EXT-03.c",
      "asgi-ext.early-hints": "fail: ASGI-EXT-04.g"}),
    # The file cut at 4096 bytes (ASGI-EXT-05.g); trailer fields after a Content-Length body
    # (ASGI-EXT-03.h); a 103 to an HTTP/1.0 client (ASGI-EXT-04.h).
    ("extensions-naive-c", "asgi", PROBE,
     ext_server("--zerocopysend", "capped", "--trailers", "after-length",
                "--early-hints", "to-http10"),
     {"asgi-ext.zerocopysend": "fail: ASGI-EXT-05.g",
      "asgi-ext.trailers": "fail: ASGI-EXT-03.h",
      "asgi-ext.early-hints": "fail: ASGI-EXT-04.h"}),
    ("lifespan-startup-after-request", "asgi",
     "broken_asgi_lifespan:startup_after_first_request", None,
     {"asgi-lifespan.startup-before-serving": "fail: ASGI-LIFE-01.a"}),
    ("lifespan-mapping-scope", "asgi", "broken_asgi_lifespan:mapping_scope_stateless_requests",
     None, {"asgi-lifespan.scope-keys": "fail: ASGI-LIFE-02.a",
            "asgi-lifespan.state": "fail: ASGI-LIFE-08.b"}),
    ("lifespan-state-only-in-requests", "asgi", "broken_asgi_lifespan:state_only_in_requests",
     None, {"asgi-lifespan.scope-keys": "fail: ASGI-LIFE-02.g"}),
    ("lifespan-shutdown-in-flight", "asgi", "broken_asgi_lifespan:shutdown_while_in_flight",
     None, {"asgi-lifespan.shutdown-after-requests": "fail: ASGI-LIFE-05.a"}),
]


@pytest.mark.parametrize("name,interface,app,command,expected",
                         BROKEN_STACKS, ids=[row[0] for row in BROKEN_STACKS])
def test_check_catches_broken_extension(tmp_path: Path, name: str, interface: str, app: str,
                                        command: str | None, expected: dict[str, str]) -> None:
    check_broken_stack(tmp_path, name, interface, app, command, expected)
