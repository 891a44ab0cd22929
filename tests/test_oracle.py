"""The oracle (conformance/oracle.py) and the request strategies (conformance/strategies.py).

The oracle is checked on hand-written requests whose PEP 3333 environ and ASGI scope are
worked out by hand; the strategies are checked by h11, a well-kept HTTP/1.1 parser, so a
generated request that a correct server might reject would show up here, not as a false
failure against a server.
"""

from __future__ import annotations

import random
from typing import Any
from urllib.parse import unquote_to_bytes

import h11
import pytest
from hypothesis import Phase, find, given, settings
from hypothesis import strategies as st
from hypothesis.errors import NoSuchExample

from conformance import strategies
from conformance.oracle import (
    GeneratedRequest,
    body_differences,
    environ_differences,
    expected_environ,
    expected_scope,
    scope_differences,
)

HOST = "127.0.0.1:8000"
RID = "rid1"

REQUEST = GeneratedRequest(
    method="GET",
    path=b"/caf%C3%A9/x%2a",
    query=b"a=%20b&c=%C3%A9&d",
    headers=(
        (b"Accept", b"text/html"),
        (b"X-Multi", b"a"),
        (b"Content-Type", b"text/plain"),
        (b"x-multi", b"b"),
    ),
)


def environ_for(req: GeneratedRequest = REQUEST) -> dict[str, Any]:
    return expected_environ(req, host=HOST, rid=RID)


def conforming_environ(expected: dict[str, Any], joiner: int = 0) -> dict[str, Any]:
    """An environ a correct server could build: absent for None, one allowed value per tuple."""
    environ: dict[str, Any] = {"wsgi.version": (1, 0), "SERVER_NAME": "127.0.0.1"}
    for key, want in expected.items():
        if want is not None:
            environ[key] = want[joiner] if isinstance(want, tuple) else want
    return environ


# --- expected_environ ----------------------------------------------------------------------------


def test_environ_path_info_is_percent_decoded_as_latin1() -> None:
    """PEP 3333: PATH_INFO is the decoded bytes as latin-1, so UTF-8 shows up byte by byte."""
    assert environ_for()["PATH_INFO"] == "/caf\xc3\xa9/x*"


def test_environ_path_info_with_non_utf8_bytes() -> None:
    """Bytes that are not UTF-8 are still carried, one latin-1 character each."""
    req = GeneratedRequest("GET", b"/%FF%fe", None, ())
    assert environ_for(req)["PATH_INFO"] == "/\xff\xfe"


def test_environ_query_string_is_raw() -> None:
    """QUERY_STRING is the raw query (not decoded); without "?" it may be absent or ""."""
    assert environ_for()["QUERY_STRING"] == "a=%20b&c=%C3%A9&d"
    assert environ_for(GeneratedRequest("GET", b"/", None, ()))["QUERY_STRING"] is None
    assert environ_for(GeneratedRequest("GET", b"/", b"", ()))["QUERY_STRING"] is None


def test_environ_basic_keys() -> None:
    """Method, protocol, SCRIPT_NAME (absent or ""), Host and the probe id as HTTP_ keys."""
    expected = environ_for()
    assert expected["REQUEST_METHOD"] == "GET"
    assert expected["SERVER_PROTOCOL"] == "HTTP/1.1"
    assert expected["SCRIPT_NAME"] is None
    assert expected["HTTP_HOST"] == HOST
    assert expected["HTTP_X_PROBE_ID"] == RID
    assert expected["HTTP_ACCEPT"] == "text/html"


def test_environ_repeated_headers_allow_both_joins() -> None:
    """Repeated headers (any case) combine into one key, joined by "," or ", " (RFC 9110 5.3)."""
    assert environ_for()["HTTP_X_MULTI"] == ("a,b", "a, b")


def test_environ_content_type() -> None:
    """Content-Type maps to CONTENT_TYPE, never to HTTP_CONTENT_TYPE."""
    expected = environ_for()
    assert expected["CONTENT_TYPE"] == "text/plain"
    assert "HTTP_CONTENT_TYPE" not in expected
    assert environ_for(GeneratedRequest("GET", b"/", None, ()))["CONTENT_TYPE"] is None


@pytest.mark.parametrize(("method", "body", "length"), [
    ("GET", b"", None),
    ("DELETE", b"", None),
    ("OPTIONS", b"", None),
    ("POST", b"", "0"),
    ("PUT", b"", "0"),
    ("PATCH", b"", "0"),
    ("POST", b"hello", "5"),
    ("GET", b"abc", "3"),
])
def test_environ_content_length(method: str, body: bytes, length: str | None) -> None:
    """CONTENT_LENGTH is expected only when the request sends one: a body, or POST/PUT/PATCH;
    never an HTTP_CONTENT_LENGTH."""
    req = GeneratedRequest(method, b"/", None, (), body=body)
    expected = environ_for(req)
    assert expected["CONTENT_LENGTH"] == length
    assert "HTTP_CONTENT_LENGTH" not in expected
    assert (b"Content-Length" in dict(req.all_headers(HOST, RID))) == (length is not None)


def test_environ_http_10() -> None:
    """SERVER_PROTOCOL follows the request line's version."""
    req = GeneratedRequest("GET", b"/", None, (), version="HTTP/1.0")
    assert environ_for(req)["SERVER_PROTOCOL"] == "HTTP/1.0"


# --- environ_differences -------------------------------------------------------------------------


@pytest.mark.parametrize("joiner", [0, 1])
def test_environ_differences_accepts_conforming_environ(joiner: int) -> None:
    """An environ built by the rules, with either allowed join of repeated headers, passes."""
    expected = environ_for()
    assert environ_differences(expected, conforming_environ(expected, joiner)) == []


def test_environ_differences_rejects_other_join() -> None:
    """A repeated header joined with anything but "," / ", " (here ";") is a difference."""
    expected = environ_for()
    environ = conforming_environ(expected)
    environ["HTTP_X_MULTI"] = "a;b"
    diffs = environ_differences(expected, environ)
    assert len(diffs) == 1 and diffs[0].startswith("HTTP_X_MULTI")
    environ["HTTP_X_MULTI"] = "a"
    assert len(environ_differences(expected, environ)) == 1


def test_environ_differences_missing_and_extra_http_keys() -> None:
    """A header the app did not get, and an HTTP_ key for a header never sent, are reported."""
    expected = environ_for()
    environ = conforming_environ(expected)
    del environ["HTTP_ACCEPT"]
    environ["HTTP_X_INVENTED"] = "1"
    diffs = environ_differences(expected, environ)
    assert len(diffs) == 2
    assert any(d.startswith("HTTP_ACCEPT") for d in diffs)
    assert any("HTTP_X_INVENTED" in d for d in diffs)


def test_environ_differences_content_type_as_http_key() -> None:
    """HTTP_CONTENT_TYPE in the environ is an extra key, and a missing CONTENT_TYPE a difference."""
    expected = environ_for()
    environ = conforming_environ(expected)
    environ["HTTP_CONTENT_TYPE"] = environ.pop("CONTENT_TYPE")
    diffs = environ_differences(expected, environ)
    assert any(d.startswith("CONTENT_TYPE") for d in diffs)
    assert any("HTTP_CONTENT_TYPE" in d for d in diffs)


@pytest.mark.parametrize(("script_name", "ok"), [(None, True), ("", True), ("x", False),
                                                 ("/", False)])
def test_environ_differences_script_name(script_name: str | None, ok: bool) -> None:
    """SCRIPT_NAME on a root mount may be absent or "", nothing else."""
    expected = environ_for()
    environ = conforming_environ(expected)
    if script_name is not None:
        environ["SCRIPT_NAME"] = script_name
    diffs = environ_differences(expected, environ)
    assert (diffs == []) is ok
    if not ok:
        assert diffs[0].startswith("SCRIPT_NAME")


def test_environ_differences_wrong_path_info() -> None:
    """PATH_INFO decoded as UTF-8 (or left encoded) instead of latin-1 is reported."""
    expected = environ_for()
    for wrong in ("/café/x*", "/caf%C3%A9/x%2a"):
        environ = conforming_environ(expected)
        environ["PATH_INFO"] = wrong
        assert [d.split(":")[0] for d in environ_differences(expected, environ)] == ["PATH_INFO"]


# --- expected_scope and scope_differences --------------------------------------------------------

SERVER_PORT = 8000
CLIENT_PORT = 54321


def scope_for(req: GeneratedRequest = REQUEST) -> dict[str, Any]:
    return expected_scope(req, host=HOST, rid=RID, server_port=SERVER_PORT,
                          client_port=CLIENT_PORT)


def conforming_scope() -> dict[str, Any]:
    """A scope as a correct server sends it, with tuples where the spec allows any iterable."""
    scope = dict(scope_for())
    scope["headers"] = [(n, v) for n, v in scope["headers"]]
    scope["client"] = ("127.0.0.1", CLIENT_PORT)
    scope["server"] = ("127.0.0.1", SERVER_PORT)
    scope["asgi"] = {"version": "3.0", "spec_version": "2.4"}
    scope["state"] = {}
    return scope


def test_scope_expected_values() -> None:
    """path is decoded as UTF-8, raw_path and query_string are verbatim, header names lower."""
    expected = scope_for()
    assert expected["path"] == "/café/x*"
    assert expected["raw_path"] == b"/caf%C3%A9/x%2a"
    assert expected["query_string"] == b"a=%20b&c=%C3%A9&d"
    assert expected["http_version"] == "1.1"
    assert expected["method"] == "GET"
    assert expected["root_path"] == ""
    assert expected["headers"] == [
        (b"host", HOST.encode()), (b"x-probe-id", RID.encode()), (b"accept", b"text/html"),
        (b"x-multi", b"a"), (b"content-type", b"text/plain"), (b"x-multi", b"b"),
    ]
    assert expected["client"] == ["127.0.0.1", CLIENT_PORT]
    assert expected["server"] == ["127.0.0.1", SERVER_PORT]


def test_scope_query_string_absent_is_empty_bytes() -> None:
    """Without "?" the query_string is b"" (a bytes value, never None)."""
    assert scope_for(GeneratedRequest("GET", b"/", None, ()))["query_string"] == b""


def test_scope_differences_accepts_conforming_scope() -> None:
    """A correct scope passes, with tuples for client/server and extra keys (asgi, state)."""
    assert scope_differences(scope_for(), conforming_scope()) == []


def test_scope_differences_header_order() -> None:
    """Names may be reordered (order of names is not important); values of one name may not."""
    expected = scope_for()
    scope = conforming_scope()
    scope["headers"] = list(reversed(scope["headers"]))
    diffs = scope_differences(expected, scope)
    assert len(diffs) == 1 and diffs[0].startswith("headers")

    scope["headers"] = sorted(conforming_scope()["headers"], key=lambda h: h[0])
    assert [v for n, v in scope["headers"] if n == b"x-multi"] == [b"a", b"b"]
    assert scope_differences(expected, scope) == []


def test_scope_differences_headers_as_lists() -> None:
    """Headers as [name, value] lists (any iterable of two) are compared by content."""
    scope = conforming_scope()
    scope["headers"] = [[n, v] for n, v in scope["headers"]]
    assert scope_differences(scope_for(), scope) == []


def test_scope_differences_missing_or_extra_header() -> None:
    """A header dropped or invented by the server is reported."""
    expected = scope_for()
    scope = conforming_scope()
    scope["headers"] = [h for h in scope["headers"] if h[0] != b"accept"]
    assert len(scope_differences(expected, scope)) == 1
    scope = conforming_scope()
    scope["headers"] = [*scope["headers"], (b"x-invented", b"1")]
    assert len(scope_differences(expected, scope)) == 1


@pytest.mark.parametrize("key", ["client", "server"])
def test_scope_differences_client_server_optional(key: str) -> None:
    """client and server are optional: None or absent is accepted; a wrong port is not."""
    expected = scope_for()
    scope = conforming_scope()
    scope[key] = None
    assert scope_differences(expected, scope) == []
    del scope[key]
    assert scope_differences(expected, scope) == []
    scope[key] = ["127.0.0.1", 1]
    diffs = scope_differences(expected, scope)
    assert len(diffs) == 1 and diffs[0].startswith(key)


@pytest.mark.parametrize("key", ["scheme", "raw_path", "root_path"])
def test_scope_differences_other_optional_keys(key: str) -> None:
    """scheme, raw_path and root_path may be absent, but if present must be right."""
    expected = scope_for()
    scope = conforming_scope()
    del scope[key]
    assert scope_differences(expected, scope) == []
    scope[key] = "wrong"
    assert [d.split(":")[0] for d in scope_differences(expected, scope)] == [key]


@pytest.mark.parametrize("key", ["type", "http_version", "method", "path", "query_string",
                                 "headers"])
def test_scope_differences_missing_required_key(key: str) -> None:
    """A required key missing from the scope is reported as missing."""
    scope = conforming_scope()
    del scope[key]
    assert scope_differences(scope_for(), scope) == [f"{key}: missing from the scope"]


def test_scope_differences_wrong_path_decoding() -> None:
    """path decoded as latin-1, or left percent-encoded, is reported."""
    for wrong in ("/caf\xc3\xa9/x*", "/caf%C3%A9/x%2a"):
        scope = conforming_scope()
        scope["path"] = wrong
        assert [d.split(":")[0] for d in scope_differences(scope_for(), scope)] == ["path"]


# --- the strategies, judged by h11 ---------------------------------------------------------------


def parse_with_h11(data: bytes) -> tuple[h11.Request, bytes]:
    """Parse one request as a server would with h11; return the request and its body."""
    conn = h11.Connection(our_role=h11.SERVER)
    conn.receive_data(data)
    request = conn.next_event()
    assert isinstance(request, h11.Request), request
    body = b""
    while isinstance(event := conn.next_event(), h11.Data):
        body += event.data
    assert isinstance(event, h11.EndOfMessage), f"expected the end of the body, got {event}"
    assert conn.their_state in (h11.DONE, h11.MUST_CLOSE)  # MUST_CLOSE: HTTP/1.0
    return request, body


def check_valid_with_h11(req: GeneratedRequest) -> None:
    """h11 parses the request's bytes as the very request the oracle reasons about."""
    data = req.to_bytes(HOST, RID)
    try:
        parsed, body = parse_with_h11(data)
    except h11.RemoteProtocolError as exc:  # pragma: no cover - shown on failure
        pytest.fail(f"h11 rejects generated request {data!r}: {exc}")
    assert parsed.method == req.method.encode()
    assert parsed.target == req.target
    assert b"HTTP/" + parsed.http_version == req.version.encode()
    assert list(parsed.headers) == [(n.lower(), v) for n, v in req.all_headers(HOST, RID)]
    assert body == req.body


def check_path_shape(path: bytes, *, encoded_slash: bool = False) -> None:
    """Absolute, no dot segment even once decoded; an encoded "/" only where allowed (WSGI)."""
    assert path.startswith(b"/")
    assert encoded_slash or b"%2f" not in path.lower()
    assert all(seg not in (b".", b"..") for seg in path.split(b"/")), path
    assert not decodes_to_dot_segment(path), path
    assert b"?" not in path and b"#" not in path


def check_framing_and_cuts(req: GeneratedRequest) -> None:
    """Chunk sizes are positive and add up to the body (HTTP/1.1 only); cut offsets are
    sorted, distinct and inside the request's bytes (with the nominal host and id)."""
    names = [n.lower() for n, _ in req.headers]
    assert all(names.count(n) == 1 for n in strategies.SINGLETON_HEADERS if n in names)
    if req.chunks is not None:
        assert req.version == "HTTP/1.1"
        assert all(size >= 1 for size, _ in req.chunks)
        assert sum(size for size, _ in req.chunks) == len(req.body)
    length = len(req.to_bytes(strategies.NOMINAL_HOST, strategies.NOMINAL_RID))
    assert list(req.cuts) == sorted(set(req.cuts))
    assert all(0 < cut < length for cut in req.cuts), (req.cuts, length)


@settings(max_examples=150, derandomize=True, deadline=None)
@given(strategies.wsgi_requests())
def test_wsgi_requests_are_valid_http(req: GeneratedRequest) -> None:
    """Every generated WSGI request is a valid HTTP/1.x request per h11, with the same method,
    target, version, headers (order and duplicates kept) and body; paths are plain."""
    check_valid_with_h11(req)
    check_path_shape(req.path, encoded_slash=True)
    assert not unquote_to_bytes(req.path).startswith(b"//")
    check_framing_and_cuts(req)


@settings(max_examples=150, derandomize=True, deadline=None)
@given(strategies.asgi_requests())
def test_asgi_requests_are_valid_http(req: GeneratedRequest) -> None:
    """As for WSGI, and the path percent-decodes to valid UTF-8 (the ASGI oracle's path)."""
    check_valid_with_h11(req)
    check_path_shape(req.path)
    check_framing_and_cuts(req)
    assert req.chunks is None
    unquote_to_bytes(req.path).decode("utf-8")


@settings(max_examples=150, derandomize=True, deadline=None)
@given(st.one_of(strategies.wsgi_requests(), strategies.asgi_requests()))
def test_generated_requests_fit_their_oracles(req: GeneratedRequest) -> None:
    """The oracles accept their own prediction for every generated request: a server that
    does exactly what they derive is never reported."""
    expected = expected_environ(req, host=HOST, rid=RID)
    for joiner in (0, 1):
        assert environ_differences(expected, conforming_environ(expected, joiner)) == []
    try:
        unquote_to_bytes(req.path).decode("utf-8")
    except UnicodeDecodeError:
        return  # a WSGI-only path; the ASGI oracle never sees it
    scope = expected_scope(req, host=HOST, rid=RID, server_port=SERVER_PORT,
                           client_port=CLIENT_PORT)
    assert scope_differences(scope, dict(scope)) == []


def decodes_to_dot_segment(path: bytes) -> bool:
    return any(seg in (b".", b"..") for seg in unquote_to_bytes(path).split(b"/"))


def test_no_percent_encoded_dot_segments() -> None:
    """Dot segments are left out of generated paths, encoded ones too (%2E is "."): a
    deterministic search over both path strategies finds none."""
    with pytest.raises(NoSuchExample):
        find(st.one_of(strategies.wsgi_paths(), strategies.asgi_paths()),
             decodes_to_dot_segment,
             settings=settings(max_examples=2000, derandomize=True, database=None))


@pytest.mark.parametrize("part", [
    lambda r: r.chunks is not None and len(r.chunks) > 1,
    lambda r: r.chunks is not None and any(ext for _, ext in r.chunks),
    lambda r: r.chunks is not None and not r.body,
    lambda r: len(r.cuts) > 1,
    lambda r: b"%2f" in r.path.lower(),
    lambda r: b"%25" in r.path,
])
def test_wsgi_strategy_reaches_new_parts(part: Any) -> None:
    """The WSGI strategy does generate several chunks, chunk extensions, an empty chunked
    body, several cuts, and paths with %2F and %25."""
    # A fixed Random, not derandomize: the search must not depend on anything but the seed.
    # Generation only: an example found is enough, shrinking it would only cost time.
    find(strategies.wsgi_requests(), part, random=random.Random(0),
         settings=settings(max_examples=2000, database=None, phases=[Phase.generate]))


CHUNKED = GeneratedRequest(method="POST", path=b"/a%2Fb%25c", query=None, headers=(),
                           body=b"hello world", chunks=((5, b";x=1"), (6, b"")))


def test_chunked_to_bytes() -> None:
    data = CHUNKED.to_bytes(HOST, RID)
    assert b"Transfer-Encoding: chunked\r\n" in data
    assert b"Content-Length" not in data
    assert data.endswith(b"\r\n\r\n5;x=1\r\nhello\r\n6\r\n world\r\n0\r\n\r\n")
    assert parse_with_h11(data)[1] == b"hello world"


def test_environ_chunked_content_length_and_path() -> None:
    """CONTENT_LENGTH absent, "" or the body length; Transfer-Encoding may be consumed;
    %2F decodes to "/" and %25 to "%" in PATH_INFO."""
    expected = environ_for(CHUNKED)
    assert expected["PATH_INFO"] == "/a/b%c"
    base = conforming_environ(expected)
    for length in (None, "", "11"):
        for te in (None, "chunked"):
            environ = {k: v for k, v in base.items()
                       if k not in ("CONTENT_LENGTH", "HTTP_TRANSFER_ENCODING")}
            environ.update({k: v for k, v in (("CONTENT_LENGTH", length),
                                              ("HTTP_TRANSFER_ENCODING", te)) if v is not None})
            assert environ_differences(expected, environ) == []
    assert environ_differences(expected, {**base, "CONTENT_LENGTH": "5"})


@pytest.mark.parametrize(("req", "body", "readable", "ok"), [
    (CHUNKED, b"hello world", True, True),
    (CHUNKED, b"hello", True, False),
    (CHUNKED, b"", False, False),  # neither CONTENT_LENGTH nor wsgi.input_terminated
    (GeneratedRequest(method="POST", path=b"/", query=None, headers=(), chunks=()), b"",
     False, True),  # nothing to read
    (GeneratedRequest(method="GET", path=b"/", query=None, headers=()), b"", False, True),
])
def test_body_differences(req: GeneratedRequest, body: bytes, readable: bool,
                          ok: bool) -> None:
    assert (body_differences(req, {}, body, readable) == []) is ok
