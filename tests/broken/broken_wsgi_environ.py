"""Deliberately broken WSGI environs and wsgi.input streams, one clause of PEP 3333's environ
Variables, Input and Error Streams or Other HTTP Features each (issue 13; rows in
tests/test_broken_wsgi_environ.py).

Each app wraps the probe app as a server with that bug would hand it the request. A rewrite
keyed to one check's request path (``/required``, ``/protocol``, ``/cgi/``, ``/headers``,
``/wsgi-keys``, ``/latin1``) reaches only that check, so one stack can break one clause in each
of several checks; a rewrite of every request is the generated-request check's (its paths are
random). Started as a module:app by wsgiref (conformance.launchers.wsgiref_server) or by the
HTTP/1.1 wsgiref of broken_wsgiref_variants.py; ``python broken_wsgi_environ.py --host H
--port P module:app`` is a wsgiref that refuses some paths itself.
"""

from __future__ import annotations

import io
import sys
from collections.abc import Callable, Iterable, Iterator
from typing import Any
from urllib.parse import unquote, unquote_to_bytes
from wsgiref.simple_server import WSGIRequestHandler

from broken_wsgi import _no_default_content_type, _rewrite
from broken_wsgiref import serve_with


def _alone(change: Callable[[dict[str, Any]], None]) -> Callable[..., Iterable[bytes]]:
    """The probe behind ``change``, with wsgiref's CONTENT_TYPE "text/plain" default undone
    (so only the row's defect shows) except for /headers, whose request sends text/plain."""

    def both(env: dict[str, Any]) -> None:
        if not _on("/headers", env):
            _no_default_content_type(env)
        change(env)

    return _rewrite(both)


def _on(path: str, env: dict[str, Any]) -> bool:
    """Whether this request is the one check's request the rewrite is meant for."""
    return str(env.get("PATH_INFO", "")).startswith(path)


def _ascii_lower(text: str) -> str:
    return "".join(c.lower() if "A" <= c <= "Z" else c for c in text)


# -- one stack, one clause per check: the names and values a server derives ------------------

def _derived_values(env: dict[str, Any]) -> None:
    if _on("/required", env):  # SERVER_NAME with the port (WSGI-ENV-02.f)
        env["SERVER_NAME"] = f"{env['SERVER_NAME']}:{env['SERVER_PORT']}"
    if _on("/protocol", env):  # the version without the protocol's name (WSGI-ENV-03.d)
        env["SERVER_PROTOCOL"] = env["SERVER_PROTOCOL"].removeprefix("HTTP/")
    if _on("/cgi/", env):  # the path's case not kept (WSGI-ENV-06.f)
        env["PATH_INFO"] = _ascii_lower(env["PATH_INFO"])
    if _on("/headers", env) and "HTTP_X_DUP" in env:  # repeated values out of order (08.i)
        env["HTTP_X_DUP"] = ",".join(reversed(env["HTTP_X_DUP"].split(",")))
    if _on("/wsgi-keys", env):  # a scheme spelled otherwise (WSGI-ENV-10.d)
        env["wsgi.url_scheme"] = "HTTP"
    if _on("/latin1", env):  # header data left as bytes (WSGI-ENV-05.f)
        env["HTTP_HOST"] = env["HTTP_HOST"].encode("latin-1")
    # Every other request (the generated ones): the query percent-decoded (WSGI-ENV-07.c).
    elif env.get("QUERY_STRING") and not _on("/cgi/", env):
        env["QUERY_STRING"] = unquote(env["QUERY_STRING"], encoding="latin-1")


derived_values = _alone(_derived_values)


class _WithoutReadlines:
    """wsgi.input with read(), readline() and iteration, but no readlines()."""

    def __init__(self, inner: Any) -> None:
        self._inner = inner

    def read(self, size: int = -1) -> bytes:
        return bytes(self._inner.read(size))

    def readline(self, size: int = -1) -> bytes:
        return bytes(self._inner.readline(size))

    def __iter__(self) -> Iterator[bytes]:
        return iter(self._inner)


class _BytearrayInput:
    """wsgi.input whose read() returns a bytearray, not bytes."""

    def __init__(self, inner: Any) -> None:
        self._inner = inner

    def read(self, size: int = -1) -> bytearray:
        return bytearray(self._inner.read(size))

    def readline(self, size: int = -1) -> bytes:
        return bytes(self._inner.readline(size))

    def readlines(self, hint: int = -1) -> list[bytes]:
        return list(self._inner.readlines(hint))

    def __iter__(self) -> Iterator[bytes]:
        return iter(self._inner)


def _misnamed(env: dict[str, Any]) -> None:
    if _on("/required", env):  # not the port the request came in on (WSGI-ENV-02.g)
        env["SERVER_PORT"] = "80" if env["SERVER_PORT"] != "80" else "8080"
    if _on("/cgi/", env):  # PATH_INFO without its leading "/" (WSGI-ENV-06.e)
        env["PATH_INFO"] = env["PATH_INFO"].lstrip("/")
    if _on("/headers", env):  # "-" kept in the header names (WSGI-ENV-08.e)
        for key in [k for k in env if k.startswith("HTTP_") and k != "HTTP_X_PROBE_ID"]:
            env["HTTP_" + key.removeprefix("HTTP_").replace("_", "-")] = env.pop(key)
    if _on("/wsgi-keys", env):  # no readlines() (WSGI-IN-01.a)
        env["wsgi.input"] = _WithoutReadlines(env["wsgi.input"])
    else:  # read() gives a bytearray (WSGI-IN-01.d)
        env["wsgi.input"] = _BytearrayInput(env["wsgi.input"])
    # An upper-case extension meta-variable without "X_" (WSGI-ENV-12.d).
    env["REMOTE_PORT"] = "54321"


misnamed = _alone(_misnamed)

# -- the generated-request check: one clause each -----------------------------------------------

# QUERY_STRING left out although the request has a query (WSGI-ENV-07.a).
drops_query = _alone(lambda env: env.pop("QUERY_STRING", None))


_DROPPED_ONCE: list[str] = []


def _drop_query_once(env: dict[str, Any]) -> None:
    """QUERY_STRING left out of the first request with a query only: a failure Hypothesis
    cannot reproduce (its replay of the example passes), as a timing-dependent server's."""
    if env.get("QUERY_STRING") and not _DROPPED_ONCE:
        _DROPPED_ONCE.append(env.pop("QUERY_STRING"))


drops_query_once = _alone(_drop_query_once)


def _path_info_as_utf8(env: dict[str, Any]) -> None:
    """The decoded path bytes read as UTF-8: code points above U+00FF (WSGI-ENV-06.g)."""
    env["PATH_INFO"] = env["PATH_INFO"].encode("latin-1").decode("utf-8", "replace")


path_info_as_utf8 = _alone(_path_info_as_utf8)
plain = _alone(lambda env: None)


def answers_options(environ: dict[str, Any], start_response: Callable[..., Any]
                    ) -> Iterable[bytes]:
    """A server that answers OPTIONS itself: a valid request never reaches the application
    (WSGI-ENV-02.h)."""
    if environ["REQUEST_METHOD"] == "OPTIONS":
        start_response("405 Method Not Allowed", [("Content-Length", "0")])
        return [b""]
    return plain(environ, start_response)


# -- chunked request bodies (on broken_wsgiref_variants.py's HTTP/1.1 wsgiref, which hands the
# app the framing as wsgiref does) --------------------------------------------------------------

def _chunked(environ: dict[str, Any]) -> bool:
    return "chunked" in str(environ.get("HTTP_TRANSFER_ENCODING", "")).lower()


def _dechunk(stream: Any) -> tuple[bytes, int]:
    """The decoded body and the number of bytes its framing took on the wire."""
    body, framed = b"", 0
    while True:
        line = stream.readline()
        framed += len(line)
        size = int(line.split(b";")[0].strip(), 16)
        if size == 0:
            while (trailer := stream.readline()) not in (b"\r\n", b"\n", b""):
                framed += len(trailer)
            return body, framed + 2
        body += stream.read(size)
        framed += size + len(stream.read(2))


def chunked_refused(environ: dict[str, Any], start_response: Callable[..., Any]
                    ) -> Iterable[bytes]:
    """A chunked request answered 400, as by a server that cannot parse the coding
    (WSGI-IN-06.b); the app never sees it."""
    if _chunked(environ):
        start_response("400 Bad Request", [("Content-Length", "0"), ("Connection", "close")])
        return [b""]
    return plain(environ, start_response)


class _ReadsToClose:
    """A chunked body framed by the connection's end, as HTTP/1.0 bodies without a length
    are: every read waits for the client to close (WSGI-IN-06.c)."""

    def __init__(self, raw: Any) -> None:
        self._raw = raw

    def read(self, size: int = -1) -> bytes:
        return bytes(self._raw.read())


def chunked_read_to_close(environ: dict[str, Any], start_response: Callable[..., Any]
                          ) -> Iterable[bytes]:
    if _chunked(environ):
        environ["wsgi.input"] = _ReadsToClose(environ["wsgi.input"])
    return plain(environ, start_response)


def chunked_wrong_length(environ: dict[str, Any], start_response: Callable[..., Any]
                         ) -> Iterable[bytes]:
    """De-chunked, but CONTENT_LENGTH is the length of the framed body as received, not
    recalculated (WSGI-IN-06.e)."""
    if _chunked(environ):
        body, framed = _dechunk(environ["wsgi.input"])
        environ["wsgi.input"] = io.BytesIO(body)
        environ["CONTENT_LENGTH"] = str(framed)
    return plain(environ, start_response)


def _dechunk_keeping_crlf(stream: Any) -> bytes:
    """The body with the CRLF that ends each chunk's data kept in it (the defect)."""
    body = b""
    while size := int(stream.readline().split(b";")[0].strip(), 16):
        body += stream.read(size + 2)
    while stream.readline() not in (b"\r\n", b"\n", b""):
        pass
    return body


def chunked_mis_decoded(environ: dict[str, Any], start_response: Callable[..., Any]
                        ) -> Iterable[bytes]:
    """De-chunked, so a server that supports the coding, but each chunk's closing CRLF is
    left in the body (WSGI-IN-06.a)."""
    if _chunked(environ):
        environ["wsgi.input"] = io.BytesIO(_dechunk_keeping_crlf(environ["wsgi.input"]))
    return plain(environ, start_response)


# -- a wsgiref that refuses paths RFC 3875 4.1.5 lets it refuse ---------------------------------

class _RefusesOddPaths(WSGIRequestHandler):
    """400 for a path with an encoded "/" (WSGI-ENV-06.k), or with "%25" or non-ASCII bytes
    once decoded (WSGI-ENV-06.j); the app never sees those requests."""

    def parse_request(self) -> bool:
        if not super().parse_request():
            return False
        raw = self.path.partition("?")[0]
        decoded = unquote_to_bytes(raw)
        if "%2f" in raw.lower() or "%25" in raw or not decoded.isascii():
            self.send_error(400, "objectionable path")
            return False
        return True


# -- a wsgiref mounted under a prefix that takes SCRIPT_NAME from the raw request line ----------

class _MountsRaw(WSGIRequestHandler):
    """Mounted at ``mount`` (its --mount option): for a path under it, SCRIPT_NAME is the first
    segment as the request line spells it, percent-encoding and all (WSGI-ENV-06.d), and
    PATH_INFO the decoded rest."""

    mount = ""

    def get_environ(self) -> dict[str, Any]:
        env = super().get_environ()
        path_info = env.get("PATH_INFO", "")
        if self.mount and path_info.startswith(self.mount + "/"):
            raw_first = "/" + self.path.partition("?")[0].split("/")[1]
            env["SCRIPT_NAME"], env["PATH_INFO"] = raw_first, path_info[len(self.mount):]
        return env


def main() -> None:
    # --mount PREFIX makes the raw-mounting wsgiref; without it, the one that refuses paths.
    if "--mount" in sys.argv:
        at = sys.argv.index("--mount")
        _MountsRaw.mount = sys.argv[at + 1]
        del sys.argv[at:at + 2]
        serve_with(_MountsRaw)
    serve_with(_RefusesOddPaths)


if __name__ == "__main__":
    main()
