"""A real run of every check against real servers, direct and through a real nginx.

This is the "passes on a correct server" half of test_broken_servers.py: on these servers
every check passes, except the deviations listed below, each of which was checked by hand
against the bytes and the server's source (the reason is given with it).
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from conformance.catalogue import ALL_VIAS, VIAS, all_checks
from conformance.proxy import nginx_binary
from conformance.targets import resolve_targets
from tests.conftest import SuiteRun, run_suite

TARGETS = ("wsgiref", "gunicorn-sync", "uvicorn-h11")

KNOWN_DEVIATIONS = {
    # wsgiref.simple_server sets CONTENT_TYPE to "text/plain" when the request has no
    # Content-Type (WSGIRequestHandler.get_environ uses headers.get_content_type(), which
    # defaults to text/plain); PEP 3333 says CONTENT_TYPE is the field's contents, empty or
    # absent. A real deviation of the standard library.
    ("pep3333.optional-cgi-keys", "wsgiref", "direct"): "fail",
    ("pep3333.optional-cgi-keys", "wsgiref", "nginx"): "fail",
    ("pep3333.generated-environ", "wsgiref", "direct"): "fail",
    # wsgiref's wsgi.input is the raw socket file (simple_server.py WSGIRequestHandler.handle
    # passes self.rfile to ServerHandler; nothing limits it to CONTENT_LENGTH): a read past
    # the body blocks (or, direct, returns the next pipelined request's bytes), and a chunked
    # body reaches the app with its chunk framing. PEP 3333 note 1 SHOULDs; chunked: RFC 9112.
    ("pep3333.read-methods", "wsgiref", "direct"): "warn",
    ("pep3333.read-methods", "wsgiref", "nginx"): "warn",
    ("pep3333.read-no-argument", "wsgiref", "direct"): "warn",
    ("pep3333.read-no-argument", "wsgiref", "nginx"): "warn",
    ("pep3333.read-past-content-length", "wsgiref", "direct"): "warn",
    ("pep3333.read-past-content-length", "wsgiref", "nginx"): "warn",
    ("pep3333.input-exhausted", "wsgiref", "direct"): "warn",
    ("pep3333.input-exhausted", "wsgiref", "nginx"): "warn",
    # wsgiref answers as HTTP/1.0 and supports no transfer coding: it should reject what it
    # cannot decode (RFC 3875 4.2, WSGI-IN-06.f, SHOULD).
    ("pep3333.chunked-request-body", "wsgiref", "direct"): "warn",
    # wsgiref answers HTTP/1.0 (protocol_version) so http.server never sends 100 Continue:
    # the PEP's Expect/Continue MUST is for HTTP/1.1 servers, hence info.
    ("pep3333.expect-continue", "wsgiref", "direct"): "info",
    # wsgiref/handlers.py BaseHandler.write sends the headers on the first write() even for
    # b"" (PEP 3333: only after the first non-empty block), so exc_info can no longer
    # replace the status; gunicorn/http/wsgi.py Response.write calls send_headers() first too.
    ("pep3333.headers-held-until-body", "wsgiref", "direct"): "fail",
    ("pep3333.headers-held-until-body", "wsgiref", "nginx"): "fail",
    ("pep3333.headers-held-until-body", "gunicorn-sync", "direct"): "fail",
    ("pep3333.headers-held-until-body", "gunicorn-sync", "nginx"): "fail",
    # wsgiref: "XXX check Content-Length and truncate" (handlers.py write) - not enforced;
    # header values are not checked for CR/LF (only their type). SHOULDs.
    ("pep3333.content-length-too-many", "wsgiref", "direct"): "warn",
    # gunicorn cuts the wire at Content-Length but asks for every block of the iterable and
    # lets write() past it return (workers/sync.py "for item in respiter: resp.write(item)";
    # http/wsgi.py Response.write drops the surplus silently): WSGI-RESP-09.a's other clauses.
    ("pep3333.content-length-too-many", "gunicorn-sync", "direct"): "warn",
    # The same unenforced Content-Length under wsgi.file_wrapper: wsgiref/util.py FileWrapper
    # reads the file to its end, so the 32 bytes after position 4 go out after
    # "Content-Length: 8" (PEP 3333: "until Content-Length bytes have been written", SHOULD).
    ("pep3333.file-wrapper", "wsgiref", "direct"): "warn",
    # Through nginx, which cuts the body at Content-Length and logs that the upstream "sent
    # more data than specified": the same overrun, read from nginx's error log.
    ("pep3333.file-wrapper", "wsgiref", "nginx"): "warn",
    ("pep3333.control-characters", "wsgiref", "direct"): "warn",
    # X-A_B merged into HTTP_X_A_B: no sentence demands keeping them apart (WSGI-ENV-09 is a
    # hardening policy), so it is reported as hardening.
    ("pep3333.underscore-header-spoofing", "wsgiref", "direct"): "hardening",
    # gunicorn/http/wsgi.py process_headers silently drops the app's hop-by-hop headers
    # (util.is_hoppish) instead of raising; the wire is clean. A SHOULD.
    ("pep3333.hop-by-hop", "gunicorn-sync", "direct"): "warn",
    # Neither speaks the uwsgi protocol (PROXY-12 applies to uWSGI only).
    ("deployment.uwsgi-protocol", "wsgiref", "nginx"): "unsupported",
    ("deployment.uwsgi-protocol", "gunicorn-sync", "nginx"): "unsupported",
    # uvicorn's h11 protocol hands the app's header values to h11 unchecked, and h11 encodes
    # a str value as ASCII (h11/_headers.py normalize_and_validate -> h11/_util.py bytesify:
    # "if isinstance(s, str): s = s.encode('ascii')"), so a str header value is sent instead
    # of send() raising as asgi.rst "Error Handling" says a server should.
    ("asgi.invalid-events", "uvicorn-h11", "direct"): "warn",
    ("asgi.invalid-events", "uvicorn-h11", "nginx"): "warn",
    # asgi-www.scope-root-path-option is informational (ASGI-SCOPE-06 is an I requirement): it
    # reports root_path and path under the server's --root-path option.
    ("asgi-www.scope-root-path-option", "uvicorn-h11", "direct"): "info",
    # uvicorn's HTTP/1.1 scope advertises no extensions (uvicorn/protocols/http/h11_impl.py
    # builds the scope without an "extensions" key): these optional features are unsupported.
    ("asgi-ext.early-hints", "uvicorn-h11", "direct"): "unsupported",
    ("asgi-ext.pathsend", "uvicorn-h11", "direct"): "unsupported",
    ("asgi-ext.pathsend", "uvicorn-h11", "nginx"): "unsupported",
    ("asgi-ext.trailers", "uvicorn-h11", "direct"): "unsupported",
    ("asgi-ext.zerocopysend", "uvicorn-h11", "direct"): "unsupported",
    ("asgi-ext.zerocopysend", "uvicorn-h11", "nginx"): "unsupported",
    # deployment.prefix-mount is informational (PROXY-05 is an I requirement): it always reports
    # the SCRIPT_NAME/PATH_INFO or root_path/path it saw under nginx's location /app/.
    ("deployment.prefix-mount", "wsgiref", "nginx"): "info",
    ("deployment.prefix-mount", "gunicorn-sync", "nginx"): "info",
    ("deployment.prefix-mount", "uvicorn-h11", "nginx"): "info",
    # wsgiref has no prefix option; gunicorn's SCRIPT_NAME (its -e SCRIPT_NAME=/app) is the
    # configured value, never URL-encoded, but http/wsgi.py create (l.282-286) compares it with
    # the undecoded path and answers GET /%61pp/mounted/x with 500 (reported: WSGI-ENV-06.j).
    ("pep3333.script-name-option", "wsgiref", "direct"): "unsupported",
    ("pep3333.script-name-option", "gunicorn-sync", "direct"): "info",
    # uvicorn (config.py: forwarded_allow_ips defaults to "127.0.0.1,::1", proxy_headers True)
    # and gunicorn (config.py ForwardedAllowIPS, same default; scheme only) believe
    # X-Forwarded-* from a loopback client by default: reported, not a fail (a documented
    # trusted set; the spoofing check narrows it and passes).
    ("deployment.forwarded-default-trust", "uvicorn-h11", "direct"): "info",
    ("deployment.forwarded-default-trust", "gunicorn-sync", "direct"): "info",
    # gunicorn's trust covers the scheme only: REMOTE_ADDR is always the peer
    # (gunicorn/http/wsgi.py; no option takes it from X-Forwarded-For).
    ("deployment.forwarded-trusted", "gunicorn-sync", "nginx"): "info",
    # wsgiref has no proxy-trust option and no Unix-socket listener, and gives the app no
    # way to read a chunked body (no CONTENT_LENGTH, no wsgi.input_terminated).
    ("deployment.forwarded-trusted", "wsgiref", "nginx"): "unsupported",
    ("deployment.unix-socket", "wsgiref", "nginx"): "unsupported",
    ("deployment.chunked-body-unbuffered", "wsgiref", "nginx"): "unsupported",
    # HTTP framing (issue 4), all checked against the bytes. wsgiref (http.server) validates
    # almost nothing: headers go through http.client.parse_headers (email parser: "X-Bad : v"
    # and a line without a colon are kept), no Host check, Content-Length and
    # Transfer-Encoding are handed to the app unparsed (CONTENT_LENGTH "+5"; CL+TE: the app
    # reads the raw chunked bytes by Content-Length; differing duplicates: the first wins and
    # the marker is read as body), and handlers.py finish_response writes the app's body for
    # HEAD too. It closes after every response (HTTP/1.0).
    ("rfc9112.bodiless-responses", "wsgiref", "direct"): "fail",
    # It does not decode chunked bodies at all, so its answers to bad chunk sizes say nothing.
    ("rfc9112.chunk-size", "wsgiref", "direct"): "unsupported",
    ("rfc9112.cl-te", "wsgiref", "direct"): "fail",
    ("rfc9112.content-length", "wsgiref", "direct"): "fail",
    ("rfc9112.generated-invalid-framing", "wsgiref", "direct"): "fail",
    # It answers as HTTP/1.0, so the HTTP/1.1 recipient sentences on Transfer-Encoding do not
    # reach it (RFC 9112 6.1: HTTP/1.0 implementations are assumed not to understand it): the
    # codings it serves are a missing defence against smuggling (HTTP-03.h).
    ("rfc9112.transfer-encoding", "wsgiref", "direct"): "hardening",
    ("rfc9112.field-syntax", "wsgiref", "direct"): "fail",
    # Two Host lines served (any request message); the request without Host is not judged on
    # an HTTP/1.0 server (the rule is for "any HTTP/1.1 request message").
    ("rfc9112.host", "wsgiref", "direct"): "fail",
    ("rfc9112.host-value", "wsgiref", "direct"): "fail",
    # Absolute-form: PATH_INFO is the whole URL (PEP 3333's PATH_INFO is the URL's path,
    # HTTP-08.i); raw bytes 0xFF 0xFE in the target are served (RFC 9112 2.2 SHOULD, HTTP-09.b).
    ("rfc9112.request-target", "wsgiref", "direct"): "fail",
    ("rfc9112.invalid-utf8-path", "wsgiref", "direct"): "warn",
    # gunicorn: "Transfer-Encoding: gzip, chunked" is decoded as chunked and served (RFC 9112
    # 6.1 SHOULD 501); http/message.py rejects
    # duplicate Host (RFC9110_5_3_SINGLETON_FIELDS) but never a missing one, nor a value
    # outside uri-host[:port] (no bundled server checks the Host value at all).
    # "Transfer-Encoding: ,chunked" is refused, though RFC 9110 5.6.1.2 says a recipient MUST
    # parse and ignore empty list elements (HTTP-03.f).
    ("rfc9112.transfer-encoding", "gunicorn-sync", "direct"): "fail",
    ("rfc9112.host", "gunicorn-sync", "direct"): "fail",
    ("rfc9112.host-value", "gunicorn-sync", "direct"): "fail",
    # h11: _connection.py _body_framing lets Transfer-Encoding beat Content-Length but keeps
    # the connection alive, so the bytes after the terminating chunk are served as a request
    # (RFC 9112 6.1: MUST close); _events.py Request counts Host fields but never checks the
    # value ("Host: a b" served); "GET *" is accepted.
    ("rfc9112.cl-te", "uvicorn-h11", "direct"): "fail",
    ("rfc9112.host-value", "uvicorn-h11", "direct"): "fail",
    # "*" with GET binds only the client (RFC 9112 3.2.4); serving it is reported (HTTP-08.k).
    ("rfc9112.request-target", "uvicorn-h11", "direct"): "info",
    # h11 rejects "Transfer-Encoding: ,chunked" (RFC 9110 5.6.1.2 MUST parse and ignore empty
    # list elements: HTTP-03.f) and answers a 256 KiB request-target 400, not 414 (HTTP-19.a).
    ("rfc9112.transfer-encoding", "uvicorn-h11", "direct"): "fail",
    ("rfc9112.oversized", "uvicorn-h11", "direct"): "fail",
    # Issue 13's new sub-cases, each the server's own bytes (reviewed in reviews.toml): wsgiref
    # serves "Content-Length: +5" (HTTP-18.b, MUST, as rfc9112.content-length already finds) and
    # "Transfer-Encoding: gzip" (HTTP-03.h: an HTTP/1.0 server) and answers HTTP/1.1 with HTTP/1.0
    # and a close (HTTP-13.b, SHOULD); gunicorn's sync worker closes every connection (13.b),
    # answers an 8000-octet request-line 414 (limit_request_line 4094; HTTP-19.d, SHOULD), sends its
    # own 400 with no Date (HTTP-17.a, MUST) and sets RAW_URI / REMOTE_PORT without RFC 3875's "X_"
    # prefix (WSGI-ENV-12.d, SHOULD); uvicorn's own 400 has no Date either.
    ("rfc9112.invalid-then-valid", "wsgiref", "direct"): "fail",
    ("rfc9112.persistence", "wsgiref", "direct"): "warn",
    ("rfc9112.persistence", "gunicorn-sync", "direct"): "warn",
    ("rfc9112.oversized", "gunicorn-sync", "direct"): "warn",
    ("rfc9110.date", "gunicorn-sync", "direct"): "fail",
    ("rfc9110.date", "uvicorn-h11", "direct"): "fail",
    ("pep3333.extra-keys-named", "gunicorn-sync", "direct"): "warn",
    ("pep3333.extra-keys-named", "gunicorn-sync", "nginx"): "warn",
    # uvicorn's wsproto implementation: on a client's protocol error wsproto reports the close
    # code to uvicorn, which closes the socket without sending a Close frame (RFC 6455 7.1.7,
    # SHOULD); and an HTTP/1.0 request with Upgrade is upgraded (RFC 9110 7.8, MUST ignore).
    ("rfc6455.fail-the-connection", "uvicorn-h11", "direct"): "warn",
    ("rfc9110.upgrade-http10", "uvicorn-h11", "direct"): "fail",
}


def _cells(targets: tuple[str, ...], vias: tuple[str, ...],
           prefixes: tuple[str, ...] = ("",)) -> set[tuple[str, str, str]]:
    """Every (check, target, via) cell a run of these checks on these targets must have."""
    return {(check.id, target.name, via)
            for check in all_checks() if check.id.startswith(prefixes)
            for target in resolve_targets(",".join(targets))
            for via in vias if check.runs_on(target, via)}


def _assert_verdicts(run: SuiteRun, cells: set[tuple[str, str, str]],
                     deviations: dict[tuple[str, str, str], str]) -> None:
    """Every cell ran, and each passed except the listed deviations."""
    assert set(run.verdicts()) == cells, run.output[-3000:]
    unexpected = {cell: v for cell, v in run.verdicts().items()
                  if v != deviations.get(cell, "pass")}
    assert not unexpected, f"{unexpected}\n{run.output[-5000:]}"


# One target per test, so that the three runs share the test workers.
@pytest.mark.skipif(nginx_binary() is None or shutil.which("pgrep") is None,
                    reason="nginx is not installed; run: apt-get install -y nginx-light")
@pytest.mark.parametrize("target", TARGETS)
def test_real_servers_direct_and_through_nginx(tmp_path: Path, target: str) -> None:
    run = run_suite(tmp_path, f"--target={target}", "--via=both")
    _assert_verdicts(run, _cells((target,), VIAS), KNOWN_DEVIATIONS)
    for record in run.records:
        assert record["nginx_version"] if record["via"] == "nginx" else True
        assert record["server"]["version"] not in ("unknown", "not installed")

# The TLS, HTTP/2 and nginx-tls checks on real servers: hypercorn (HTTP/2 by h2c; behind
# nginx-tls), uvicorn-h11-tls and gunicorn-sync-tls (TLS, direct and through nginx), uvicorn-h11
# and gunicorn-sync (behind nginx-tls).
TLS_TARGETS = ("hypercorn", "uvicorn-h11-tls", "gunicorn-sync-tls", "uvicorn-h11",
               "gunicorn-sync")
TLS_CHECKS = ("rfc9113.", "asgi-www.tls-", "pep3333.tls-", "asgi-ext.tls-contents",
              "deployment.nginx-tls-")
TLS_DEVIATIONS = {
    # hypercorn's h2 (default inbound validation) answers an upper-case field name with
    # GOAWAY PROTOCOL_ERROR, no 400 (RFC 9113 8.2.1 SHOULD; reviewed in reviews.toml).
    ("rfc9113.malformed-field-400", "hypercorn", "direct"): "warn",
    # uvicorn offers no tls extension (h11_impl.py builds the scope without "extensions").
    ("asgi-ext.tls-contents", "uvicorn-h11-tls", "direct"): "unsupported",
    ("asgi-ext.tls-contents", "uvicorn-h11-tls", "nginx"): "unsupported",
    # hypercorn has no command-line option to trust a proxy (ProxyFixMiddleware is code).
    ("deployment.nginx-tls-trusted", "hypercorn", "nginx-tls"): "unsupported",
    ("deployment.nginx-tls-websocket", "hypercorn", "nginx-tls"): "unsupported",
    # gunicorn's trust covers the scheme only: REMOTE_ADDR is nginx's (RFC 3875 8.2 allows it).
    ("deployment.nginx-tls-trusted", "gunicorn-sync", "nginx-tls"): "info",
}


@pytest.mark.skipif(nginx_binary() is None or shutil.which("pgrep") is None,
                    reason="nginx is not installed; run: apt-get install -y nginx-light")
def test_real_servers_tls_http2_and_nginx_tls(tmp_path: Path) -> None:
    run = run_suite(tmp_path, f"--target={','.join(TLS_TARGETS)}", "--via=all",
                    f"--checks={','.join(TLS_CHECKS)}")
    cells = _cells(TLS_TARGETS, ALL_VIAS, TLS_CHECKS)
    assert {check for check, _, _ in cells} == {
        c.id for c in all_checks() if c.id.startswith(TLS_CHECKS)}, "a check no target ran"
    _assert_verdicts(run, cells, TLS_DEVIATIONS)
