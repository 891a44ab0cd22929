"""RFC 9113 8.2.1 "Field Validity" (H2-04): a request whose field breaks its minimal
validation gets a 400 (Bad Request), the status 8.2.1 asks for. That it is a stream error at
all is rfc9113.malformed-requests' (s8_1_1_malformed_requests.py, whose request this sends).
"""

from __future__ import annotations

from conformance.catalogue import check
from conformance.checks.rfc9113.s8_1_1_malformed_requests import MALFORMATIONS, send_malformed
from conformance.context import CheckContext
from conformance.verdicts import Level


@check(
    id="rfc9113.malformed-field-400",
    title="over HTTP/2 a request with an upper-case field name gets a 400 (Bad Request)",
    requirements=["H2-04"],
    level=Level.SHOULD,
    interfaces=("wsgi", "asgi"),
    via=("direct",),
    section="RFC 9113 8.2.1",
    needs=("h2",),
)
def malformed_field_400(ctx: CheckContext) -> None:
    """RFC 9113 8.2.1: "When a request message violates one of these requirements, an
    implementation SHOULD generate a 400 (Bad Request) status code (see Section 15.5.1 of
    [HTTP]), unless a more suitable status code is defined or the status code cannot be sent
    (e.g., because the error occurs in a trailer field)." (H2-04.e, SHOULD). Of "these
    requirements" the request breaks "A field name MUST NOT contain characters in the ranges
    0x00-0x20, 0x41-0x5a, or 0x7f-0xff": an upper-case name in its header section, where a
    status can be sent. Any 4xx counts (a more suitable code may exist); no response, or a
    success, is the finding. Whether it is also a stream error is
    rfc9113.malformed-requests'."""
    case = MALFORMATIONS[0]
    got, _ = send_malformed(ctx, case)
    ctx.details["reaction"] = got.describe()
    if not 400 <= got.status < 500:
        ctx.finding("H2-04.e", f"{case.label}: the server answered with {got.describe()}, "
                               "no 4xx status")
