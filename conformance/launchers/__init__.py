"""Launchers for the servers that have no CLI of their own: each calls the server as its
documentation tells users to, from ``python -m conformance.launchers.<name>_server``.

What every launcher shares is here: the command line (``--host``, ``--port``, optionally
``--uds``, optionally TLS's ``--certfile``/``--keyfile``/``--ca-certs``, and the app as
``module:attr``) and loading the app."""

from __future__ import annotations

import argparse
import importlib
from collections.abc import Callable, Iterable
from typing import Any, cast

WSGIApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]


def load_app(spec: str) -> WSGIApp:
    module, _, attr = spec.partition(":")
    return cast(WSGIApp, getattr(importlib.import_module(module), attr or "app"))


def launcher_parser(doc: str | None, *, uds: bool = False) -> argparse.ArgumentParser:
    """The launchers' common options; a launcher adds its own before parse_args()."""
    parser = argparse.ArgumentParser(description=doc)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000)
    if uds:
        parser.add_argument("--uds", help="listen on this Unix socket path instead of host:port")
    parser.add_argument("app", help="module:attribute of the WSGI application")
    return parser


def add_tls_options(parser: argparse.ArgumentParser) -> None:
    """TLS options for a launcher whose server has a TLS API (its documented arguments are
    passed by the launcher itself). --certfile with --keyfile serve TLS; --ca-certs makes the
    server ask for a client certificate and verify it against that CA without demanding one
    (ssl.CERT_OPTIONAL), as ``[tls] client_certificate = "optional"`` targets say."""
    parser.add_argument("--certfile", help="serve TLS with this certificate chain (PEM)")
    parser.add_argument("--keyfile", help="the private key of --certfile (PEM)")
    parser.add_argument("--ca-certs", help="ask for an optional client certificate signed by "
                                           "this CA (PEM)")
