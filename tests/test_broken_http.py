"""The HTTP framing and hygiene checks (issue 4, HTTP-01..19) catch a deliberately lax server:
tests/broken/lax_server.py, a threaded socket server with every classic parsing sin (see its
docstring), and variants of it that get one part right, so that each level a check can report
(fail, warn, hardening, info) is shown on some server. Same table format as
tests/test_broken_servers.py."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import BROKEN, check_broken_stack

PROBE = "conformance.probes.wsgi_app:app"
ASGI_PROBE = "conformance.probes.asgi_app:app"
# uvicorn (h11) with its Date header switched off: an ASGI server that adds no Date.
UVICORN_NO_DATE = ('["{bin}/uvicorn", "--http", "h11", "--host", "{host}", "--port", "{port}", '
                   '"--lifespan", "on", "--no-access-log", "--no-date-header", "{app}"]')


def lax(*flags: str) -> str:
    extra = "".join(f'"{flag}", ' for flag in flags)
    return (f'["{{python}}", "{BROKEN}/lax_server.py", {extra}"--host", "{{host}}", '
            '"--port", "{port}", "{app}"]')


# (variant name, interface, app, command, {check id: expected verdict})
BROKEN_STACKS: list[tuple[str, str, str, str | None, dict[str, str]]] = [
    ("lax-framing", "wsgi", PROBE, lax(), {
        # Serving 0x1, +1, 1_0 and keeping the connection open rest on RFC 9112 2.2's SHOULD
        # (HTTP-01.d); the check used to report them at its own MUST. Its MUST: lax-chunk-wrap.
        "rfc9112.chunk-size": "warn",
        "rfc9112.cl-te": "fail",
        "rfc9112.transfer-encoding": "fail",
        "rfc9112.content-length": "fail",
        "rfc9112.generated-invalid-framing": "fail",
    }),
    # A 64-bit chunk size: 2**68 wraps to 0 and the bytes after it are served (HTTP-01.c).
    ("lax-chunk-wrap", "wsgi", PROBE, lax("--wrap-chunk-size"), {
        "rfc9112.chunk-size": "fail",
    }),
    # The plain lax server closes when the client half-closes, which is what RFC 9112 6.3
    # asks; the app's 200 after a short read is not the server's (an error response is a MAY).
    # This one holds the connection open after the client's EOF (HTTP-05.a).
    ("lax-truncated", "wsgi", PROBE, lax("--hold-on-eof"), {
        "rfc9112.truncated-body": "fail",
    }),
    # Final coding checked: only the SHOULD 501 for "gzip, chunked" and the hardening cases
    # ("\x0bchunked" recovered, "chunked, chunked") are left.
    ("lax-te-final", "wsgi", PROBE, lax("--strict-te"), {
        "rfc9112.transfer-encoding": "warn",
    }),
    ("lax-te-501", "wsgi", PROBE, lax("--strict-te", "--te-501"), {
        "rfc9112.transfer-encoding": "hardening",
    }),
    # Content-Length parsed strictly: only the SHOULD on odd chunk sizes (HTTP-01.d) is left.
    ("lax-strict-cl", "wsgi", PROBE, lax("--strict-cl"), {
        "rfc9112.generated-invalid-framing": "warn",
    }),
    ("lax-headers", "wsgi", PROBE, lax(), {
        "rfc9112.field-syntax": "fail",
        "rfc9112.host": "fail",
        "rfc9112.host-value": "fail",
        # PATH_INFO is the absolute URL: PEP 3333's PATH_INFO definition (HTTP-08.i) and 9112
        # 3.2.2 are MUSTs; the check used to report it at its own SHOULD.
        "rfc9112.request-target": "fail",
        "rfc9112.invalid-utf8-path": "warn",
        "rfc9110.duplicates": "warn",
        # A long request line is neither answered nor closed: 9112 3 says MUST 414 (HTTP-19.a);
        # the catalogue's level for HTTP-19 changed from SHOULD to MUST.
        "rfc9112.oversized": "fail",
    }),
    # MUST rules kept (space before colon rejected, CR and NUL replaced): bad names are left.
    ("lax-strict-fields", "wsgi", PROBE, lax("--strict-fields"), {
        "rfc9112.field-syntax": "warn",
    }),
    ("lax-absolute-form", "wsgi", PROBE, lax("--absolute-form"), {
        "rfc9112.request-target": "warn",
    }),
    # Invalid targets rejected too: only "*" with GET, served, is reported.
    ("lax-strict-target", "wsgi", PROBE, lax("--absolute-form", "--strict-target"), {
        "rfc9112.request-target": "info",
    }),
    # Two "Content-Length: 5" lines read as 55: the marker becomes body (HTTP-16.b).
    ("lax-join-duplicates", "wsgi", PROBE, lax("--join-duplicates"), {
        "rfc9110.duplicates": "fail",
    }),
    # 414 and 431 as required, but every later request gets 503 (HTTP-19.c, a SHOULD).
    ("lax-oversize-answer", "wsgi", PROBE, lax("--oversize-answer"), {
        "rfc9112.oversized": "warn",
    }),
    ("lax-connection", "wsgi", PROBE, lax(), {
        "rfc9112.bodiless-responses": "fail",
        "rfc9112.http10-no-chunked": "fail",
        "rfc9110.expect-continue": "fail",
        "rfc9112.persistence": "fail",
        "rfc9112.close": "fail",
        # A WSGI server must add the Date the app omitted: PEP 3333's "must add it"
        # (HTTP-17.b), where the check used to report a SHOULD. ASGI: asgi-no-date.
        "rfc9110.date": "fail",
        "rfc9112.invalid-then-valid": "warn",
    }),
    # Closes after Connection: close without saying so (HTTP-15.c, a SHOULD).
    ("lax-honour-close", "wsgi", PROBE, lax("--honour-close"), {
        "rfc9112.close": "warn",
    }),
    # A 400 that announces "Connection: close", then the next request served (HTTP-18.d).
    ("lax-reject-but-stay", "wsgi", PROBE, lax("--reject-but-stay"), {
        "rfc9112.invalid-then-valid": "fail",
    }),
    # No ASGI text gives the server the Date duty: reported (HTTP-17.d).
    ("asgi-no-date", "asgi", ASGI_PROBE, UVICORN_NO_DATE, {
        "rfc9110.date": "info",
    }),
    ("lax-reorder", "wsgi", PROBE, lax("--reorder"), {
        "rfc9112.pipelining-order": "fail",
    }),
]


@pytest.mark.parametrize("name,interface,app,command,expected",
                         BROKEN_STACKS, ids=[row[0] for row in BROKEN_STACKS])
def test_check_catches_broken_server(tmp_path: Path, name: str, interface: str, app: str,
                                     command: str | None, expected: dict[str, str]) -> None:
    check_broken_stack(tmp_path, name, interface, app, command, expected)
