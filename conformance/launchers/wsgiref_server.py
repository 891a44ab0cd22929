"""Serve a WSGI app with the standard library's wsgiref.simple_server.

wsgiref has no CLI of its own; this is the smallest launcher that uses it as its users do:
``python -m conformance.launchers.wsgiref_server --host H --port P module:attr``.
"""

from __future__ import annotations

from wsgiref.simple_server import make_server

from conformance.launchers import launcher_parser, load_app


def main() -> None:
    args = launcher_parser(__doc__).parse_args()
    with make_server(args.host, args.port, load_app(args.app)) as server:
        server.serve_forever()


if __name__ == "__main__":
    main()
