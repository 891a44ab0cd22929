"""Deliberately broken WSGI stacks: each wraps the probe app so that the app sees (or the client
gets) what a server with one specific bug would produce. Loaded by a real server (wsgiref or
gunicorn) through a target TOML written by tests/test_broken_servers.py."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from typing import Any

from conformance.probes.wsgi_app import app as probe

App = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]


def _rewrite(change: Callable[[dict[str, Any]], None]) -> App:
    def wrapped(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        if environ.get("PATH_INFO") != "/probe/ready":
            change(environ)
        return probe(environ, start_response)

    return wrapped


_SHARED: dict[str, Any] = {}


def shared_environ(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
    """A server that reuses one environ dict for every request (keys leak between requests)."""
    _SHARED.update(environ)
    return probe(_SHARED, start_response)


class _Environ(dict[str, Any]):
    """A dict subclass: what PEP 3333 says environ must not be."""


def dict_subclass_environ(environ: dict[str, Any], start_response: Callable[..., Any]
                          ) -> Iterable[bytes]:
    """A server that hands the app a dict subclass as environ."""
    return probe(_Environ(environ), start_response)


_LEFT_OVER: dict[str, Any] = {}


def leaks_extra_keys(environ: dict[str, Any], start_response: Callable[..., Any]
                     ) -> Iterable[bytes]:
    """A server that carries the non-CGI keys an app added (conformance.taint) into the next
    request's environ, but no HTTP_ key."""
    environ.update(_LEFT_OVER)
    result = probe(environ, start_response)
    _LEFT_OVER.update({k: v for k, v in environ.items()
                       if k.islower() and not k.startswith("wsgi.")})
    return result


drop_query_string = _rewrite(lambda env: env.pop("QUERY_STRING", None))
server_port_int = _rewrite(lambda env: env.update(SERVER_PORT=int(env["SERVER_PORT"])))
protocol_always_11 = _rewrite(lambda env: env.update(SERVER_PROTOCOL="HTTP/1.1"))
wsgi_version_list = _rewrite(lambda env: env.update({"wsgi.version": [1, 0]}))


def _utf8_headers(env: dict[str, Any]) -> None:
    for key, value in list(env.items()):
        if key.startswith("HTTP_") or key == "PATH_INFO":
            env[key] = value.encode("latin-1").decode("utf-8", "replace")


utf8_decoded = _rewrite(_utf8_headers)
# obs-text in a header value dropped (the value kept as ""): RFC 9110 5.5's SHOULD only.
obs_text_dropped = _rewrite(lambda env: env.update(
    {k: "" for k, v in env.items() if k.startswith("HTTP_") and not v.isascii()}))
# An upper-case extension key that is not a str (werkzeug's REMOTE_PORT is an int).
extension_key_int = _rewrite(lambda env: env.update(REMOTE_PORT=54321))
# Of two X-Dup headers only the last is kept (no single value "having the same semantics").
duplicates_last_wins = _rewrite(lambda env: env.update(
    {k: v.split(",")[-1].strip() for k, v in env.items() if k == "HTTP_X_DUP"}))


def _no_default_content_type(env: dict[str, Any]) -> None:
    """Undo wsgiref's CONTENT_TYPE "text/plain" default (generated requests send no
    Content-Type), so that a generated-request row shows only its own defect."""
    if env.get("CONTENT_TYPE") == "text/plain":
        env.pop("CONTENT_TYPE")


def _extra_http_key(env: dict[str, Any]) -> None:
    _no_default_content_type(env)
    env["HTTP_X_NOT_SENT"] = "added by the server"


def _mangled_non_ascii_path(env: dict[str, Any]) -> None:
    """werkzeug's way with path bytes that are not UTF-8: U+FFFD, as UTF-8, as latin-1."""
    _no_default_content_type(env)
    raw = env["PATH_INFO"].encode("latin-1")
    env["PATH_INFO"] = raw.decode("utf-8", "replace").encode("utf-8").decode("latin-1")


# An HTTP_ key for a header the request did not have: a SHOULD (presence should correspond).
extra_http_key = _rewrite(_extra_http_key)
# Only the form of non-ASCII path bytes differs (RFC 3875: system-defined): reported.
mangled_non_ascii_path = _rewrite(_mangled_non_ascii_path)
content_type_as_http = _rewrite(
    lambda env: env.update(HTTP_CONTENT_TYPE=env.get("CONTENT_TYPE", "")))


def no_close(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
    """A server that never calls the iterable's close()."""
    return _WithoutClose(probe(environ, start_response))


class _WithoutClose:
    """Iterates the app's iterable but has no close() (a generator would forward it)."""

    def __init__(self, inner: Iterable[bytes]) -> None:
        self._inner = iter(inner)

    def __iter__(self) -> Iterator[bytes]:
        return self

    def __next__(self) -> bytes:
        return next(self._inner)


def buffered(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
    """A server that collects the whole response before sending any of it."""
    result = probe(environ, start_response)
    try:
        return [b"".join(result)]
    finally:
        close = getattr(result, "close", None)
        if close:
            close()


def _uwsgi_decodes_query(env: dict[str, Any]) -> None:
    """Through the uwsgi protocol only (nginx's uwsgi_params carry DOCUMENT_ROOT; uWSGI's own
    HTTP parser sets none), QUERY_STRING arrives percent-decoded: PEP 3333 / RFC 3875 define
    it as the undecoded text after "?", over any transport (PROXY-12.d, MUST)."""
    if "DOCUMENT_ROOT" in env:
        from urllib.parse import unquote

        env["QUERY_STRING"] = unquote(env.get("QUERY_STRING", ""))


uwsgi_decodes_query = _rewrite(_uwsgi_decodes_query)


# Issue 13: one broken variant per clause (the clause each breaks is named in its comment).


def _alone(change: Callable[[dict[str, Any]], None]) -> App:
    """_rewrite with wsgiref's CONTENT_TYPE default undone: only the row's defect shows."""

    def both(env: dict[str, Any]) -> None:
        _no_default_content_type(env)
        change(env)

    return _rewrite(both)


# REQUEST_METHOD given as "" (WSGI-ENV-02.b).
empty_request_method = _rewrite(lambda env: env.update(REQUEST_METHOD=""))
# SERVER_NAME left out (WSGI-ENV-02.c).
no_server_name = _rewrite(lambda env: env.pop("SERVER_NAME", None))
# REQUEST_METHOD lower-cased: not the request's method (WSGI-ENV-02.e).
method_lower_case = _rewrite(lambda env: env.update(REQUEST_METHOD=env["REQUEST_METHOD"].lower()))
# SERVER_PROTOCOL left out (WSGI-ENV-03.a).
no_server_protocol = _rewrite(lambda env: env.pop("SERVER_PROTOCOL", None))
# QUERY_STRING keeps the "?" (WSGI-ENV-04.d, WSGI-ENV-07.b).
query_with_mark = _alone(lambda env: env.update(
    QUERY_STRING="?" + env["QUERY_STRING"]) if env.get("QUERY_STRING") else None)
# CONTENT_LENGTH "0" for a request with no Content-Length and no body (WSGI-ENV-04.h).
content_length_zero = _alone(lambda env: env.update(
    CONTENT_LENGTH=env.get("CONTENT_LENGTH") or "0"))
# CONTENT_LENGTH as an int (WSGI-ENV-05.a).
content_length_int = _rewrite(lambda env: env.update(
    CONTENT_LENGTH=int(env.get("CONTENT_LENGTH") or 0)))
# PATH_INFO carries the query string too (WSGI-ENV-06.a).
path_with_query = _alone(lambda env: env.update(
    PATH_INFO=env["PATH_INFO"] + "?" + env["QUERY_STRING"]) if env.get("QUERY_STRING") else None)
# SCRIPT_NAME "/" for an app mounted at the root (WSGI-ENV-06.b).
script_name_slash = _alone(lambda env: env.update(SCRIPT_NAME="/"))


def _path_still_encoded(env: dict[str, Any]) -> None:
    from urllib.parse import quote

    _no_default_content_type(env)
    env["PATH_INFO"] = quote(env["PATH_INFO"].encode("latin-1"), safe="/")


# PATH_INFO handed over percent-encoded (WSGI-ENV-06.c).
path_still_encoded = _rewrite(_path_still_encoded)
# Header values keep a leading space (WSGI-ENV-08.a).
header_value_space = _rewrite(lambda env: env.update(
    {k: " " + v for k, v in env.items() if k.startswith("HTTP_") and k != "HTTP_X_PROBE_ID"}))


def _content_type_only_as_http(env: dict[str, Any]) -> None:
    if "CONTENT_TYPE" in env:
        env["HTTP_CONTENT_TYPE"] = env.pop("CONTENT_TYPE")


# Content-Type only as HTTP_CONTENT_TYPE, no CONTENT_TYPE (WSGI-ENV-08.g).
content_type_only_as_http = _rewrite(_content_type_only_as_http)
# wsgi.run_once left out (WSGI-ENV-10.a).
no_run_once = _rewrite(lambda env: env.pop("wsgi.run_once", None))
# wsgi.multiprocess true for a single-process server (WSGI-ENV-10.f).
claims_multiprocess = _rewrite(lambda env: env.update({"wsgi.multiprocess": True}))
# wsgi.run_once true for a server that serves many requests (WSGI-ENV-10.g).
claims_run_once = _rewrite(lambda env: env.update({"wsgi.run_once": True}))


class _ErrorsWithoutWritelines:
    """wsgi.errors with write() and flush() but no writelines()."""

    def write(self, text: str) -> None:
        import sys

        sys.stderr.write(text)

    def flush(self) -> None:
        import sys

        sys.stderr.flush()


# wsgi.errors lacks writelines() (WSGI-ENV-11.b).
errors_without_writelines = _rewrite(
    lambda env: env.update({"wsgi.errors": _ErrorsWithoutWritelines()}))
