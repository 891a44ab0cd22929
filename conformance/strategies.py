"""Hypothesis strategies for valid HTTP/1.1 requests (RFC 9112 / RFC 3986 grammar).

Small strategies named after what they generate, built from each other. Everything generated
is valid, so any server must accept it and show the app exactly what the oracle derives.
Bodies go with Content-Length or (WSGI, HTTP/1.1) chunked in random chunk sizes with optional
chunk extensions, and every request carries random cut offsets at which it is split across TCP
writes. Field names reach every tchar (RFC 9110 5.6.2) but "_"; field values reach obs-text
(0x80-0xFF, RFC 9110 5.5) inside and at both edges, and HTAB and SP inside; a list-based or
custom name comes in two or three field lines. Values, paths and query strings often carry the
characters Python's str.strip() and str.split() take for whitespace while HTTP does not
(:data:`STR_ONLY_WHITESPACE`): \\x85 and \\xa0 raw in values (obs-text), and all of them
percent-encoded in paths and queries (\\x0b, \\x0c and \\x1c-\\x1f are CTLs, invalid raw in a
field value), so a server that strips or splits a latin-1 str loses them.

Deliberately left out (each is its own check family, where the specs leave room or a server
may legitimately refuse): dot segments (also once %2F is decoded), %00 in paths and %2F in
ASGI paths, empty header values, leading or trailing SP/HTAB in a value (OWS, which a server
strips), header names with "_", hop-by-hop and framing headers, X-Forwarded-* (servers may
trust them from loopback), repeated Cookie / Content-Type headers and repeated singleton
fields, methods beyond the common registered ones. obs-text is in: rejecting it breaks only a
SHOULD (RFC 9110 5.5), which the generated checks report as such (checks/support/
generated_requests.py), so it never fails their MUST property.
"""

from __future__ import annotations

import string
from dataclasses import replace
from urllib.parse import unquote_to_bytes

from hypothesis import strategies as st

from conformance.oracle import GeneratedRequest
from conformance.oracle_h2 import H2Request

UNRESERVED = string.ascii_letters + string.digits + "-._~"
SUB_DELIMS = "!$&'()*+,;=:@"
# RFC 9110 5.6.2: tchar = "!" / "#" / "$" / "%" / "&" / "'" / "*" / "+" / "-" / "." / "^" /
# "_" / "`" / "|" / "~" / DIGIT / ALPHA. "_" is left out of generated names (WSGI-ENV-09).
TCHAR_SYMBOLS = "!#$%&'*+-.^`|~"
# What str.strip()/str.split() take for whitespace but HTTP does not (str.isspace() of a
# latin-1 character, less SP, HTAB, CR, LF): obs-text NEL and NBSP, and four CTLs.
STR_ONLY_WHITESPACE = (0x0B, 0x0C, 0x1C, 0x1D, 0x1E, 0x1F, 0x85, 0xA0)
OBS_TEXT_WHITESPACE = (0x85, 0xA0)
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


def _hex(byte: int, lower: bool) -> bytes:
    return (f"%{byte:02x}" if lower else f"%{byte:02X}").encode()


def percent_encoded_bytes(byte: st.SearchStrategy[int]) -> st.SearchStrategy[bytes]:
    """A drawn byte as %XX, upper- or lower-case hex (both are valid; raw_path keeps the case).
    Built without flatmap: a strategy made per draw costs more than the draw."""
    return st.tuples(byte, st.booleans()).map(lambda t: _hex(*t))


def percent_encoded(byte: int) -> st.SearchStrategy[bytes]:
    """One byte as %XX, upper- or lower-case hex."""
    return percent_encoded_bytes(st.just(byte))


def _ascii_path_char() -> st.SearchStrategy[bytes]:
    literal = st.sampled_from(UNRESERVED + SUB_DELIMS).map(str.encode)
    encoded = percent_encoded_bytes(
        st.sampled_from(UNRESERVED + SUB_DELIMS + " \"<>[]^`{|}%#?").map(ord))
    return st.one_of(literal, encoded)


def encoded_slash_or_percent() -> st.SearchStrategy[bytes]:
    """%2F and %25 (PATH_INFO decodes them to "/" and "%"; the ASGI path leaves %2F out:
    its servers differ on it by design, asgi-www.scope-path-and-raw-path judges that)."""
    return percent_encoded_bytes(st.sampled_from([0x2F, 0x25]))


def _utf8_percent_encoded(char: st.SearchStrategy[str]) -> st.SearchStrategy[bytes]:
    """A character as its percent-encoded UTF-8 bytes, each in either hex case."""
    return st.tuples(char, st.integers(0, 15)).map(lambda t: b"".join(
        _hex(b, bool(t[1] >> i & 1)) for i, b in enumerate(t[0].encode("utf-8"))))


def utf8_path_char() -> st.SearchStrategy[bytes]:
    """A non-ASCII character as its percent-encoded UTF-8 bytes (0x80-0xFF on the wire)."""
    return _utf8_percent_encoded(st.characters(min_codepoint=0x80, max_codepoint=0x10FFFF,
                                                exclude_categories=["Cs"]))


def latin1_path_char() -> st.SearchStrategy[bytes]:
    """Any byte 0x80-0xFF percent-encoded, valid UTF-8 or not (PEP 3333 carries bytes)."""
    return percent_encoded_bytes(st.integers(0x80, 0xFF))


def str_whitespace_byte() -> st.SearchStrategy[bytes]:
    """A byte of STR_ONLY_WHITESPACE percent-encoded: PATH_INFO holds it decoded, as the
    latin-1 character str.strip() would take for whitespace (\\x85 and \\xa0 among them)."""
    return percent_encoded_bytes(st.sampled_from(STR_ONLY_WHITESPACE))


def str_whitespace_char() -> st.SearchStrategy[bytes]:
    """A character of STR_ONLY_WHITESPACE as its percent-encoded UTF-8 (U+0085 is %C2%85):
    the ASGI path holds the character itself."""
    return _utf8_percent_encoded(st.sampled_from([chr(c) for c in STR_ONLY_WHITESPACE]))


def path_segments(char: st.SearchStrategy[bytes]) -> st.SearchStrategy[bytes]:
    # No dot segments, also not percent-encoded ones (RFC 3986 6.2.2.2 lets servers normalise).
    # A segment holding %2F decodes to several; none may be a dot segment.
    segment = st.lists(char, min_size=1, max_size=8).map(b"".join).filter(
        lambda s: all(part == b"" or part.strip(b".") != b""
                      for part in unquote_to_bytes(s).split(b"/")))
    return st.lists(segment, min_size=0, max_size=4).map(lambda segs: b"/" + b"/".join(segs))


def asgi_paths() -> st.SearchStrategy[bytes]:
    """Absolute paths whose percent-decoding is valid UTF-8 (asgi-www.rst path is a str)."""
    return path_segments(st.one_of(_ascii_path_char(), utf8_path_char(),
                                   str_whitespace_char()))


def wsgi_paths() -> st.SearchStrategy[bytes]:
    """Absolute paths with arbitrary bytes 0x80-0xFF percent-encoded (PATH_INFO is latin-1)."""
    # Not one whose decoding begins "//" (a "%2F" first segment): RFC 3986 3.3 gives such a
    # path no meaning without an authority and servers collapse it (waitress/task.py
    # get_environ strips extra leading slashes), like the dot segments left out above.
    return path_segments(st.one_of(_ascii_path_char(), utf8_path_char(), latin1_path_char(),
                                   encoded_slash_or_percent(), str_whitespace_byte())).filter(
        lambda p: not unquote_to_bytes(p).startswith(b"//"))


def query_strings() -> st.SearchStrategy[bytes | None]:
    """None (no "?"), or the raw query: pchar, "/", "?", and percent-encoded bytes."""
    char = st.one_of(
        st.sampled_from(UNRESERVED + SUB_DELIMS + "/?").map(str.encode),
        percent_encoded_bytes(st.integers(0, 0xFF)),
        str_whitespace_byte(),
    )
    return st.none() | st.lists(char, max_size=20).map(b"".join)


def _mixed_case(name: bytes, mask: int, invert: bool) -> bytes:
    """``name`` with the letters whose bit in ``mask`` is set (clear, with ``invert``)
    upper-cased: drawn masks are mostly small, so ``invert`` makes mostly-upper names as
    common as mostly-lower ones."""
    return bytes(c - 32 if bool(mask >> i & 1) != invert and 97 <= c <= 122 else c
                 for i, c in enumerate(name))


def header_names() -> st.SearchStrategy[bytes]:
    """Token names (RFC 9110 5.1, 5.6.2) in mixed case: a common field, or "x-" and up to 12
    tchars (any but "_", see WSGI-ENV-09)."""
    custom = st.text(string.ascii_lowercase + string.digits + TCHAR_SYMBOLS, min_size=1,
                     max_size=12).map(lambda s: b"x-" + s.encode())
    name = st.one_of(st.sampled_from(COMMON_HEADERS), custom).filter(
        lambda n: n not in EXCLUDED_HEADERS)
    return st.tuples(name, st.integers(0, 2**16 - 1), st.booleans()).map(
        lambda t: _mixed_case(*t))


def _field_values(vchar: st.SearchStrategy[int]) -> st.SearchStrategy[bytes]:
    """field-value = field-vchar [ 1*( SP / HTAB / field-vchar ) field-vchar ] (RFC 9110
    5.5), never empty: SP and HTAB only inside, never at an edge (OWS, which servers strip)."""
    inner = st.one_of(vchar, st.sampled_from([0x20, 0x09]))
    return st.tuples(vchar, st.lists(inner, max_size=30), vchar).map(
        lambda t: bytes([t[0], *t[1], t[2]])) | vchar.map(lambda c: bytes([c]))


VCHAR = st.integers(0x21, 0x7E)
# field-vchar with obs-text: a third of the characters any byte 0x80-0xFF, a third \x85 or
# \xa0 (whitespace to str.strip(), opaque data to HTTP), at the edges as often as inside.
FIELD_VCHAR = st.one_of(VCHAR, st.integers(0x80, 0xFF), st.sampled_from(OBS_TEXT_WHITESPACE))


def header_values() -> st.SearchStrategy[bytes]:
    """Non-empty field values (RFC 9110 5.5 field-content): visible ASCII, or (one value in
    four) with obs-text, each with SP and HTAB inside.

    obs-text is valid, but RFC 9110 5.5 only says "A recipient SHOULD treat other allowed
    octets in field content (i.e., obs-text) as opaque data.": the generated checks report a
    server that rejects or alters it at that level, so obs-text keeps to a quarter of the
    values and most requests still test the MUSTs on the rest. Shrinks to plain ASCII."""
    return _HEADER_VALUES


_ASCII_VALUES = _field_values(VCHAR)
_OBS_TEXT_VALUES = _field_values(FIELD_VCHAR)
_HEADER_VALUES = st.integers(0, 3).flatmap(lambda i: _OBS_TEXT_VALUES if i == 3
                                           else _ASCII_VALUES)


# Singleton fields (RFC 9110 5.3: a sender "MUST NOT generate multiple field lines with the
# same name" unless the field is a list): never repeated, as a recipient may keep one value.
SINGLETON_HEADERS = frozenset({b"authorization", b"user-agent", b"referer", b"origin"})


@st.composite
def header_lists(draw: st.DrawFn) -> tuple[tuple[bytes, bytes], ...]:
    """Up to 6 headers of distinct names; often one list-based or custom name among them
    comes in two or three field lines (same or swapped case) to test combining."""
    pairs = draw(_DISTINCT_PAIRS)
    names = [n for n, _ in pairs if n.lower() not in SINGLETON_HEADERS]
    if names:
        extra = draw(st.integers(0, 2))  # more lines of one name: none, one or two
        name = names[draw(st.integers(0, len(names) - 1))]
        pairs += [(name.swapcase() if draw(st.booleans()) else name, draw(_HEADER_VALUES))
                  for _ in range(extra)]
    return tuple(draw(st.permutations(pairs)))


_DISTINCT_PAIRS = st.lists(st.tuples(header_names(), header_values()), max_size=6,
                           unique_by=lambda p: p[0].lower())


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

    Each size is below ``length`` (the bodies are mostly short), so a body of two bytes or
    more often goes in several chunks; the last chunk takes the rest. Empty size and
    extension lists are the simplest draw, so a failure shrinks to one plain chunk."""
    sizes = draw(st.lists(st.integers(1, max(1, length - 1)), max_size=8))
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


# -- HTTP/2 (issue 11) ------------------------------------------------------------------------

@st.composite
def http2_requests(draw: st.DrawFn) -> H2Request:
    """The valid requests above as HTTP/2 sends them: the same methods, ASGI paths, queries,
    fields and bodies, field names in lower case (RFC 9113 8.2: "Field names MUST be
    converted to lowercase when constructing an HTTP/2 message."), the body cut into DATA
    frames at random offsets, and content-length sent or not (RFC 9113 8.1.1: a request
    "can include a content-length header field"). No Host field: :authority carries it."""
    method = draw(st.sampled_from(METHODS))
    body = draw(bodies()) if method in BODY_METHODS else b""
    headers = tuple((name.lower(), value) for name, value in draw(header_lists()))
    return H2Request(method=method, path=draw(asgi_paths()), query=draw(query_strings()),
                     headers=headers, body=body, cuts=draw(cut_offsets(len(body))),
                     content_length=method in BODY_METHODS and draw(st.booleans()))
