"""Every proxy check catches the bug it is about: a real server with one deliberate defect,
through a real nginx (or straight, for the spoofing checks), gives the stated verdict.

BROKEN_STACKS has the format of tests/test_broken_servers.py; EXTRA_TOML adds target keys
(uds_command, [proxy]) that a stack needs beyond what broken_target() writes; VIA names the
rows that run on one path only.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from conformance.proxy import nginx_binary
from tests.conftest import BROKEN, broken_target, check_broken_stack, run_suite


def lax(bugs: str) -> str:
    """The command of tests/broken/broken_proxy.py's server with ``bugs`` switched on."""
    return (f'["{{python}}", "{BROKEN}/broken_proxy.py", "--host", "{{host}}", "--port", '
            f'"{{port}}", "--bugs", "{bugs}", "{{app}}"]')


GUNICORN = ('["{bin}/gunicorn", "-k", "sync", "-w", "1", "--no-control-socket", "-b", '
            '"{host}:{port}", "{app}"]')
GUNICORN_UDS = ('\nuds_command = ["{bin}/gunicorn", "-k", "sync", "-w", "1", '
                '"--no-control-socket", "-b", "unix:{uds}", "{app}"]\n')
# uWSGI: no other server speaks the uwsgi protocol (nginx's uwsgi_pass); its wrappers change
# environ only for requests that came through it.
UWSGI = ('["{bin}/uwsgi", "--http-socket", "{host}:{port}", "--home", "{bin}/..", "--module", '
         '"{app}", "--need-app", "--die-on-term", "--disable-logging"]')
UWSGI_BINARY = Path(sys.executable).parent / "uwsgi"
UWSGI_SOCKET = '\n[features]\nuwsgi_socket_args = ["--socket", "{host}:{port}"]\n'
WSGI_PROBE = "conformance.probes.wsgi_app:app"
ASGI_PROBE = "conformance.probes.asgi_app:app"

BROKEN_STACKS: list[tuple[str, str, str, str | None, dict[str, str]]] = [
    ("chunked-to-http10", "wsgi", WSGI_PROBE, lax("chunk-http10"),
     {"deployment.upstream-http10": "fail: PROXY-01.a",
      # the same server collects the whole response before sending any of it
      "deployment.stream-http10-unbuffered": "fail: PROXY-02.a"}),
    ("leaves-body-unread", "wsgi", WSGI_PROBE, lax("no-drain"),
     {"deployment.pooled-desync": "fail: PROXY-06.a"}),
    # PROXY-06.h: after a WSGI app error mid-response, closing is only a SHOULD (PEP 3333).
    ("error-keeps-connection", "wsgi", WSGI_PROBE, lax("error-keepalive"),
     {"deployment.pooled-desync": "warn: PROXY-06.h"}),
    ("never-closes", "wsgi", "broken_proxy:never_closes", None,
     {"deployment.disconnect": "fail: PROXY-03.a"}),
    # PROXY-03.d: close() only after the stream ran to its end: late, a SHOULD.
    ("keeps-iterating", "wsgi", "broken_proxy:keeps_iterating", None,
     {"deployment.disconnect": "warn: PROXY-03.d"}),
    ("never-disconnects", "asgi", "broken_proxy:no_disconnect", None,
     {"deployment.disconnect": "fail: PROXY-03.b"}),
    # PROXY-03.d: http.disconnect delivered, but late: promptness is only a SHOULD.
    ("late-disconnect", "asgi", "broken_proxy:late_disconnect", None,
     {"deployment.disconnect": "warn: PROXY-03.d"}),
    # Was fail/fail: no spec text names the forwarding headers or trust (PROXY-04): refusing
    # an untrusted client's headers is a defence (PROXY-04.i, HARDENING) and following a
    # trusted proxy's is a convention (PROXY-04.g/h, INFO).
    ("trusts-anyone", "wsgi", "broken_proxy:trusts_anyone", None,
     {"deployment.forwarded-spoofing": "hardening: PROXY-04.i",
      "deployment.forwarded-default-trust": "info: PROXY-04.g, PROXY-04.h"}),
    ("trusts-another-proxy", "asgi", ASGI_PROBE, None,
     {"deployment.forwarded-trusted": "info: PROXY-04.g, PROXY-04.h"}),
    ("lossy-body", "wsgi", "broken_proxy:lossy_input", GUNICORN,
     {"deployment.large-body-unbuffered": "fail: PROXY-07.c",
      "deployment.chunked-body-unbuffered": "fail: PROXY-07.a",
      "deployment.expect-continue": "fail: PROXY-07.c"}),
    # PROXY-07.g: an ASGI server that leaves the chunk framing in breaks a SHOULD.
    ("leaves-chunks-in", "asgi", "broken_proxy:leaves_chunks_in", None,
     {"deployment.chunked-body-unbuffered": "warn: PROXY-07.g"}),
    # Was warn: how a prefix is split rests on a "can" and a "may" (PROXY-05.f/g): INFO.
    ("loses-script-name", "wsgi", "broken_proxy:loses_script_name", None,
     {"deployment.prefix-mount": "info: PROXY-05.g"}),
    ("drops-proxied-query", "wsgi", "broken_proxy:drops_query_when_proxied", None,
     {"deployment.differential": "info: PROXY-09"}),
    ("uds-fake-server", "asgi", "broken_proxy:fake_server_address", None,
     {"deployment.unix-socket": "fail: PROXY-11.a"}),
    # PROXY-11.b: leaving scope server out is allowed ("Optional"): reported, not failed.
    ("uds-no-server", "asgi", "broken_proxy:no_server_address", None,
     {"deployment.unix-socket": "info: PROXY-11.b"}),
    # Issue 13: one broken variant per clause.
    ("uds-empty-server-port", "wsgi", "broken_proxy:uds_empty_server_port", None,
     {"deployment.unix-socket": "fail: PROXY-11.c"}),
    ("close-delimited-never-closes", "wsgi", WSGI_PROBE, lax("no-close"),
     {"deployment.upstream-http10": "fail: PROXY-01.g"}),
    ("asgi-holds-body", "asgi", "broken_proxy:holds_body", None,
     {"deployment.stream-http10-unbuffered": "fail: PROXY-02.c"}),
    ("head-sends-body", "wsgi", WSGI_PROBE, lax("head-body"),
     {"deployment.pooled-desync": "fail: PROXY-06.e"}),
    ("bodiless-chunked", "wsgi", WSGI_PROBE, lax("bodiless-chunked"),
     {"deployment.pooled-desync": "fail: PROXY-06.f"}),
    ("error-overlong", "wsgi", WSGI_PROBE, lax("error-overlong"),
     {"deployment.pooled-desync": "fail: PROXY-06.b"}),
    # The keep-alive server of broken_proxy.py running the ASGI probe app.
    ("asgi-error-keeps-connection", "asgi", ASGI_PROBE, lax("error-keepalive"),
     {"deployment.pooled-desync": "fail: PROXY-06.g"}),
    ("wsgi-leaves-chunks-in", "wsgi", "broken_proxy:leaves_chunks_in_wsgi", GUNICORN,
     {"deployment.chunked-body-unbuffered": "fail: PROXY-07.d"}),
    ("uwsgi-https-scheme", "wsgi", "broken_proxy:uwsgi_https_scheme", UWSGI,
     {"deployment.uwsgi-protocol": "fail: WSGI-ENV-10.c"}),
    ("uwsgi-drops-body", "wsgi", "broken_proxy:uwsgi_drops_body", UWSGI,
     {"deployment.uwsgi-protocol": "fail: WSGI-IN-01.g"}),
    ("uwsgi-no-server-protocol", "wsgi", "broken_proxy:uwsgi_no_server_protocol", UWSGI,
     {"deployment.uwsgi-protocol": "fail: PROXY-12.a"}),
    ("uwsgi-bytes-headers", "wsgi", "broken_proxy:uwsgi_bytes_headers", UWSGI,
     {"deployment.uwsgi-protocol": "fail: PROXY-12.c"}),
    ("uwsgi-no-content-type", "wsgi", "broken_proxy:uwsgi_no_content_type", UWSGI,
     {"deployment.uwsgi-protocol": "fail: PROXY-12.e"}),
    ("uwsgi-raw-path", "wsgi", "broken_proxy:uwsgi_raw_path", UWSGI,
     {"deployment.uwsgi-protocol": "fail: PROXY-12.f"}),
    # PROXY-12.g: the same set of HTTP_ variables as over HTTP is a SHOULD.
    ("uwsgi-drops-custom-headers", "wsgi", "broken_proxy:uwsgi_drops_custom_headers", UWSGI,
     {"deployment.uwsgi-protocol": "warn: PROXY-12.g"}),
    # Header values decoded as UTF-8 (U+FFFD for obs-text) are no native strings of latin-1
    # code points (PROXY-12.c, MUST): found as a false pass (filed as PROXY-12.g), now fixed.
    ("uwsgi-utf8-headers", "wsgi", "broken_proxy:uwsgi_utf8_headers", UWSGI,
     {"deployment.uwsgi-protocol": "fail: PROXY-12.c"}),
    # PROXY-01.f: the app's Content-Length dropped for close-delimited framing (a SHOULD).
    ("drops-content-length", "wsgi", WSGI_PROBE, lax("drop-length"),
     {"deployment.upstream-http10": "warn: PROXY-01.f"}),
    # Through nginx (VIA): the lax server collects the whole response before sending any.
    ("wsgi-buffers-stream", "wsgi", WSGI_PROBE, lax(""),
     {"pep3333.streaming": "fail: PROXY-02.b"}),
    # Through nginx a held block may be nginx's too (RFC 9110 7.6): reported, PROXY-02.d.
    ("asgi-holds-stream", "asgi", "broken_proxy:holds_body", None,
     {"asgi-www.streaming": "info: PROXY-02.d"}),
    # A request with no forwarding header: the definitions of the peer and scheme (MUST).
    ("remote-addr-is-a-name", "wsgi", "broken_proxy_peer:remote_addr_is_a_name", None,
     {"deployment.forwarded-spoofing": "fail: PROXY-04.a"}),
    ("url-scheme-always-https", "wsgi", "broken_proxy_peer:url_scheme_always_https", None,
     {"deployment.forwarded-spoofing": "fail: PROXY-04.f"}),
    ("client-is-a-name", "asgi", "broken_proxy_peer:client_is_a_name", None,
     {"deployment.forwarded-spoofing": "fail: PROXY-04.d"}),
    ("scheme-always-https", "asgi", "broken_proxy_peer:scheme_always_https", None,
     {"deployment.forwarded-spoofing": "fail: PROXY-04.e"}),
    ("root-path-not-in-path", "asgi", "broken_proxy_peer:root_path_stripped_from_path", None,
     {"deployment.prefix-mount": "info: PROXY-05.f"}),
    ("uds-server-name-not-a-host", "wsgi", "broken_proxy_peer:server_name_is_product", None,
     {"deployment.unix-socket": "fail: PROXY-11.d"}),
    # uvicorn's send() after a disconnect returns normally: right for the 2.3 it declares, not
    # for a declared 2.4 (a SHOULD).
    ("send-after-disconnect-no-op", "asgi", "broken_proxy_peer:claims_spec_2_4", None,
     {"deployment.disconnect": "warn: PROXY-03.c"}),
    # The lax server answers an app error with a framed 500 and closes, but logs nothing.
    ("error-not-logged", "wsgi", WSGI_PROBE, lax("no-log"),
     {"deployment.pooled-desync": "warn: PROXY-06.i"}),
]
# Rows run on one path only: the sentence they prove is the nginx path's of a check that
# runs both ways (direct it rests on WSGI-RESP-07.a / ASGI-HTTP-05).
VIA = {"wsgi-buffers-stream": "nginx", "asgi-holds-stream": "nginx"}

UVICORN_UDS = ('\nuds_command = ["{bin}/uvicorn", "--http", "h11", "--uds", "{uds}", '
               '"--lifespan", "on", "--no-access-log", "{app}"]\n')
EXTRA_TOML = {
    # uvicorn told to trust a proxy at 192.0.2.1: nginx's X-Forwarded-* are not believed.
    "trusts-another-proxy": '\n[proxy]\ntrust_args = ["--proxy-headers", '
                            '"--forwarded-allow-ips", "192.0.2.1"]\n',
    "uds-fake-server": UVICORN_UDS,
    "uds-no-server": UVICORN_UDS,
    "uds-empty-server-port": GUNICORN_UDS,
    "uds-server-name-not-a-host": GUNICORN_UDS,
    **{row[0]: UWSGI_SOCKET for row in BROKEN_STACKS if row[0].startswith("uwsgi-")},
}


@pytest.mark.skipif(nginx_binary() is None,
                    reason="nginx is not installed; run: apt-get install -y nginx-light")
@pytest.mark.parametrize("name,interface,app,command,expected",
                         BROKEN_STACKS, ids=[row[0] for row in BROKEN_STACKS])
def test_check_catches_broken_proxy_stack(tmp_path: Path, name: str, interface: str, app: str,
                                          command: str | None,
                                          expected: dict[str, str]) -> None:
    if command == UWSGI and not UWSGI_BINARY.exists():
        pytest.skip("uWSGI is not installed (pip install pyuwsgi)")
    check_broken_stack(tmp_path, name, interface, app, command, expected,
                       extra_toml=EXTRA_TOML.get(name, ""), examples=25, via=VIA.get(name))


@pytest.mark.skipif(nginx_binary() is None,
                    reason="nginx is not installed; run: apt-get install -y nginx-light")
def test_server_death_is_not_a_desync(tmp_path: Path) -> None:
    """A server whose process aborts on an app error before the response, after logging it
    (as socketify-wsgi does): deployment.pooled-desync records the death, not a PROXY-06.b
    desync (the 502 that follows has no server behind it; the crash is
    pep3333.app-exception's); it reads the dead server's log, which names the error, not its
    replacement's (no PROXY-06.i); and the next sub-case runs on the restarted server behind
    a new pool nginx (no harness error)."""
    target = broken_target(tmp_path, "aborts-on-app-error", "wsgi",
                           "broken_proxy:aborts_on_app_error", lax(""))
    run = run_suite(tmp_path, f"--target={target}", "--via=nginx",
                    "--checks=deployment.pooled-desync")
    (record,) = run.records
    assert (record["verdict"], record["findings"]) == ("pass", []), record["message"]
    assert record["message"] == ("the server died 1 time(s) during this check: server-1 "
                                 "exited with status -6")
    (not_judged,) = record["details"]["not_judged"]
    assert not_judged.startswith("app error before the response: after GET /probe/error the "
                                 "server process exited (status -6), and GET /probe/whoami "
                                 "from another client got status 502"), not_judged


@pytest.mark.skipif(nginx_binary() is None,
                    reason="nginx is not installed; run: apt-get install -y nginx-light")
def test_unended_app_error_is_not_judged_silently(tmp_path: Path) -> None:
    """A server that, after an ASGI app error, neither ends the response nor closes the
    connection (as daphne and socketify-asgi do): only the suite's client giving up ends it,
    so the pooled next request on a fresh connection gets its answer. deployment.pooled-desync
    does not judge that (asgi.app-exception does, with its own bound), but records it as not
    judged, saying what the client got, instead of passing silently."""
    target = broken_target(tmp_path, "holds-after-app-error", "asgi",
                           "broken_proxy:holds_after_app_error")
    run = run_suite(tmp_path, f"--target={target}", "--via=nginx",
                    "--checks=deployment.pooled-desync")
    (record,) = run.records
    assert (record["verdict"], record["findings"]) == ("pass", []), record["message"]
    before, mid = record["details"]["not_judged"]
    assert before.startswith("app error before the response: through nginx, GET /probe/error "
                             "got nothing, and within 2.5s neither a complete response nor "
                             "the connection's close"), before
    assert mid.startswith("app error mid-response: through nginx, GET "
                          "/probe/error?after_start=1 got status 200 and 8 body bytes of the 64 "
                          "its Content-Length states"), mid
    assert mid.endswith("judged by asgi.app-exception"), mid
