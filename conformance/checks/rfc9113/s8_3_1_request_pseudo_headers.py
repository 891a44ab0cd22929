"""RFC 9113 8.3.1 "Request Pseudo-Header Fields", as asgi-www.rst "HTTP Connection Scope"
maps them into the scope (H2-01).

:func:`pseudo_header_differences` is the judgement, one (sentence, text) per difference; the
generated requests over HTTP/2 (generated_requests.py) use it too.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import unquote_to_bytes

from conformance.catalogue import check
from conformance.context import CheckContext
from conformance.h2_wire import H2Client
from conformance.probes.contract import Event
from conformance.verdicts import Level

# One difference: the sentence it rests on (REQ-ID.key) and what was seen.
Difference = tuple[str, str]

# Percent-escapes (UTF-8, a space, an encoded "/") and a query with escapes of its own; and a
# second method, so a server that does not take the method from :method shows.
CASES = (("GET", "/h2/caf%C3%A9/a%20b/c%2Fd?x=%2F&y=1&k=%C3%A9"), ("DELETE", "/h2/plain"))
# The Host field of the request whose :authority differs from it (H2-01.l, with .m).
OTHER_HOST = b"host-field.invalid:8081"
REFUSED_WAIT = 2.0  # seconds a refused request's journal entry is waited for


def pseudo_header_differences(scope: dict[str, Any], *, method: str, scheme: str,
                              authority: bytes, target: bytes,
                              host_field: bytes | None = None) -> list[Difference]:
    """Where the scope of an HTTP/2 request differs from what its pseudo-header fields
    give. ``host_field``: the value of a Host field the request also carried."""
    return [*_version_method_scheme(scope, method, scheme), *_target(scope, target),
            *_headers(scope, authority, host_field)]


def _version_method_scheme(scope: dict[str, Any], method: str, scheme: str
                           ) -> list[Difference]:
    diffs: list[Difference] = []
    version = scope.get("http_version")
    if version not in ("1.0", "1.1", "2"):
        diffs.append(("H2-01.a", f"http_version is {version!r}, not one of '1.0', '1.1', '2'"))
    elif version != "2":
        diffs.append(("H2-01.b", f"http_version is {version!r} for an HTTP/2 request, not '2'"))
    got = scope.get("method")
    if not isinstance(got, str) or (got != method and got.upper() == method):
        diffs.append(("H2-01.d", f":method {method}: scope['method'] is {got!r}, not the "
                                 "method name as an upper-case str"))
    elif got != method:
        diffs.append(("H2-01.c", f":method {method}: scope['method'] is {got!r}"))
    # "Optional (but must not be empty); default is "http""
    got_scheme = scope.get("scheme", "http")
    if not isinstance(got_scheme, str) or not got_scheme:
        diffs.append(("H2-01.f", f":scheme {scheme}: scope['scheme'] is {got_scheme!r}, not "
                                 "the scheme as a non-empty str"))
    elif got_scheme != scheme:
        diffs.append(("H2-01.e", f":scheme {scheme}: scope['scheme'] is {got_scheme!r}"))
    return diffs


def _target(scope: dict[str, Any], target: bytes) -> list[Difference]:
    """path, raw_path and query_string from :path. The query left in the path, or missing
    from query_string, is :path not split at its "?" (H2-01.g); a path not decoded, a
    raw_path not the bytes received, a query_string not the raw part after "?" break their
    own definitions (.h, .i, .j)."""
    raw, has_query, query = target.partition(b"?")
    unsplit = {unquote_to_bytes(target).decode("utf-8", "replace"), target.decode("latin-1")}
    diffs: list[Difference] = []
    path = scope.get("path")
    expected = unquote_to_bytes(raw).decode("utf-8")
    if path != expected:
        ref = "H2-01.g" if has_query and path in unsplit else "H2-01.h"
        diffs.append((ref, f":path {target!r}: scope['path'] is {path!r}, expected "
                           f"{expected!r} (percent-decoded, without the query)"))
    raw_path = scope.get("raw_path")  # may be absent: "Some web server implementations may
    if raw_path is not None and raw_path != raw:  # be unable to provide this."
        ref = "H2-01.g" if has_query and raw_path == target else "H2-01.i"
        diffs.append((ref, f":path {target!r}: scope['raw_path'] is {raw_path!r}, expected "
                           f"{raw!r} (the bytes received, without the query)"))
    got_query = scope.get("query_string")
    if got_query != query:
        ref = "H2-01.g" if query and got_query in (b"", None) else "H2-01.j"
        diffs.append((ref, f":path {target!r}: scope['query_string'] is {got_query!r}, "
                           f"expected {query!r} (the raw part after '?')"))
    return diffs


def _pairs(scope: dict[str, Any]) -> list[tuple[bytes, bytes]]:
    """The scope's headers as (lower-case name, value) bytes pairs, whatever their types
    (their types are asgi-www.scope-headers' business)."""
    pairs = []
    for entry in scope.get("headers") or []:
        try:
            name, value = entry
            pairs.append((_bytes(name).lower(), _bytes(value)))
        except (TypeError, ValueError):
            continue
    return pairs


def _bytes(value: Any) -> bytes:
    return value.encode("latin-1") if isinstance(value, str) else bytes(value)


def _headers(scope: dict[str, Any], authority: bytes, host_field: bytes | None
             ) -> list[Difference]:
    """No pseudo-header among the headers (H2-01.k); the first host header is :authority
    (.l), also when a Host field came too: .l's "or replace any existing host header" is the
    sentence a Host field handed over in :authority's place breaks word for word (RFC 9113's
    "MUST NOT use the Host header field to determine the target URI", .m, is its reason: the
    app determines the target URI from that header). A client's Host kept after the
    :authority's is the sentence's "added to the start of the iterable" and is not judged;
    neither is where the host header stands ("order of header names is not important")."""
    pairs = _pairs(scope)
    diffs: list[Difference] = []
    pseudo = [name for name, _ in pairs if name.startswith(b":")]
    if pseudo:
        diffs.append(("H2-01.k", f"scope['headers'] holds the pseudo-header fields "
                                 f"{pseudo!r}"))
    hosts = [value for name, value in pairs if name == b"host"]
    if not hosts:
        diffs.append(("H2-01.l", f":authority {authority!r} did not reach the app as a host "
                                 f"header (headers: {pairs!r})"))
    elif hosts[0] != authority:
        came_from_host = host_field is not None and hosts[0] == host_field
        diffs.append(("H2-01.l", f":authority {authority!r}"
                      + (f" and Host {host_field!r}" if host_field is not None else "")
                      + f": the app's host header is {hosts[0]!r}"
                      + (" (the Host field's)" if came_from_host else "")
                      + ("" if authority in hosts else
                         "; no host header carries :authority's value")))
    return diffs


@check(
    id="rfc9113.request-pseudo-headers",
    title="over HTTP/2 the scope comes from the pseudo-header fields: http_version \"2\"; "
          "method, scheme, path, raw_path, query_string; :authority as host",
    requirements=["H2-01"],
    level=Level.MUST,
    interfaces=("asgi",),
    via=("direct",),
    section="RFC 9113 8.3.1; asgi-www.rst 'HTTP Connection Scope'",
    needs=("h2",),
)
def request_pseudo_headers(ctx: CheckContext) -> None:
    """RFC 9113 8.3.1 and asgi-www.rst, HTTP Connection Scope (all MUST: definitions of what
    the server hands the app, and two musts). http_version is "One of "1.0", "1.1" or "2"."
    (H2-01.a) and "All HTTP/2 requests implicitly have a protocol version of "2.0"" (.b);
    "The ":method" pseudo-header field includes the HTTP method" (.c), "The HTTP method
    name, uppercased." (.d); ":scheme" "includes the scheme portion of the request target"
    (.e), scheme the "URL scheme portion" (.f); ":path" "includes the path and query parts
    of the target URI" (.g), path "with percent-encoded sequences and UTF-8 byte sequences
    decoded into characters" (.h), raw_path "unmodified from the bytes that were received"
    (.i), query_string "URL portion after the ?, percent-encoded." (.j); "Pseudo headers
    (present in HTTP/2 and HTTP/3) must be removed" (.k); "if :authority is present its value
    must be added to the start of the iterable with host as the header name or replace any
    existing host header already present" (.l).

    Two requests on one connection (GET with UTF-8, space and %2F escapes and a query; a
    DELETE), one sub-case each. A third sub-case, on a connection of its own, sends a Host
    field that differs from :authority. A server "SHOULD treat a request as malformed" when
    they differ: refusing it is no finding; a request that reaches the app must show
    :authority as its host, which .l's "or replace any existing host header already present"
    asks word for word (RFC 9113's reason, "The recipient of an HTTP/2 request MUST NOT use
    the Host header field to determine the target URI if ":authority" is present.", .m, is
    part of that clause)."""
    client = ctx.http2()
    for method, target in CASES:
        with ctx.case(f"{method} {target}"):
            rid = ctx.new_rid()
            headers = ctx.h2_headers(rid, method, target)
            client.response(client.request(headers))
            scope = ctx.observed(rid, Event.REQUEST)["scope"]
            for ref, text in pseudo_header_differences(
                    scope, method=method, scheme=headers[1][1].decode(),
                    authority=headers[2][1], target=target.encode()):
                ctx.finding(ref, text)
    with ctx.case(":authority and a different Host"):
        _authority_over_host(ctx)


def _authority_over_host(ctx: CheckContext) -> None:
    client: H2Client = ctx.http2(validate=False)
    rid = ctx.new_rid()
    headers = ctx.h2_headers(rid, "GET", "/h2/authority", [(b"host", OTHER_HOST)])
    stream = client.response(client.request(headers))
    entry = ctx.journal.wait_event(rid, Event.REQUEST, timeout=REFUSED_WAIT if (
        stream.reset_code is not None or client.goaway is not None or not stream.status)
        else 5.0)
    if entry is None:
        ctx.details["authority_and_host"] = (
            f"refused (status {stream.status or 'none'}, reset {stream.reset_code}, GOAWAY "
            f"{client.goaway}): RFC 9113 8.3.1 lets a server treat it as malformed")
        return
    for ref, text in _headers(entry["scope"], headers[2][1], OTHER_HOST):
        ctx.finding(ref, text)
