"""Hypothesis strategies for valid HTTP/1.1 requests (RFC 9112 / RFC 3986 grammar).

Small strategies named after what they generate, built from each other. Everything generated
is valid, so any server must accept it and show the app exactly what the oracle derives.
Deliberately left out (each is its own check family, where the specs leave room or a server
may legitimately refuse): dot segments, %2F and %00 in paths, empty header values, obs-text
in header values, header names
with "_", hop-by-hop and framing headers, X-Forwarded-* (servers may trust them from loopback),
repeated Cookie / Content-Type headers, methods beyond the common registered ones.
"""

from __future__ import annotations

import string
from urllib.parse import unquote_to_bytes

from hypothesis import strategies as st

from conformance.oracle import GeneratedRequest

UNRESERVED = string.ascii_letters + string.digits + "-._~"
SUB_DELIMS = "!$&'()*+,;=:@"
METHODS = ("GET", "POST", "PUT", "DELETE", "PATCH", "OPTIONS")
BODY_METHODS = ("POST", "PUT", "PATCH")
COMMON_HEADERS = (b"accept", b"accept-language", b"user-agent", b"authorization", b"referer",
                  b"cache-control", b"if-none-match", b"origin")
# Header names that change how a server frames, routes or attributes the request.
EXCLUDED_HEADERS = frozenset({
    b"host", b"content-length", b"transfer-encoding", b"connection", b"keep-alive", b"te",
    b"trailer", b"upgrade", b"expect", b"proxy-connection", b"x-probe-id", b"forwarded",
    b"x-forwarded-for", b"x-forwarded-proto", b"x-forwarded-host", b"x-forwarded-port",
    b"x-real-ip", b"x-scheme", b"cookie", b"content-type",
})


def percent_encoded(byte: int) -> st.SearchStrategy[bytes]:
    """One byte as %XX, upper- or lower-case hex (both are valid; raw_path keeps the case)."""
    return st.sampled_from([f"%{byte:02X}".encode(), f"%{byte:02x}".encode()])


def _ascii_path_char() -> st.SearchStrategy[bytes]:
    literal = st.sampled_from(UNRESERVED + SUB_DELIMS).map(str.encode)
    encoded = st.sampled_from(UNRESERVED + SUB_DELIMS + " \"<>[]^`{|}%#?").flatmap(
        lambda c: percent_encoded(ord(c)))
    return st.one_of(literal, encoded)


def utf8_path_char() -> st.SearchStrategy[bytes]:
    """A non-ASCII character as its percent-encoded UTF-8 bytes (0x80-0xFF on the wire)."""
    chars = st.characters(min_codepoint=0x80, max_codepoint=0x10FFFF,
                          blacklist_categories=("Cs",))
    return chars.flatmap(lambda c: st.tuples(*[percent_encoded(b) for b in c.encode("utf-8")])
                         .map(b"".join))


def latin1_path_char() -> st.SearchStrategy[bytes]:
    """Any byte 0x80-0xFF percent-encoded, valid UTF-8 or not (PEP 3333 carries bytes)."""
    return st.integers(0x80, 0xFF).flatmap(percent_encoded)


def path_segments(char: st.SearchStrategy[bytes]) -> st.SearchStrategy[bytes]:
    # No dot segments, also not percent-encoded ones (RFC 3986 6.2.2.2 lets servers normalise).
    segment = st.lists(char, min_size=1, max_size=8).map(b"".join).filter(
        lambda s: unquote_to_bytes(s).strip(b".") != b"")
    return st.lists(segment, min_size=0, max_size=4).map(lambda segs: b"/" + b"/".join(segs))


def asgi_paths() -> st.SearchStrategy[bytes]:
    """Absolute paths whose percent-decoding is valid UTF-8 (asgi-www.rst path is a str)."""
    return path_segments(st.one_of(_ascii_path_char(), utf8_path_char()))


def wsgi_paths() -> st.SearchStrategy[bytes]:
    """Absolute paths with arbitrary bytes 0x80-0xFF percent-encoded (PATH_INFO is latin-1)."""
    return path_segments(st.one_of(_ascii_path_char(), utf8_path_char(), latin1_path_char()))


def query_strings() -> st.SearchStrategy[bytes | None]:
    """None (no "?"), or the raw query: pchar, "/", "?", and percent-encoded bytes."""
    char = st.one_of(
        st.sampled_from(UNRESERVED + SUB_DELIMS + "/?").map(str.encode),
        st.integers(0, 0xFF).flatmap(percent_encoded),
    )
    return st.none() | st.lists(char, max_size=20).map(b"".join)


def header_names() -> st.SearchStrategy[bytes]:
    """Token names (RFC 9110 5.1) in mixed case, without "_" (see WSGI-ENV-09)."""
    custom = st.text(string.ascii_lowercase + string.digits + "-", min_size=1, max_size=12).map(
        lambda s: b"x-" + s.encode())
    name = st.one_of(st.sampled_from(COMMON_HEADERS), custom).filter(
        lambda n: n not in EXCLUDED_HEADERS)
    return name.flatmap(lambda n: st.lists(st.booleans(), min_size=len(n), max_size=len(n)).map(
        lambda flags: bytes(c - 32 if up and 97 <= c <= 122 else c for c, up in zip(n, flags,
                                                                                   strict=True))))


def header_values() -> st.SearchStrategy[bytes]:
    """Non-empty field values of visible ASCII with inner spaces (RFC 9110 5.5 field-content).

    obs-text (0x80-0xFF) is valid too, but RFC 9110 5.5 only says a recipient SHOULD treat it
    as opaque data, so a server that rejects it breaks a SHOULD, not the MUSTs this property
    judges: obs-text has its own checks (wsgi-environ.latin1-strings, asgi-scope.headers)."""
    vchar = st.integers(0x21, 0x7E)
    inner = st.one_of(vchar, st.just(0x20))
    return st.tuples(vchar, st.lists(inner, max_size=30), vchar).map(
        lambda t: bytes([t[0], *t[1], t[2]])) | vchar.map(lambda c: bytes([c]))


def header_lists() -> st.SearchStrategy[tuple[tuple[bytes, bytes], ...]]:
    """Up to 8 headers; a name may repeat (same or different case) to test combining."""
    pair = st.tuples(header_names(), header_values())

    def with_repeats(pairs: list[tuple[bytes, bytes]]) -> st.SearchStrategy:
        if not pairs:
            return st.just(())
        repeat = st.tuples(st.sampled_from([n for n, _ in pairs]).map(bytes.swapcase),
                           header_values())
        return st.lists(repeat, max_size=2).flatmap(
            lambda extra: st.permutations(pairs + extra).map(tuple))

    return st.lists(pair, max_size=6, unique_by=lambda p: p[0].lower()).flatmap(with_repeats)


def bodies() -> st.SearchStrategy[bytes]:
    return st.binary(max_size=2048)


@st.composite
def valid_requests(draw: st.DrawFn, paths: st.SearchStrategy[bytes]) -> GeneratedRequest:
    method = draw(st.sampled_from(METHODS))
    return GeneratedRequest(
        method=method,
        path=draw(paths),
        query=draw(query_strings()),
        headers=draw(header_lists()),
        body=draw(bodies()) if method in BODY_METHODS else b"",
        version=draw(st.sampled_from(["HTTP/1.1", "HTTP/1.1", "HTTP/1.0"])),
    )


def asgi_requests() -> st.SearchStrategy[GeneratedRequest]:
    return valid_requests(asgi_paths())


def wsgi_requests() -> st.SearchStrategy[GeneratedRequest]:
    return valid_requests(wsgi_paths())
