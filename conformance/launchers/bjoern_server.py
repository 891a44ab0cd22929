"""Serve a WSGI app with bjoern (bjoern.run), as bjoern's README starts it.

bjoern has no CLI of its own; its README ("Usage") starts it with
``bjoern.run(wsgi_application, host, port)``, or ``bjoern.run(wsgi_application,
'unix:/path/to/socket')`` for a Unix socket. This launcher does exactly that:
``python -m conformance.launchers.bjoern_server --host H --port P module:attr`` or
``python -m conformance.launchers.bjoern_server --uds PATH module:attr``.
"""

from __future__ import annotations

import argparse

import bjoern

from conformance.launchers.wsgiref_server import load_app


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000)
    parser.add_argument("--uds", help="listen on this Unix socket path instead of host:port")
    parser.add_argument("app", help="module:attribute of the WSGI application")
    args = parser.parse_args()
    app = load_app(args.app)
    if args.uds:
        # bjoern.py bind_and_listen: a host "unix:<path>" binds an AF_UNIX socket at <path>.
        bjoern.run(app, f"unix:{args.uds}")
    else:
        bjoern.run(app, args.host, args.port)


if __name__ == "__main__":
    main()
