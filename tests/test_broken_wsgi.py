"""The WSGI input, response, environ-extra and file-wrapper checks catch the bug each is
about: every row runs a real server (wsgiref, or a wsgiref with one wire-level defect) with a
deliberately broken stack and must give the stated verdict. test_real_targets.py is the other
half (they pass on correct servers)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from tests.conftest import BROKEN, check_broken_stack

PROBE = "conformance.probes.wsgi_app:app"


def variant(name: str, *python_flags: str) -> str:
    """A target command running tests/broken/broken_wsgiref_variants.py --variant NAME."""
    flags = "".join(f'"{flag}", ' for flag in python_flags)
    return (f'["{{python}}", {flags}"{BROKEN}/broken_wsgiref_variants.py", "--variant", '
            f'"{name}", "--host", "{{host}}", "--port", "{{port}}", "{{app}}"]')


UWSGI = ('["{bin}/uwsgi", "--http-socket", "{host}:{port}", "--home", "{bin}/..", "--module", '
         '"{app}", "--need-app", "--die-on-term", "--disable-logging"]')
UWSGI_BINARY = Path(sys.executable).parent / "uwsgi"
WSGIREF_OPTIMIZED = ('["{python}", "-O", "-m", "conformance.launchers.wsgiref_server", '
                     '"--host", "{host}", "--port", "{port}", "{app}"]')

# (variant name, interface, app "module:attr", command or None, {check id: expected verdict})
BROKEN_STACKS: list[tuple[str, str, str, str | None, dict[str, str]]] = [
    ("input-iter-blocks", "wsgi", "broken_wsgi_pep:iter_in_blocks", None,
     {"pep3333.read-methods": "fail: WSGI-IN-01.c"}),
    ("readline-ignores-size", "wsgi", "broken_wsgi_pep:readline_ignores_size", None,
     {"pep3333.readline-size": "warn: WSGI-IN-02.a"}),
    ("read-needs-size", "wsgi", "broken_wsgi_pep:read_needs_size", None,
     {"pep3333.read-no-argument": "warn: WSGI-IN-03.a"}),
    ("exhausted-readlines", "wsgi", "broken_wsgi_pep:exhausted_readlines", None,
     {"pep3333.input-exhausted": "warn: WSGI-IN-05.a"}),
    # wsgiref as it is: its wsgi.input is the socket file (no EOF at CONTENT_LENGTH, chunked
    # framing passed through), write() sends the headers for an empty block, Content-Length
    # is not enforced (also under wsgi.file_wrapper, which sends the file past it), header
    # values are not checked, X-A_B joins X-A-B, and it answers as
    # HTTP/1.0 (no 100 Continue: the PEP's Expect/Continue rule is for HTTP/1.1 servers).
    # X-A_B merged is hardening (WSGI-ENV-09 rests on no sentence); read-methods shows its
    # SHOULD (readlines()/iteration block at CONTENT_LENGTH, WSGI-IN-04.a). The chunk framing
    # it hands the app is a warn: an HTTP/1.0 server that cannot decode should reject
    # (WSGI-IN-06.f); the HTTP/1.1 variant below shows the MUST.
    ("wsgiref-as-is", "wsgi", PROBE, None,
     {"pep3333.read-past-content-length": "warn: WSGI-IN-04.a",
      "pep3333.chunked-request-body": "warn: WSGI-IN-06.f",
      "pep3333.read-methods": "warn: WSGI-IN-04.a", "pep3333.expect-continue": "info: WSGI-IN-07.f",
      "pep3333.headers-held-until-body": "fail: WSGI-RESP-02.b",
      "pep3333.content-length-too-many": "warn: WSGI-RESP-09.a",
      "pep3333.file-wrapper": "warn: WSGI-FILE-01.f",
      "pep3333.control-characters": "warn: WSGI-RESP-11.e",
      "pep3333.underscore-header-spoofing": "hardening: WSGI-ENV-09.b",
      # Content-Length: 0 added to a 204 whose app returned an empty list (RFC 9110 8.6).
      "rfc9112.bodiless-responses": "fail: HTTP-10.a, HTTP-10.f"}),
    # An HTTP/1.1 server that never sends 100 Continue: the PEP's third way, "not recommended"
    # (WSGI-IN-07.g, SHOULD NOT), so a warn, no longer a fail. As an HTTP/1.1 recipient it
    # must decode chunked bodies (RFC 9112 7.1, WSGI-IN-06.c) and hands the app the framing
    # (a coding it does not support, so PEP 3333's "any supported" (WSGI-IN-06.a) does not
    # reach it).
    # Its unsized HTTP/1.1 responses are close-delimited where chunked was possible, so an app
    # error mid-body is invisible to the client (WSGI-RESP-13.g, SHOULD).
    ("no-100-continue", "wsgi", PROBE, variant("no-100"),
     {"pep3333.expect-continue": "warn: WSGI-IN-07.g",
      "pep3333.chunked-request-body": "fail: WSGI-IN-06.c",
      "pep3333.app-exception": "warn: WSGI-RESP-13.g"}),
    ("expect-417", "wsgi", PROBE, variant("expect-417"),
     {"pep3333.expect-continue": "fail: WSGI-IN-07.a"}),
    ("chunked-411", "wsgi", PROBE, variant("chunked-411"),
     {"pep3333.chunked-request-body": "info: WSGI-IN-06.d"}),
    ("write-after-iterable", "wsgi", "broken_wsgi_pep:write_after_iterable", None,
     {"pep3333.write-before-iterable": "fail: WSGI-RESP-01.c"}),
    ("ignores-replacement", "wsgi", "broken_wsgi_pep:ignores_replacement", None,
     {"pep3333.headers-held-until-body": "warn: WSGI-RESP-02.e"}),
    ("assumes-started", "wsgi", "broken_wsgi_pep:assumes_started", None,
     {"pep3333.start-response-in-iterable": "fail: WSGI-RESP-03.a"}),
    ("swallows-late-exc-info", "wsgi", "broken_wsgi_pep:swallows_late_exc_info", None,
     {"pep3333.exc-info-after-headers": "fail: WSGI-RESP-04.a"}),
    ("raises-own-error", "wsgi", "broken_wsgi_pep:raises_own_error", None,
     {"pep3333.exc-info-after-headers": "warn: WSGI-RESP-04.b"}),
    # The second call's fatal error is the application's (WSGI-RESP-05.a); the pointer to the
    # example gateway that raises has no keyword, so letting it pass is reported (INFO).
    ("ignores-second-start", "wsgi", "broken_wsgi_pep:ignores_second_start", None,
     {"pep3333.second-start-response": "info: WSGI-RESP-05.c"}),
    # python -O strips wsgiref's hop-by-hop assertion: the app's Transfer-Encoding reaches
    # the wire over an unchunked body. That message breaks RFC 9110 2.2's MUST (WSGI-RESP-12.f:
    # a chunked framing the body does not have), so a fail, no longer a warn.
    ("wsgiref-optimized", "wsgi", PROBE, WSGIREF_OPTIMIZED,
     {"pep3333.hop-by-hop": "fail: WSGI-RESP-12.f"}),
    ("drops-hop-by-hop", "wsgi", "broken_wsgi_pep:drops_hop_by_hop", None,
     {"pep3333.hop-by-hop": "warn: WSGI-RESP-12.b"}),
    ("bare-cr-headers", "wsgi", "broken_wsgi_pep:bare_cr_headers", None,
     {"pep3333.control-characters": "fail: WSGI-RESP-11.f"}),
    ("empty-block-last-chunk", "wsgi", PROBE, variant("empty-chunk"),
     {"pep3333.empty-blocks": "fail: WSGI-RESP-08.e"}),
    # An app's empty list answered with the server's 500 (hypercorn's WSGI wrapper).
    ("empty-result-500", "wsgi", PROBE, variant("empty-result-500"),
     {"pep3333.empty-blocks": "fail: WSGI-RESP-02.c"}),
    # Transfer-Encoding to an HTTP/1.0 client (RFC 9112 6.1): the server's own responses
    # (rfc9112.http10-no-chunked) and the framing it chose for the app's unsized response
    # (WSGI-RESP-10.e; its chunks are correct, so that is the only finding).
    ("chunked-to-http10", "wsgi", PROBE, variant("chunked-to-10"),
     {"rfc9112.http10-no-chunked": "fail: HTTP-11.a",
      "pep3333.unsized-response-framing": "fail: WSGI-RESP-10.e"}),
    # Also the app that fails 12 bytes into a declared 100-byte body: the connection stays
    # open (WSGI-RESP-09.b, SHOULD); and a response without Content-Length, close-delimited,
    # never ends (WSGI-RESP-10.b).
    ("lingers-after-short-body", "wsgi", PROBE, variant("lingers"),
     {"pep3333.content-length-too-few": "warn: WSGI-RESP-09.b",
      "pep3333.app-exception": "warn: WSGI-RESP-09.b",
      "pep3333.unsized-response-framing": "fail: WSGI-RESP-10.b"}),
    # A 200 for an app that failed before any output: no sentence obliges a 5xx
    # (WSGI-RESP-13.h, INFO; "Servers should trap and log" is all the PEP asks), so info, no
    # longer a fail.
    ("swallows-errors", "wsgi", "broken_wsgi_pep:swallows_errors", None,
     {"pep3333.app-exception": "info: WSGI-RESP-13.h"}),
    # RFC 9110 6.6.1: an origin server with a clock MUST send Date in a 2xx (WSGI-RESP-14.c),
    # so a fail, no longer a warn.
    ("no-date", "wsgi", PROBE, variant("no-date"),
     {"pep3333.date-header": "fail: WSGI-RESP-14.c"}),
    # "the error stream should accept and log arbitrary unicode" (WSGI-ENV-11.d, SHOULD): a
    # warn, no longer a fail.
    ("ascii-errors", "wsgi", "broken_wsgi_pep:ascii_errors", None,
     {"pep3333.errors-any-unicode": "warn: WSGI-ENV-11.d"}),
    ("mixed-case-extra-key", "wsgi", "broken_wsgi_pep:mixed_case_extra_key", None,
     {"pep3333.extra-keys-named": "warn: WSGI-ENV-12.b"}),
    # No close() reaches the file (WSGI-FILE-01.g, MUST) and it is sent from the start.
    # The app's latin-1 header value stripped of its edge \xa0 and \x85 (the latin1-repeat
    # sub-case; wsgiref's own CR/LF findings make the rest of the cell warn already).
    ("strips-header-values", "wsgi", "broken_wsgi_pep:strips_header_values", None,
     {"pep3333.control-characters": "warn: HTTP-16.f"}),
    ("rewinding-file-wrapper", "wsgi", "broken_wsgi_pep:rewinding_file_wrapper", None,
     {"pep3333.file-wrapper": "fail: WSGI-FILE-01.g"}),
    # Sent from the start, close() passed on: only the position SHOULD (WSGI-FILE-01.f).
    ("rewinding-file-wrapper-with-close", "wsgi",
     "broken_wsgi_pep:rewinding_file_wrapper_with_close", None,
     {"pep3333.file-wrapper": "warn: WSGI-FILE-01.f"}),
    # environ: the MUST (a dict subclass), the SHOULD and INFO of keys left over from an
    # earlier request (shared-environ in test_broken_servers.py leaks both kinds).
    ("environ-dict-subclass", "wsgi", "broken_wsgi:dict_subclass_environ", None,
     {"pep3333.fresh-dict": "fail: WSGI-ENV-01.a"}),
    ("leaks-extra-keys", "wsgi", "broken_wsgi:leaks_extra_keys", None,
     {"pep3333.fresh-dict": "info: WSGI-ENV-01.c"}),
    ("obs-text-dropped", "wsgi", "broken_wsgi:obs_text_dropped", None,
     {"pep3333.latin1-strings": "warn: WSGI-ENV-05.g"}),
    ("extension-key-int", "wsgi", "broken_wsgi:extension_key_int", None,
     {"pep3333.latin1-strings": "info: WSGI-ENV-05.i"}),
    ("duplicates-last-wins", "wsgi", "broken_wsgi:duplicates_last_wins", None,
     {"pep3333.http-headers": "fail: WSGI-ENV-08.h"}),
    # The configuration says multithread, wsgiref's environ says not (WSGI-ENV-10.e, SHOULD).
    ("wsgi-flags-mismatch", "wsgi", PROBE, None,
     {"pep3333.wsgi-keys": "warn: WSGI-ENV-10.e"}),
    # Generated requests: an HTTP_ key for a header never sent (WSGI-ENV-08.b, SHOULD); and
    # a server whose only difference is the form of non-UTF-8 path bytes (WSGI-ENV-05.h,
    # INFO; with wsgiref's chunked bodies unreadable, WSGI-IN-06.h, INFO), shown on wsgiref,
    # whose header values lose an edge \xa0 or \x85 to str.strip() (WSGI-ENV-05.g, SHOULD).
    ("generated-extra-http-key", "wsgi", "broken_wsgi:extra_http_key", None,
     {"pep3333.generated-environ": "warn: WSGI-ENV-08.b"}),
    ("generated-mangled-path", "wsgi", "broken_wsgi:mangled_non_ascii_path", None,
     {"pep3333.generated-environ": "warn: WSGI-ENV-05.g, WSGI-ENV-05.h, WSGI-IN-06.h"}),
    # uWSGI (no other server speaks the uwsgi protocol) with an app wrapper that decodes
    # QUERY_STRING only when the request came through uwsgi_pass: the environ differs from
    # the HTTP one in a CGI key (PROXY-12.d, MUST). uWSGI as it is passes: the differences it
    # shows through uwsgi_pass (a repeated header's last value, HTTP_CONTENT_*) are built by
    # nginx 1.22, not by the server.
    ("uwsgi-decodes-query", "wsgi", "broken_wsgi:uwsgi_decodes_query", UWSGI,
     {"deployment.uwsgi-protocol": "fail: PROXY-12.d"}),
    # Issue 13: one broken variant per clause, each an environ a server with one bug builds.
    ("environ-empty-method", "wsgi", "broken_wsgi:empty_request_method", None,
     {"pep3333.required-keys": "fail: WSGI-ENV-02.b"}),
    ("environ-no-server-name", "wsgi", "broken_wsgi:no_server_name", None,
     {"pep3333.required-keys": "fail: WSGI-ENV-02.c"}),
    ("environ-method-lower-case", "wsgi", "broken_wsgi:method_lower_case", None,
     {"pep3333.required-keys": "fail: WSGI-ENV-02.e"}),
    ("environ-no-server-protocol", "wsgi", "broken_wsgi:no_server_protocol", None,
     {"pep3333.server-protocol": "fail: WSGI-ENV-03.a"}),
    ("environ-query-with-mark", "wsgi", "broken_wsgi:query_with_mark", None,
     {"pep3333.optional-cgi-keys": "fail: WSGI-ENV-04.d",
      "pep3333.generated-environ": "fail: WSGI-ENV-07.b"}),
    ("environ-content-length-zero", "wsgi", "broken_wsgi:content_length_zero", None,
     {"pep3333.optional-cgi-keys": "fail: WSGI-ENV-04.h"}),
    ("environ-content-length-int", "wsgi", "broken_wsgi:content_length_int", None,
     {"pep3333.latin1-strings": "fail: WSGI-ENV-05.a"}),
    ("environ-path-with-query", "wsgi", "broken_wsgi:path_with_query", None,
     {"pep3333.optional-cgi-keys": "fail: WSGI-ENV-06.a"}),
    ("environ-script-name-slash", "wsgi", "broken_wsgi:script_name_slash", None,
     {"pep3333.optional-cgi-keys": "fail: WSGI-ENV-06.b"}),
    ("environ-path-still-encoded", "wsgi", "broken_wsgi:path_still_encoded", None,
     {"pep3333.generated-environ": "fail: WSGI-ENV-06.c"}),
    ("environ-header-value-space", "wsgi", "broken_wsgi:header_value_space", None,
     {"pep3333.http-headers": "fail: WSGI-ENV-08.a"}),
    ("environ-content-type-only-as-http", "wsgi", "broken_wsgi:content_type_only_as_http", None,
     {"pep3333.http-headers": "fail: WSGI-ENV-08.g"}),
    ("environ-no-run-once", "wsgi", "broken_wsgi:no_run_once", None,
     {"pep3333.wsgi-keys": "fail: WSGI-ENV-10.a"}),
    ("environ-claims-multiprocess", "wsgi", "broken_wsgi:claims_multiprocess", None,
     {"pep3333.wsgi-keys": "warn: WSGI-ENV-10.f"}),
    ("environ-claims-run-once", "wsgi", "broken_wsgi:claims_run_once", None,
     {"pep3333.wsgi-keys": "warn: WSGI-ENV-10.g"}),
    ("errors-without-writelines", "wsgi", "broken_wsgi:errors_without_writelines", None,
     {"pep3333.wsgi-keys": "fail: WSGI-ENV-11.b"}),
    ("returns-no-write", "wsgi", "broken_wsgi_pep:returns_no_write", None,
     {"pep3333.write-before-iterable": "fail: WSGI-RESP-01.a"}),
    ("write-drops-data", "wsgi", "broken_wsgi_pep:write_drops_data", None,
     {"pep3333.write-before-iterable": "fail: WSGI-RESP-01.b"}),
    ("file-wrapper-needs-fileno", "wsgi", "broken_wsgi_pep:file_wrapper_needs_fileno", None,
     {"pep3333.file-wrapper": "fail: WSGI-FILE-01.i"}),
    # Issue 13, items 1-3: a clause each (two checks share a stack where each check's verdict
    # rests on one clause).
    ("input-and-errors-streams", "wsgi", "broken_wsgi_clauses:input_and_errors_streams", None,
     {"pep3333.read-past-content-length": "warn: WSGI-IN-04.b",
      "pep3333.errors-any-unicode": "warn: WSGI-ENV-11.c"}),
    ("100-on-read-no-wait", "wsgi", PROBE, variant("100-on-read"),
     {"pep3333.expect-continue": "fail: WSGI-IN-07.e"}),
    ("100-then-silence", "wsgi", PROBE, variant("100-silent"),
     {"pep3333.expect-continue": "fail: WSGI-IN-07.i"}),
    ("raises-on-exc-info", "wsgi", "broken_wsgi_clauses:raises_on_exc_info", None,
     {"pep3333.headers-held-until-body": "fail: WSGI-RESP-02.f"}),
    ("stops-at-empty-block", "wsgi", "broken_wsgi_clauses:stops_at_empty_block", None,
     {"pep3333.empty-blocks": "fail: WSGI-RESP-08.b",
      "pep3333.headers-held-until-body": "fail: WSGI-RESP-08.b"}),
    ("no-last-chunk", "wsgi", PROBE, variant("no-last-chunk"),
     {"pep3333.unsized-response-framing": "fail: WSGI-RESP-10.d"}),
    ("double-chunked", "wsgi", PROBE, variant("double-chunked", "-O"),
     {"pep3333.hop-by-hop": "fail: WSGI-RESP-12.f"}),
    ("chunked-twice", "wsgi", PROBE, variant("chunked-twice", "-O"),
     {"pep3333.hop-by-hop": "fail: WSGI-RESP-12.e"}),
    ("hangs-on-app-error", "wsgi", "broken_wsgi_clauses:hangs_on_app_error", None,
     {"pep3333.app-exception": "warn: WSGI-RESP-13.a"}),
    ("last-chunk-on-error", "wsgi", PROBE, variant("last-chunk-on-error"),
     {"pep3333.app-exception": "info: WSGI-RESP-13.b"}),
    ("file-wrapper-no-block-size", "wsgi", "broken_wsgi_clauses:file_wrapper_no_block_size", None,
     {"pep3333.file-wrapper": "fail: WSGI-FILE-01.b"}),
    ("file-wrapper-corrupts", "wsgi", "broken_wsgi_clauses:file_wrapper_corrupts", None,
     {"pep3333.file-wrapper": "warn: WSGI-FILE-01.e"}),
    ("file-wrapper-not-iterable", "wsgi", "broken_wsgi_clauses:file_wrapper_not_iterable",
     None, {"pep3333.file-wrapper": "fail: WSGI-FILE-01.d"}),
    # WSGI-RESP-09.a's two other clauses, one stack each, the wire cut right at Content-Length
    # in both: asks for block 3 after block 1 filled it ("stop iterating"), and lets the
    # app's write() past it return ("raise an error").
    ("content-length-keeps-iterating", "wsgi", PROBE, variant("cl-keeps-iterating"),
     {"pep3333.content-length-too-many": "warn: WSGI-RESP-09.a"}),
    ("content-length-write-returns", "wsgi", PROBE, variant("cl-write-returns"),
     {"pep3333.content-length-too-many": "warn: WSGI-RESP-09.a"}),
]
# TOML added to a row's target: what the check compares the server with.
WSGIREF_FLAGS = "[wsgi]\nmultithread = false\nmultiprocess = false\nrun_once = false"
EXTRA_TOML = {
    # The uwsgi-protocol check reads the uwsgi socket arguments from [features].
    "uwsgi-decodes-query": '[features]\nuwsgi_socket_args = ["--socket", "{host}:{port}"]',
    "wsgi-flags-mismatch": "[wsgi]\nmultithread = true\nmultiprocess = false\nrun_once = false",
    # wsgiref as configured: one thread, one process, many requests (the wrapper lies).
    "environ-claims-multiprocess": WSGIREF_FLAGS,
    "environ-claims-run-once": WSGIREF_FLAGS,
}


@pytest.mark.parametrize("name,interface,app,command,expected",
                         BROKEN_STACKS, ids=[row[0] for row in BROKEN_STACKS])
def test_check_catches_broken_server(tmp_path: Path, name: str, interface: str, app: str,
                                     command: str | None, expected: dict[str, str]) -> None:
    if command and "uwsgi" in command and not UWSGI_BINARY.exists():
        pytest.skip("uWSGI is not installed (pip install pyuwsgi)")
    check_broken_stack(tmp_path, name, interface, app, command, expected,
                       extra_toml=EXTRA_TOML.get(name, ""))
