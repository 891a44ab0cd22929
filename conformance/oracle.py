"""The model: what the environ or scope must be for a given request, by the spec's rules.

Given a :class:`GeneratedRequest` (the bytes the client sends), :func:`expected_environ` and
:func:`expected_scope` derive what PEP 3333 and asgi-www.rst demand the app sees, and
:func:`environ_differences` / :func:`scope_differences` compare that with what the probe app
journalled, returning one readable line per difference. Where a spec allows more than one
answer (repeated headers joined with "," or ", "; SCRIPT_NAME absent or ""), the oracle
accepts each allowed answer and nothing else.

Field values are kept exactly as sent, obs-text (bytes 0x80-0xFF, RFC 9110 5.5) and the
characters str.strip() would take for whitespace (\\x85, \\xa0) included: an HTTP_* value is
the bytes decoded as latin-1, a scope header value the bytes themselves. Repeated field lines
become one HTTP_* value, joined in order with "," or ", " (RFC 9110 5.2, 5.3), and stay
separate pairs in the scope.
"""

from __future__ import annotations

import re
from collections.abc import Collection
from dataclasses import dataclass, replace
from typing import Any
from urllib.parse import unquote_to_bytes

from conformance.wire import chunked_body, request_bytes

HOP_BY_HOP_AND_FRAMING = frozenset({
    b"host", b"content-length", b"transfer-encoding", b"connection", b"keep-alive", b"te",
    b"trailer", b"upgrade", b"expect", b"proxy-connection",
})
OBS_TEXT = re.compile(rb"[\x80-\xff]")
_NON_ASCII = re.compile(r"[^\x00-\x7f]")
_NON_VISIBLE_ASCII = re.compile(r"[^\x21-\x7e]")


@dataclass(frozen=True)
class GeneratedRequest:
    """A valid HTTP/1.x request. ``headers`` excludes Host, X-Probe-Id and the framing
    header, which :meth:`to_bytes` adds (in that order; Content-Length only when there is a
    body or the method carries one). ``chunks`` (HTTP/1.1 only), when not None, sends the body
    with ``Transfer-Encoding: chunked`` instead: one (size, chunk-ext) per chunk, the sizes
    adding up to ``len(body)``. ``cuts`` are offsets into :meth:`to_bytes` at which the client
    splits the request across TCP writes (offsets past the end are ignored)."""

    method: str
    path: bytes
    query: bytes | None
    headers: tuple[tuple[bytes, bytes], ...]
    body: bytes = b""
    version: str = "HTTP/1.1"
    chunks: tuple[tuple[int, bytes], ...] | None = None
    cuts: tuple[int, ...] = ()

    @property
    def target(self) -> bytes:
        return self.path if self.query is None else self.path + b"?" + self.query

    @property
    def chunked(self) -> bool:
        return self.chunks is not None

    @property
    def has_obs_text(self) -> bool:
        """Whether a field value carries obs-text (RFC 9110 5.5: bytes 0x80-0xFF)."""
        return any(OBS_TEXT.search(value) for _, value in self.headers)

    def without_obs_text(self) -> GeneratedRequest:
        """The same request with each obs-text byte of its field values replaced by "x": the
        same length and cuts, so it differs from this one in those bytes only."""
        return replace(self, headers=tuple((name, OBS_TEXT.sub(b"x", value))
                                           for name, value in self.headers))

    @property
    def sends_content_length(self) -> bool:
        return not self.chunked and (bool(self.body) or self.method in ("POST", "PUT", "PATCH"))

    def all_headers(self, host: str, rid: str) -> list[tuple[bytes, bytes]]:
        headers = [(b"Host", host.encode()), (b"X-Probe-Id", rid.encode())]
        headers += list(self.headers)
        if self.chunked:
            headers.append((b"Transfer-Encoding", b"chunked"))
        elif self.sends_content_length:
            headers.append((b"Content-Length", str(len(self.body)).encode()))
        return headers

    def framed_body(self) -> bytes:
        """The body as sent: verbatim, or as RFC 9112 7.1 chunks ending in a last-chunk."""
        if self.chunks is None:
            return self.body
        return chunked_body(self.body, [size for size, _ in self.chunks],
                            [ext for _, ext in self.chunks])

    def to_bytes(self, host: str, rid: str) -> bytes:
        return request_bytes(self.method, self.target, self.all_headers(host, rid),
                             self.framed_body(), self.version)


def _cgi_name(name: bytes) -> str:
    return "HTTP_" + name.decode("latin-1").upper().replace("-", "_")


def expected_environ(req: GeneratedRequest, *, host: str, rid: str) -> dict[str, Any]:
    """PEP 3333 environ Variables: the CGI keys for ``req``.

    A value is a str, or a tuple of allowed values (repeated headers; None in it allows an
    absent key), or None for "absent or empty string".

    A chunked request has no Content-Length field, so CONTENT_LENGTH ("the contents of any
    Content-Length fields") is absent or "", or the body's length where the server de-chunks
    the body before the app runs and says so: both are accepted. Transfer-Encoding is
    hop-by-hop framing a de-chunking server consumes, so HTTP_TRANSFER_ENCODING may be absent.
    """
    expected: dict[str, Any] = {
        "REQUEST_METHOD": req.method,
        "SCRIPT_NAME": None,
        "PATH_INFO": unquote_to_bytes(req.path).decode("latin-1"),
        "QUERY_STRING": req.query.decode("latin-1") if req.query else None,
        "SERVER_PROTOCOL": req.version,
        "CONTENT_TYPE": None,
        "CONTENT_LENGTH": str(len(req.body)) if req.sends_content_length else None,
    }
    if req.chunked:
        expected["CONTENT_LENGTH"] = (None, "", str(len(req.body)))
    elif req.sends_content_length and not req.body:
        # "Content-Length: 0": PEP 3333's CONTENT_LENGTH "May be empty or absent", and RFC 3875
        # 4.1.2 has it "NULL (or unset)" when "no data is attached": "0", "" and absent alike.
        expected["CONTENT_LENGTH"] = (None, "", "0")
    grouped: dict[str, list[str]] = {}
    for name, value in req.all_headers(host, rid):
        lower = name.lower()
        if lower == b"content-length":
            continue
        text = value.decode("latin-1")
        if lower == b"content-type":
            expected["CONTENT_TYPE"] = text
            continue
        grouped.setdefault(_cgi_name(name), []).append(text)
    for key, values in grouped.items():
        # RFC 9110 5.3: combined "separated by a comma ... and optional whitespace".
        expected[key] = (",".join(values), ", ".join(values)) if len(values) > 1 else values[0]
    if req.chunked:
        expected["HTTP_TRANSFER_ENCODING"] = (None, "chunked")
    return expected


def only_obs_text_differs(want: Any, got: Any) -> bool:
    """Whether an environ value ``got`` differs from an allowed value ``want`` (a str, or a
    tuple of them) that carries non-ASCII characters only in those characters and in SP/HTAB:
    the visible ASCII characters are the same, in order. That is what obs-text dropped,
    replaced, or stripped as whitespace (\\xa0, \\x85) leaves, with the SP/HTAB such a strip
    also takes once the obs-text no longer shields it; the generated values never hold SP or
    HTAB at an edge of their own, and a server that changes whitespace elsewhere shows it on
    the ASCII-only values too."""
    if not isinstance(got, str):
        return False
    allowed = want if isinstance(want, tuple) else (want,)
    return any(isinstance(w, str) and _NON_ASCII.search(w) is not None
               and (_visible_ascii(w) == _visible_ascii(got) or _obs_text_values_lost(w, got))
               for w in allowed)


def _obs_text_values_lost(want: str, got: str) -> bool:
    """Whether ``got`` is ``want`` with each value (a comma-separated element of a combined
    field, or the whole) that carries obs-text emptied and the rest kept: a server that cannot
    represent obs-text (granian: HeaderValue::to_str fails) loses those values whole."""
    wanted, seen = want.split(","), got.split(",")
    if len(wanted) != len(seen):
        return False
    pairs = list(zip(wanted, seen, strict=True))
    return any(w != g for w, g in pairs) and all(
        w.strip() == g.strip() or (_NON_ASCII.search(w) is not None and not g.strip())
        for w, g in pairs)


def _visible_ascii(text: str) -> str:
    return _NON_VISIBLE_ASCII.sub("", text)


def body_differences(req: GeneratedRequest, environ: dict[str, Any], body: bytes,
                     readable: bool) -> list[str]:
    """The body the probe app read (``readable`` False: it found no defined way to read it).

    The probe reads as a PEP 3333 app may: "an application should not attempt to read more
    data than is specified by the CONTENT_LENGTH variable" (PEP 3333, Input and Error
    Streams), so by CONTENT_LENGTH when it is set; otherwise to EOF only where the server sets
    wsgi.input_terminated (reading a body of unknown length is otherwise undefined by the PEP).
    Rule: a chunked request whose server sets neither CONTENT_LENGTH nor wsgi.input_terminated
    leaves its body unreadable to a conforming app, which breaks WSGI-IN-06 ("a chunked request
    body is decoded and readable to the end", REQUIREMENTS.md; PEP 3333 Other HTTP Features) -
    a difference only when there was a body to read. Everything else must read the body sent.
    """
    if not readable:
        if req.body:
            return [f"chunked body of {len(req.body)} bytes unreadable: the server set neither "
                    f"CONTENT_LENGTH nor wsgi.input_terminated (WSGI-IN-06; CONTENT_LENGTH "
                    f"{environ.get('CONTENT_LENGTH')!r})"]
        return []
    if body != req.body:
        framing = " (the chunked framing as sent)" if body and undecoded(req, body) else ""
        return [f"wsgi.input gave {body!r}{framing}, sent {req.body!r}"]
    return []


def undecoded(req: GeneratedRequest, body: bytes) -> bool:
    """Whether ``body``, read from a chunked request, is its framing as sent (or the start of
    it, or nothing): no decoding happened."""
    return req.chunked and req.framed_body().startswith(body)


def environ_differences(expected: dict[str, Any], environ: dict[str, Any],
                        twins_sent: Collection[str]) -> list[str]:
    """What ``environ`` has that ``expected`` does not allow. ``twins_sent``: the HTTP_* keys
    of the Content-Type / Content-Length fields the request carried (:func:`sent_twins`)."""
    diffs = []
    for key, want in expected.items():
        got = environ.get(key)
        if want is None:
            if got not in (None, ""):
                diffs.append(f"{key}: expected absent or '', got {got!r}")
        elif isinstance(want, tuple):
            if got not in want:
                allowed = " or ".join("absent" if w is None else repr(w) for w in want)
                diffs.append(f"{key}: expected {allowed}, got {got!r}")
        elif got != want:
            diffs.append(f"{key}: expected {want!r}, got {got!r}")
    extra = sorted(k for k in environ if k.startswith("HTTP_") and k not in expected)
    # A Content-Type or Content-Length the request carried is expected as CONTENT_TYPE /
    # CONTENT_LENGTH, never as HTTP_*: its HTTP_* twin was sent, so it is RFC 3875 4.1.18's
    # "SHOULD remove ... 'Content-Length' and 'Content-Type'" (WSGI-ENV-08.f), not a key
    # without its header (WSGI-ENV-08.b). Whether it was sent is the request's to say: the
    # expected CONTENT_LENGTH of "Content-Length: 0" (absent, "" or "0") reads like that of
    # a chunked body, which has no Content-Length field.
    doubled = [k for k in extra if k in _TWIN_FIELDS and k in twins_sent]
    extra = [k for k in extra if k not in doubled]
    if doubled:
        diffs.append(f"HTTP_* twins of CONTENT_TYPE/CONTENT_LENGTH: {doubled}")
    if extra:
        diffs.append(f"HTTP_* keys for headers that were not sent: {extra}")
    return diffs


# The HTTP_* key a server that keeps every header gives Content-Type / Content-Length, beside
# the CGI key that carries it, and the field it comes from.
_TWIN_FIELDS = {"HTTP_CONTENT_TYPE": b"content-type", "HTTP_CONTENT_LENGTH": b"content-length"}


def sent_twins(req: GeneratedRequest) -> frozenset[str]:
    """The HTTP_* twins of the Content-Type / Content-Length fields ``req`` carries (the
    Content-Length :meth:`GeneratedRequest.all_headers` adds included)."""
    names = {name.lower() for name, _ in req.headers}
    if req.sends_content_length:
        names.add(b"content-length")
    return frozenset(key for key, name in _TWIN_FIELDS.items() if name in names)


def expected_scope(req: GeneratedRequest, *, host: str, rid: str, server_port: int,
                   client_port: int) -> dict[str, Any]:
    """asgi-www.rst HTTP Connection Scope: the scope keys for ``req`` on a direct connection."""
    return {
        "type": "http",
        "http_version": req.version.removeprefix("HTTP/"),
        "method": req.method,
        "scheme": "http",
        "path": unquote_to_bytes(req.path).decode("utf-8"),
        "raw_path": req.path,
        "query_string": req.query or b"",
        "root_path": "",
        "headers": [(n.lower(), v) for n, v in req.all_headers(host, rid)],
        "client": ["127.0.0.1", client_port],
        "server": ["127.0.0.1", server_port],
    }


def _values_by_name(headers: list[tuple[bytes, bytes]]) -> dict[bytes, list[bytes]]:
    grouped: dict[bytes, list[bytes]] = {}
    for name, value in headers:
        grouped.setdefault(name.lower(), []).append(value)
    return dict(sorted(grouped.items()))


_OPTIONAL_SCOPE_KEYS = {"scheme", "raw_path", "root_path", "client", "server"}


def scope_differences(expected: dict[str, Any], scope: dict[str, Any]) -> list[str]:
    diffs = []
    for key, want in expected.items():
        if key not in scope:
            if key not in _OPTIONAL_SCOPE_KEYS:
                diffs.append(f"{key}: missing from the scope")
            continue
        got = scope[key]
        if key == "headers":
            # "Order of header values must be preserved ...; order of header names is not
            # important": compare each name's values in order, not the interleaving.
            got = _values_by_name([(bytes(n), bytes(v)) for n, v in got])
            want = _values_by_name(want)
        elif key in ("client", "server") and got is not None:
            got = list(got)
        # None is these keys' documented default ("Optional; if missing defaults to None."):
        # a server unable to provide raw_path, client or server may say so explicitly.
        if got != want and not (key in ("client", "server", "raw_path") and got is None):
            diffs.append(f"{key}: expected {want!r}, got {got!r}")
    return diffs
