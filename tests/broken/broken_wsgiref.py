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


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--host")
    parser.add_argument("--port", type=int)
    parser.add_argument("app")
    args = parser.parse_args()
    module, _, attr = args.app.partition(":")
    app = getattr(importlib.import_module(module), attr)
    with make_server(args.host, args.port, app, handler_class=DropsQueryString) as server:
        server.serve_forever()


if __name__ == "__main__":
    main()
