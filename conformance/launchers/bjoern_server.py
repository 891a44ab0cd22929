"""Serve a WSGI app with bjoern (bjoern.run), as bjoern's README starts it.

bjoern has no CLI of its own; its README ("Usage") starts it with
``bjoern.run(wsgi_application, host, port)``, or ``bjoern.run(wsgi_application,
'unix:/path/to/socket')`` for a Unix socket. This launcher does exactly that:
``python -m conformance.launchers.bjoern_server --host H --port P module:attr`` or
``python -m conformance.launchers.bjoern_server --uds PATH module:attr``.
"""

from __future__ import annotations

import bjoern

from conformance.launchers import launcher_parser, load_app


def main() -> None:
    parser = launcher_parser(__doc__, uds=True)
    args = parser.parse_args()
    app = load_app(args.app)
    if args.uds:
        # bjoern.py bind_and_listen: a host "unix:<path>" binds an AF_UNIX socket at <path>.
        bjoern.run(app, f"unix:{args.uds}")
    else:
        bjoern.run(app, args.host, args.port)


if __name__ == "__main__":
    main()
