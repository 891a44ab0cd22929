"""Hypothesis strategies for valid HTTP/1.1 requests (RFC 9112 / RFC 3986 grammar).

Small strategies named after what they generate, built from each other. Everything generated
is valid, so any server must accept it and show the app exactly what the oracle derives.
Bodies go with Content-Length or (WSGI, HTTP/1.1) chunked in random chunk sizes with optional
chunk extensions, and every request carries random cut offsets at which it is split across TCP
writes. Deliberately left out (each is its own check family, where the specs leave room or a
server may legitimately refuse): dot segments (also once %2F is decoded), %00 in paths and
%2F in ASGI paths, empty header values, obs-text in header values, header names
with "_", hop-by-hop and framing headers, X-Forwarded-* (servers may trust them from loopback),
repeated Cookie / Content-Type headers, methods beyond the common registered ones.
"""

from __future__ import annotations

import string
from dataclasses import replace
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


def encoded_slash_or_percent() -> st.SearchStrategy[bytes]:
    """%2F and %25 (PATH_INFO decodes them to "/" and "%"; the ASGI path leaves %2F out:
    its servers differ on it by design, asgi-www.scope-path-and-raw-path judges that)."""
    return st.sampled_from([0x2F, 0x25]).flatmap(percent_encoded)


def utf8_path_char() -> st.SearchStrategy[bytes]:
    """A non-ASCII character as its percent-encoded UTF-8 bytes (0x80-0xFF on the wire)."""
    chars = st.characters(min_codepoint=0x80, max_codepoint=0x10FFFF,
                          exclude_categories=["Cs"])
    return chars.flatmap(lambda c: st.tuples(*[percent_encoded(b) for b in c.encode("utf-8")])
                         .map(b"".join))


def latin1_path_char() -> st.SearchStrategy[bytes]:
    """Any byte 0x80-0xFF percent-encoded, valid UTF-8 or not (PEP 3333 carries bytes)."""
    return st.integers(0x80, 0xFF).flatmap(percent_encoded)


def path_segments(char: st.SearchStrategy[bytes]) -> st.SearchStrategy[bytes]:
    # No dot segments, also not percent-encoded ones (RFC 3986 6.2.2.2 lets servers normalise).
    # A segment holding %2F decodes to several; none may be a dot segment.
    segment = st.lists(char, min_size=1, max_size=8).map(b"".join).filter(
        lambda s: all(part == b"" or part.strip(b".") != b""
                      for part in unquote_to_bytes(s).split(b"/")))
    return st.lists(segment, min_size=0, max_size=4).map(lambda segs: b"/" + b"/".join(segs))


def asgi_paths() -> st.SearchStrategy[bytes]:
    """Absolute paths whose percent-decoding is valid UTF-8 (asgi-www.rst path is a str)."""
    return path_segments(st.one_of(_ascii_path_char(), utf8_path_char()))


def wsgi_paths() -> st.SearchStrategy[bytes]:
    """Absolute paths with arbitrary bytes 0x80-0xFF percent-encoded (PATH_INFO is latin-1)."""
    # Not one whose decoding begins "//" (a "%2F" first segment): RFC 3986 3.3 gives such a
    # path no meaning without an authority and servers collapse it (waitress/task.py
    # get_environ strips extra leading slashes), like the dot segments left out above.
    return path_segments(st.one_of(_ascii_path_char(), utf8_path_char(), latin1_path_char(),
                                   encoded_slash_or_percent())).filter(
        lambda p: not unquote_to_bytes(p).startswith(b"//"))


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
    judges: obs-text has its own checks (pep3333.latin1-strings, asgi-www.scope-headers)."""
    vchar = st.integers(0x21, 0x7E)
    inner = st.one_of(vchar, st.just(0x20))
    return st.tuples(vchar, st.lists(inner, max_size=30), vchar).map(
        lambda t: bytes([t[0], *t[1], t[2]])) | vchar.map(lambda c: bytes([c]))


# Singleton fields (RFC 9110 5.3: a sender "MUST NOT generate multiple field lines with the
# same name" unless the field is a list): never repeated, as a recipient may keep one value.
SINGLETON_HEADERS = frozenset({b"authorization", b"user-agent", b"referer", b"origin"})


def header_lists() -> st.SearchStrategy[tuple[tuple[bytes, bytes], ...]]:
    """Up to 8 headers; a list-based or custom name may repeat (same or different case) to
    test combining."""
    pair = st.tuples(header_names(), header_values())

    def with_repeats(pairs: list[tuple[bytes, bytes]]) -> st.SearchStrategy:
        names = [n for n, _ in pairs if n.lower() not in SINGLETON_HEADERS]
        if not names:
            return st.just(tuple(pairs))
        repeat = st.tuples(st.sampled_from(names).map(bytes.swapcase), header_values())
        return st.lists(repeat, max_size=2).flatmap(
            lambda extra: st.permutations(pairs + extra).map(tuple))

    return st.lists(pair, max_size=6, unique_by=lambda p: p[0].lower()).flatmap(with_repeats)


def bodies() -> st.SearchStrategy[bytes]:
    return st.binary(max_size=2048)


def chunk_extensions() -> st.SearchStrategy[bytes]:
    """b"" or chunk-ext (RFC 9112 7.1.1): ";name" or ";name=value", tokens or quoted."""
    token = st.text(string.ascii_letters + string.digits + "-!#$%&'*+.^_`|~", min_size=1,
                    max_size=6).map(str.encode)
    quoted = st.text(string.ascii_letters + string.digits + " ,;=", max_size=6).map(
        lambda s: b'"' + s.encode() + b'"')
    ext = st.tuples(token, st.none() | token | quoted).map(
        lambda t: b";" + t[0] + (b"" if t[1] is None else b"=" + t[1]))
    return st.lists(ext, max_size=2).map(b"".join)


@st.composite
def chunkings(draw: st.DrawFn, length: int) -> tuple[tuple[int, bytes], ...]:
    """Random chunk sizes (each >= 1, adding up to ``length``), some with a chunk-ext.

    Sizes and extensions are drawn independently of ``length`` (the last chunk takes the
    rest), so a failure shrinks to one plain chunk while the body shrinks."""
    sizes = draw(st.lists(st.integers(1, 512), max_size=8))
    extensions = draw(st.lists(chunk_extensions(), max_size=4))
    chunks: list[int] = []
    for size in sizes:
        if sum(chunks) + size >= length:
            break
        chunks.append(size)
    if length > sum(chunks):
        chunks.append(length - sum(chunks))
    return tuple((size, extensions[i] if i < len(extensions) else b"")
                 for i, size in enumerate(chunks))


# Stand-ins of the real lengths ("127.0.0.1:<port>", a 16-hex-digit request id) to draw cut
# offsets against; offsets past the real end are dropped by Connection.send_split.
NOMINAL_HOST = "127.0.0.1:8000"
NOMINAL_RID = "0" * 16


def cut_offsets(length: int) -> st.SearchStrategy[tuple[int, ...]]:
    """Up to 4 distinct offsets in 1..length-1 at which to split the request's bytes."""
    if length < 2:
        return st.just(())
    return st.lists(st.integers(1, length - 1), max_size=4, unique=True).map(
        lambda cuts: tuple(sorted(cuts)))


@st.composite
def valid_requests(draw: st.DrawFn, paths: st.SearchStrategy[bytes],
                   chunked: bool = False) -> GeneratedRequest:
    """A request; with ``chunked``, an HTTP/1.1 body-carrying one may go chunked (RFC 9112
    6.1: Transfer-Encoding in HTTP/1.0 is faulty framing, so never there)."""
    method = draw(st.sampled_from(METHODS))
    body = draw(bodies()) if method in BODY_METHODS else b""
    version = draw(st.sampled_from(["HTTP/1.1", "HTTP/1.1", "HTTP/1.0"]))
    chunks = None
    if chunked and method in BODY_METHODS and version == "HTTP/1.1" and draw(st.booleans()):
        chunks = draw(chunkings(len(body)))
    req = GeneratedRequest(method=method, path=draw(paths), query=draw(query_strings()),
                           headers=draw(header_lists()), body=body, version=version,
                           chunks=chunks)
    length = len(req.to_bytes(NOMINAL_HOST, NOMINAL_RID))
    return replace(req, cuts=draw(cut_offsets(length)))


def asgi_requests() -> st.SearchStrategy[GeneratedRequest]:
    return valid_requests(asgi_paths())


def wsgi_requests() -> st.SearchStrategy[GeneratedRequest]:
    return valid_requests(wsgi_paths(), chunked=True)
