"""The HTTP/2 wire checks (rfc9113.*: H2-03..H2-06) catch each clause they are about: every
stack below is the naive HTTP/2 server (tests/broken/naive_h2_server.py, prior knowledge on
plain TCP, the real probe app) with switches that break one clause of each check it runs,
and must give the stated verdict with that clause's finding at its sentence's level. The
same server without switches passes; hypercorn is the real server that passes."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import BROKEN, broken_target, check_broken_stack, run_suite

PROBE = "conformance.probes.asgi_app:app"
H2C = "[features]\nh2c = true\n"


def naive_h2(*switches: str) -> str:
    """The naive HTTP/2 server's command with ``switches``."""
    extra = "".join(f'"{switch}", ' for switch in switches)
    return (f'["{{python}}", "{BROKEN}/naive_h2_server.py", "--host", "{{host}}", '
            f'"--port", "{{port}}", {extra}"{{app}}"]')


# (variant name, interface, app "module:attr", command, {check id: expected verdict})
BROKEN_STACKS: list[tuple[str, str, str, str | None, dict[str, str]]] = [
    # The app's connection-specific fields passed on (H2-03.a, .b; its transfer-encoding not
    # ignored, .d); DATA for HEAD, 204, 304 (.e, .i; .g, .f; .h), content-length on 204 (.j);
    # every malformed request handed to the app and answered 200 (H2-04.a and each
    # malformation's sentence); the body held until the app's last event (H2-05.a); trailers
    # also without TE: trailers (H2-06.e).
    ("h2-naive-leaky", "asgi", PROBE,
     naive_h2("--pass-connection-fields", "--body-for-bodiless", "--length-on-204",
              "--malformed", "accept",
              "--buffer-body", "--trailers", "always"),
     {"rfc9113.connection-specific-fields": "fail: H2-03.a, H2-03.b, H2-03.d",
      "rfc9113.no-content-responses":
          "fail: H2-03.e, H2-03.i, H2-03.j, H2-03.g, H2-03.f, H2-03.h",
      "rfc9113.malformed-requests":
          "fail: H2-04.a, H2-04.c, H2-04.f, H2-04.g, H2-04.h, H2-04.i",
      "rfc9113.streaming": "fail: H2-05.a",
      "rfc9113.trailers": "fail: H2-06.e"}),
    # The body chunk-framed inside DATA (H2-03.d for the app's transfer-encoding; H2-05.c);
    # DATA beyond the client's window (H2-05.d); a malformed request answered 400 before the
    # RST_STREAM (allowed: H2-04.j INFO); trailers as DATA
    # (H2-06.c, .d).
    ("h2-naive-framing", "asgi", PROBE,
     naive_h2("--chunk-bodies", "--window", "ignore", "--malformed", "answer-reset",
              "--trailers", "as-data"),
     {"rfc9113.connection-specific-fields": "fail: H2-03.d",
      "rfc9113.malformed-requests": "info: H2-04.j",
      "rfc9113.streaming": "fail: H2-05.c, H2-05.d",
      "rfc9113.trailers": "fail: H2-06.c, H2-06.d"}),
    # What does not fit the client's window thrown away (H2-05.b); malformed requests end the
    # connection with GOAWAY (allowed: 5.4.1) but get no 400 (RFC 9113 8.2.1's SHOULD,
    # H2-04.e); the trailers extension not advertised.
    ("h2-naive-dropping", "asgi", PROBE,
     naive_h2("--window", "drop", "--malformed", "goaway", "--trailers", "none"),
     {"rfc9113.malformed-field-400": "warn: H2-04.e",
      "rfc9113.streaming": "fail: H2-05.b",
      "rfc9113.trailers": "unsupported"}),
]


# Without switches the naive server passes every check (one more proof that each can pass),
# but for the SHOULD of a 400 (it resets malformed requests without a response).
SWITCHLESS = {"rfc9113.connection-specific-fields": "pass", "rfc9113.no-content-responses": "pass",
              "rfc9113.malformed-requests": "pass", "rfc9113.malformed-field-400": "warn",
              "rfc9113.streaming": "pass", "rfc9113.trailers": "pass"}


def test_naive_h2_server_without_switches_passes(tmp_path: Path) -> None:
    target = broken_target(tmp_path, "h2-naive", "asgi", PROBE, naive_h2())
    target.write_text(target.read_text() + "\n" + H2C)
    run = run_suite(tmp_path, f"--target={target}", "--via=direct",
                    f"--checks={','.join(SWITCHLESS)}")
    assert {check: run.verdict(check, "h2-naive") for check in SWITCHLESS} == SWITCHLESS, (
        run.output[-3000:])


@pytest.mark.parametrize("name,interface,app,command,expected",
                         BROKEN_STACKS, ids=[row[0] for row in BROKEN_STACKS])
def test_check_catches_broken_h2_wire(tmp_path: Path, name: str, interface: str, app: str,
                                      command: str | None, expected: dict[str, str]) -> None:
    check_broken_stack(tmp_path, name, interface, app, command, expected, extra_toml=H2C)
