"""The environ, wsgi.input and chunked-body checks catch each way a server can break the
clauses of WSGI-ENV-02..12, WSGI-IN-01 and WSGI-IN-06 (issue 13): every row runs wsgiref (or
its HTTP/1.1 variant) with one of the broken stacks of tests/broken/broken_wsgi_environ.py,
and each check it names must give the stated verdict with the finding of the stated clause.
Where one stack breaks one clause in each of several checks, the rewrite is keyed to that
check's request path, so no check sees another's defect."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import BROKEN, check_broken_stack
from tests.test_broken_wsgi import variant

HTTP11 = variant("no-100")  # wsgiref answering HTTP/1.1, chunk framing passed to the app
REFUSES_ODD_PATHS = (f'["{{python}}", "{BROKEN}/broken_wsgi_environ.py", "--host", "{{host}}", '
                     '"--port", "{port}", "{app}"]')

# (stack name, interface, app "module:attr", command or None, {check id: expected verdict})
BROKEN_STACKS: list[tuple[str, str, str, str | None, dict[str, str]]] = [
    # SERVER_NAME with its port, SERVER_PROTOCOL without "HTTP/", PATH_INFO lower-cased, a
    # repeated header's values out of order, wsgi.url_scheme "HTTP", HTTP_HOST as bytes, and
    # (generated requests) QUERY_STRING percent-decoded.
    ("environ-derived-values", "wsgi", "broken_wsgi_environ:derived_values", None,
     {"pep3333.required-keys": "fail: WSGI-ENV-02.f",
      "pep3333.server-protocol": "fail: WSGI-ENV-03.d",
      "pep3333.optional-cgi-keys": "fail: WSGI-ENV-06.f",
      "pep3333.http-headers": "fail: WSGI-ENV-08.i",
      "pep3333.wsgi-keys": "fail: WSGI-ENV-10.d",
      "pep3333.latin1-strings": "fail: WSGI-ENV-05.f",
      "pep3333.generated-environ": "fail: WSGI-ENV-07.c"}),
    # SERVER_PORT not the receiving port, PATH_INFO without its "/", "-" kept in HTTP_ names,
    # wsgi.input without readlines() (elsewhere: read() gives a bytearray), REMOTE_PORT.
    ("environ-misnamed", "wsgi", "broken_wsgi_environ:misnamed", None,
     {"pep3333.required-keys": "fail: WSGI-ENV-02.g",
      "pep3333.optional-cgi-keys": "fail: WSGI-ENV-06.e",
      "pep3333.http-headers": "fail: WSGI-ENV-08.e",
      "pep3333.wsgi-keys": "fail: WSGI-IN-01.a",
      "pep3333.extra-keys-named": "warn: WSGI-ENV-12.d",
      "pep3333.generated-environ": "fail: WSGI-IN-01.d"}),
    ("generated-drops-query", "wsgi", "broken_wsgi_environ:drops_query", None,
     {"pep3333.generated-environ": "fail: WSGI-ENV-07.a"}),
    # Only once: Hypothesis's replay of the example passes (Flaky); the finding stands,
    # marked as seen once, instead of a suite error.
    ("generated-drops-query-once", "wsgi", "broken_wsgi_environ:drops_query_once", None,
     {"pep3333.generated-environ": "fail: WSGI-ENV-07.a"}),
    ("generated-path-info-utf8", "wsgi", "broken_wsgi_environ:path_info_as_utf8", None,
     {"pep3333.generated-environ": "fail: WSGI-ENV-06.g"}),
    ("generated-answers-options", "wsgi", "broken_wsgi_environ:answers_options", None,
     {"pep3333.generated-environ": "fail: WSGI-ENV-02.h"}),
    # Paths RFC 3875 4.1.5 lets a server refuse: reported (INFO).
    ("generated-refuses-odd-paths", "wsgi", "broken_wsgi_environ:plain", REFUSES_ODD_PATHS,
     {"pep3333.generated-environ": "info: WSGI-ENV-06.j, WSGI-ENV-06.k"}),
    # Mounted under /app by its --mount option, SCRIPT_NAME taken from the raw request line.
    # (The probe app itself: the prefix option goes before the app argument, and the app's
    # module name must not be the script's.)
    ("script-name-encoded", "wsgi", "conformance.probes.wsgi_app:app", REFUSES_ODD_PATHS,
     {"pep3333.script-name-option": "fail: WSGI-ENV-06.d"}),
    ("chunked-refused", "wsgi", "broken_wsgi_environ:chunked_refused", HTTP11,
     {"pep3333.chunked-request-body": "fail: WSGI-IN-06.b"}),
    ("chunked-read-to-close", "wsgi", "broken_wsgi_environ:chunked_read_to_close", HTTP11,
     {"pep3333.chunked-request-body": "fail: WSGI-IN-06.c"}),
    ("chunked-wrong-length", "wsgi", "broken_wsgi_environ:chunked_wrong_length", HTTP11,
     {"pep3333.chunked-request-body": "fail: WSGI-IN-06.e"}),
    # De-chunked (a coding the server supports, so PEP 3333's "must handle any supported"
    # binds it), but wrongly: each chunk's closing CRLF left in the body.
    ("chunked-mis-decoded", "wsgi", "broken_wsgi_environ:chunked_mis_decoded", HTTP11,
     {"pep3333.chunked-request-body": "fail: WSGI-IN-06.a"}),
]

# The prefix option a row's server takes ([proxy] prefix_args, as a bundled target declares it):
# the same script as REFUSES_ODD_PATHS, which with --mount becomes the raw-mounting wsgiref.
EXTRA_TOML = {"script-name-encoded": '[proxy]\nprefix_args = ["--mount", "/app"]'}


@pytest.mark.parametrize("name,interface,app,command,expected",
                         BROKEN_STACKS, ids=[row[0] for row in BROKEN_STACKS])
def test_check_catches_broken_environ(tmp_path: Path, name: str, interface: str, app: str,
                                      command: str | None, expected: dict[str, str]) -> None:
    check_broken_stack(tmp_path, name, interface, app, command, expected,
                       extra_toml=EXTRA_TOML.get(name, ""))
