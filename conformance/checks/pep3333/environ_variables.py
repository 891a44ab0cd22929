"""PEP 3333, "environ Variables": the CGI and wsgi.* keys of the environ dict."""

from __future__ import annotations

from conformance import strategies
from conformance.catalogue import check
from conformance.checks.support.generated_requests import run_property, wsgi_compare, wsgi_unseen
from conformance.context import CheckContext
from conformance.verdicts import Level


@check(
    id="pep3333.generated-environ",
    title="for generated valid requests the environ equals the oracle's",
    requirements=["WSGI-ENV-02", "WSGI-ENV-03", "WSGI-ENV-04", "WSGI-ENV-05", "WSGI-ENV-06",
                  "WSGI-ENV-07", "WSGI-ENV-08", "WSGI-IN-01", "WSGI-IN-06"],
    level=Level.MUST,
    interfaces=("wsgi",),
    via=("direct",),
    section="PEP 3333 'environ Variables'; 'Unicode Issues'; 'URL Reconstruction'; "
            "'Input and Error Streams'; 'Other HTTP Features'",
)
def wsgi_generated(ctx: CheckContext) -> None:
    """PEP 3333, environ Variables and Unicode Issues, for generated valid requests (methods,
    percent-encoded paths with %2F, %25 and bytes 0x80-0xFF, raw query strings, mixed-case and
    repeated headers, bodies with Content-Length or chunked in random chunk sizes with chunk
    extensions, each request split across TCP writes at random offsets). Each key's value is
    held to the sentence that defines it: REQUEST_METHOD (WSGI-ENV-02.e), SERVER_PROTOCOL
    (WSGI-ENV-03.b), CONTENT_TYPE and CONTENT_LENGTH (WSGI-ENV-04.e, .f), PATH_INFO "not
    URL-encoded" (WSGI-ENV-06.c: %2F is "/"), QUERY_STRING raw (WSGI-ENV-07.b), repeated
    headers joined (WSGI-ENV-08.h) and code points within U+00FF (WSGI-ENV-05.d), all MUST.
    HTTP_* keys present exactly for the headers sent is a SHOULD (WSGI-ENV-08.b). Left open and
    reported (INFO): the form of non-ASCII path bytes, "system-defined" (WSGI-ENV-05.h); a
    rejected path with an encoded "/" or other objectionable bytes (WSGI-ENV-06.j, .k); a 411
    to a chunked body (WSGI-IN-06.d); and a chunked body with neither CONTENT_LENGTH nor
    wsgi.input_terminated, which "The application should not attempt to read more data than
    is specified by the CONTENT_LENGTH variable." leaves unreadable (WSGI-IN-06.h). A chunked
    body the app cannot read breaks "A recipient MUST be able to parse and decode the chunked
    transfer coding." (WSGI-IN-06.c); any other valid request that never reaches the app
    breaks "The server or gateway invokes the
    application callable once for each request it receives from an HTTP client, that is
    directed at the application." (WSGI-ENV-02.h)."""
    run_property(ctx, strategies.wsgi_requests(), wsgi_compare, wsgi_unseen)
