"""asgi-www.rst, "HTTP Connection Scope": the keys of the http scope."""

from __future__ import annotations

from conformance import strategies
from conformance.catalogue import check
from conformance.checks.support.generated_requests import asgi_compare, asgi_unseen, run_property
from conformance.context import CheckContext
from conformance.verdicts import Level


@check(
    id="asgi-www.scope-generated-requests",
    title="for generated valid requests the scope and body events equal the oracle's",
    requirements=["ASGI-SCOPE-01", "ASGI-SCOPE-02", "ASGI-SCOPE-03", "ASGI-SCOPE-04",
                  "ASGI-SCOPE-05", "ASGI-SCOPE-06", "ASGI-SCOPE-07", "ASGI-HTTP-01"],
    level=Level.MUST,
    interfaces=("asgi",),
    via=("direct",),
    section="asgi-www.rst 'HTTP Connection Scope'; 'Request - receive event'",
)
def asgi_generated(ctx: CheckContext) -> None:
    """asgi-www.rst, HTTP Connection Scope and Request, for generated valid requests: type
    (ASGI-SCOPE-01.d), http_version, method, scheme (ASGI-SCOPE-02.a, .c, .d), path
    (percent-decoded UTF-8, ASGI-SCOPE-03.a), raw_path (verbatim, ASGI-SCOPE-03.c),
    query_string (raw, ASGI-SCOPE-04.a), root_path (ASGI-SCOPE-06.a), headers ("Duplicates are
    possible and must be preserved in the message as received.", ASGI-SCOPE-05.c; values as
    sent, ASGI-SCOPE-05.g; names compared case-insensitively, lower-casing is its own check),
    client and server (ASGI-SCOPE-07.a, .b) equal the oracle's, and the http.request bodies
    concatenate to the body (ASGI-HTTP-01.c) with exactly one final more_body False
    (ASGI-HTTP-01.e). A valid request that never reaches the app breaks "Sent to the
    application to indicate an incoming request." (ASGI-HTTP-01.a). Each of these is a MUST."""
    run_property(ctx, strategies.asgi_requests(), asgi_compare, asgi_unseen)
