"""Serve a WSGI app with the standard library's wsgiref.simple_server.

wsgiref has no CLI of its own; this is the smallest launcher that uses it as its users do:
``python -m conformance.launchers.wsgiref_server --host H --port P module:attr``.
"""

from __future__ import annotations

import argparse
import importlib
from collections.abc import Callable, Iterable
from typing import Any, cast
from wsgiref.simple_server import make_server

WSGIApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]


def load_app(spec: str) -> WSGIApp:
    module, _, attr = spec.partition(":")
    return cast(WSGIApp, getattr(importlib.import_module(module), attr or "app"))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000)
    parser.add_argument("app", help="module:attribute of the WSGI application")
    args = parser.parse_args()
    with make_server(args.host, args.port, load_app(args.app)) as server:
        server.serve_forever()


if __name__ == "__main__":
    main()
