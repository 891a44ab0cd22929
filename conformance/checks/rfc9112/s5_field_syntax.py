"""RFC 9112 5, Field Syntax.

Cases that can shift message boundaries run through the desync detector."""

from __future__ import annotations

import re
from typing import Any

from conformance.catalogue import check
from conformance.checks.support.field_line_requests import get
from conformance.context import CheckContext
from conformance.desync import Case, Outcome, Rules, run_cases
from conformance.probes.contract import Event
from conformance.verdicts import Level

# 9110 5.5 and 9112 2.2/5.2 let a recipient replace CR, LF, NUL, bare CR and obs-fold with SP
# instead of rejecting (what the app then sees is checked below); a 400 that keeps the
# connection open breaks only 9112 2.2's SHOULD.
# 9112 5.1: whitespace before the colon MUST be rejected with 400 (no SP alternative).
_COLON: Rules = {"reject": "HTTP-06.b", "respond": "HTTP-06.b", "close_after_reject": "HTTP-06.e",
          "framing": "HTTP-06.b"}
# 9110 5.1: field-name = token; only 9112 2.2's SHOULD (400 and close) covers other bytes.
_NAME: Rules = {"reject": "HTTP-06.e", "respond": "HTTP-06.e", "close_after_reject": "HTTP-06.e"}
FIELD_CASES = [
    Case("CR inside a field value", get(b"X-Bad: a\rb\r\n"), close_after_reject="HTTP-06.e",
         framing="HTTP-06.a"),
    Case("NUL inside a field value", get(b"X-Bad: a\x00b\r\n"), close_after_reject="HTTP-06.e",
         framing="HTTP-06.a"),
    Case("bare CR ending a field line", get(b"X-Bad: a\rX-Other: b\r\n"),
         close_after_reject="HTTP-06.e", framing="HTTP-06.d"),
    Case("obsolete line folding", get(b"X-Bad: a\r\n folded\r\n"), close_after_reject="HTTP-06.e",
         framing="HTTP-06.c"),
    Case("whitespace between field name and colon", get(b"X-Bad : v\r\n"), **_COLON),
    # A server that strips the space would frame a body by it; one that drops the line would not.
    Case("Content-Length with whitespace before the colon",
         get(b"Content-Length : 5\r\n", method=b"POST", body=b"hello"), **_COLON),
    Case("invalid character in a field name", get(b"X(Bad): v\r\n"), **_NAME),
    Case("control character in a field name", get(b"X\x01Bad: v\r\n"), **_NAME),
]
# Where the server serves instead of rejecting, what the app must see of X-Bad (each CR, NUL
# or bare CR replaced with SP; the fold with one or more SP), and the sentence it rests on.
_REPLACED = {
    "CR inside a field value": ("HTTP-06.a", r"a b"),
    "NUL inside a field value": ("HTTP-06.a", r"a b"),
    "bare CR ending a field line": ("HTTP-06.d", r"a X-Other: b"),
    "obsolete line folding": ("HTTP-06.c", r"a +folded"),
}


def _header_values(entry: dict[str, Any], name: str) -> list[str]:
    """The values of field ``name`` as the app saw them (environ or scope), as latin-1 text."""
    if "environ" in entry:
        key = "HTTP_" + name.upper().replace("-", "_")
        value = entry["environ"].get(key)
        return [] if value is None else [str(value)]
    wanted = name.lower().encode("latin-1")
    return [bytes(v).decode("latin-1") for n, v in entry.get("scope", {}).get("headers", [])
            if bytes(n).lower() == wanted]


def _app_entry(outcome: Outcome) -> dict[str, Any] | None:
    return next((e for e in outcome.events.get("invalid", []) if e["event"] == Event.REQUEST),
                None)


def _judge_replacement(ctx: CheckContext, outcome: Outcome) -> None:
    """Served instead of rejected: the app must see SP where the CR, NUL or fold was, in the
    same field (a dropped field, a cut value or a new field is neither reject nor replace)."""
    rule = _REPLACED.get(outcome.case.name)
    entry = _app_entry(outcome)
    if rule is None or entry is None:
        return
    ref, replaced = rule
    values = _header_values(entry, "X-Bad")
    others = _header_values(entry, "X-Other")
    if len(values) != 1 or not re.fullmatch(replaced, values[0]) or others:
        seen = f"X-Bad {values!r}" + (f" and a field X-Other {others!r}" if others else "")
        ctx.finding(ref, f"served, but the app saw {seen}: the bytes were neither rejected nor "
                         f"replaced with SP (that gives {replaced.replace(' +', ' ')!r})")


@check(id="rfc9112.field-syntax", title="CR/LF/NUL, bare CR, obs-fold, space before colon "
       "and bad names in fields are rejected or neutralised", requirements=["HTTP-06"],
       level=Level.MUST, interfaces=("wsgi", "asgi"), via=("direct",),
       section="RFC 9112 5.1, 5.2, 2.2; RFC 9110 5.5")
def field_syntax(ctx: CheckContext) -> None:
    """RFC 9110 5.5: "a recipient of CR, LF, or NUL within a field value MUST either reject
    the message or replace each of those characters with SP before further processing or
    forwarding of that message." (HTTP-06.a) RFC 9112 5.1: "A server MUST reject, with a
    response status code of 400 (Bad Request), any received request message that contains
    whitespace between a header field name and colon." (HTTP-06.b) 5.2: obs-fold MUST be
    rejected with 400 or replaced with SP (HTTP-06.c); 2.2: "A recipient of such a bare CR
    MUST consider that element to be invalid or replace each bare CR with SP before processing
    the element or forwarding the message." (HTTP-06.d). Where the server serves instead of
    rejecting, the app must see the same field with SP in place of each such byte (a cut
    value, a lost field or a new field X-Other is neither). Bad name characters, and
    a rejection that keeps the connection open, rest on 2.2's SHOULD (HTTP-06.e, a warn): "the
    server SHOULD respond with a 400 (Bad Request) response and close the connection." """
    run_cases(ctx, FIELD_CASES, also=_judge_replacement)
