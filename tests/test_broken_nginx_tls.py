"""Every nginx-tls check catches the bug it is about: a real server (uvicorn, gunicorn) with
deliberate defects (tests/broken/broken_nginx_tls.py), behind a real nginx terminating TLS and
HTTP/2, gives the stated verdict with that clause's finding.

BROKEN_STACKS has the format of tests/test_broken_servers.py; EXTRA_TOML gives each stack the
[proxy] trust option its checks start their own server with."""

from __future__ import annotations

from pathlib import Path

import pytest

from conformance.proxy import nginx_binary
from tests.conftest import check_broken_stack

GUNICORN = ('["{bin}/gunicorn", "-k", "sync", "-w", "1", "--no-control-socket", "-b", '
            '"{host}:{port}", "{app}"]')
UVICORN_QUICK_STOP = ('["{bin}/uvicorn", "--http", "h11", "--host", "{host}", "--port", '
                      '"{port}", "--timeout-graceful-shutdown", "1", "--no-access-log", "{app}"]')
UVICORN_TRUST = ('[proxy]\ntrust_args = ["--proxy-headers", "--forwarded-allow-ips", '
                 '"127.0.0.1"]\ntrust_covers = ["for", "proto"]\n')
GUNICORN_TRUST = ('[proxy]\ntrust_args = ["--forwarded-allow-ips", "127.0.0.1"]\n'
                  'trust_covers = ["proto"]\n')

BROKEN_STACKS: list[tuple[str, str, str, str | None, dict[str, str]]] = [
    # One wrapper per check's bug (see the module's table): each check sees only its own.
    ("nginx-tls-asgi", "asgi", "broken_nginx_tls:asgi_broken", None,
     {"deployment.nginx-tls-trusted": "fail: TLS-03.b, PROXY-04.g",
      "deployment.nginx-tls-websocket": "fail: TLS-01.d",
      "deployment.nginx-tls-host": "info: PROXY-09",
      # A held block may be nginx's as well as the server's: reported (PROXY-02.d).
      "deployment.nginx-tls-streaming": "info: PROXY-02.d"}),
    # Its own row: waiting out the 20 s limit would double the combined row's length; the
    # app never returns, so uvicorn is told not to wait for it at shutdown.
    ("nginx-tls-never-disconnects", "asgi", "broken_proxy:no_disconnect", UVICORN_QUICK_STOP,
     {"deployment.nginx-tls-disconnect": "fail: PROXY-03.b"}),
    # gunicorn's trust option covers the scheme only: the address is reported as no option.
    ("nginx-tls-wsgi", "wsgi", "broken_nginx_tls:wsgi_broken", GUNICORN,
     {"deployment.nginx-tls-trusted": "fail: TLS-03.a, PROXY-04.g",
      "deployment.nginx-tls-host": "info: PROXY-09",
      "deployment.nginx-tls-streaming": "fail: PROXY-02.b",
      "deployment.nginx-tls-disconnect": "fail: PROXY-03.a"}),
    # Believing a direct client is a defence missing (PROXY-04.i, HARDENING), never a fail.
    ("nginx-tls-asgi-trusts-anyone", "asgi", "broken_nginx_tls:asgi_trusts_anyone", None,
     {"deployment.nginx-tls-trusted": "hardening: PROXY-04.i",
      "deployment.nginx-tls-spoofing": "hardening: PROXY-04.i"}),
    ("nginx-tls-wsgi-trusts-anyone", "wsgi", "broken_proxy:trusts_anyone", None,
     {"deployment.nginx-tls-spoofing": "hardening: PROXY-04.i"}),
    # Told late (close() only once the stream ran to its end), not never: RFC 9112 9.5's
    # SHOULD. (The ASGI late path, broken_proxy.late_disconnect, costs 8 s more for the same
    # clause; deployment.disconnect's row proves it.)
    ("nginx-tls-keeps-iterating", "wsgi", "broken_proxy:keeps_iterating", None,
     {"deployment.nginx-tls-disconnect": "warn: PROXY-03.d"}),
]
EXTRA_TOML = {"nginx-tls-asgi": UVICORN_TRUST, "nginx-tls-wsgi": GUNICORN_TRUST,
              "nginx-tls-asgi-trusts-anyone": UVICORN_TRUST}


@pytest.mark.skipif(nginx_binary() is None,
                    reason="nginx is not installed; run: apt-get install -y nginx-light")
@pytest.mark.parametrize("name,interface,app,command,expected",
                         BROKEN_STACKS, ids=[row[0] for row in BROKEN_STACKS])
def test_check_catches_broken_nginx_tls_stack(tmp_path: Path, name: str, interface: str,
                                              app: str, command: str | None,
                                              expected: dict[str, str]) -> None:
    check_broken_stack(tmp_path, name, interface, app, command, expected,
                       extra_toml=EXTRA_TOML.get(name, ""))
