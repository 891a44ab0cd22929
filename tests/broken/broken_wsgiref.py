"""A broken server: wsgiref whose request handler drops QUERY_STRING from the environ.

Started as ``python broken_wsgiref.py --host H --port P module:app`` by a target TOML."""

from __future__ import annotations

import argparse
import importlib
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, make_server


class DropsQueryString(WSGIRequestHandler):
    def get_environ(self) -> dict[str, Any]:
        environ = super().get_environ()
        environ.pop("QUERY_STRING", None)
        return environ


def serve_with(handler_class: type[WSGIRequestHandler]) -> None:
    """wsgiref with ``handler_class``, on --host/--port, serving the app named module:attr
    (the launcher every wsgiref-based broken server shares)."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--host")
    parser.add_argument("--port", type=int)
    parser.add_argument("app")
    args = parser.parse_args()
    module, _, attr = args.app.partition(":")
    app: Any = getattr(importlib.import_module(module), attr)
    with make_server(args.host, args.port, app, handler_class=handler_class) as server:
        server.serve_forever()


def main() -> None:
    serve_with(DropsQueryString)


if __name__ == "__main__":
    main()
