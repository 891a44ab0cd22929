"""Serve a WSGI app with gevent's WSGI server (gevent.pywsgi.WSGIServer).

gevent has no supported server CLI: gevent/pywsgi.py ``_main`` (``python -m gevent.pywsgi``)
calls itself "Provisional main handler, for quick tests, not production usage" and can only
bind a TCP address. Its users write what this launcher does: patch the standard library
first, then ``WSGIServer(listener, app).serve_forever()`` (gevent's "Implementing servers"
documentation; the default access log on stderr is kept, as users get it).
``python -m conformance.launchers.gevent_pywsgi_server --host H --port P module:attr`` or
``... --uds PATH module:attr``; ``--certfile C --keyfile K [--ca-certs CA]`` serve TLS.

No proxy or prefix options exist to expose: gevent/pywsgi.py WSGIHandler.get_environ sets
REMOTE_ADDR from the peer address only and reads no X-Forwarded-* / Forwarded header, and it
sets SCRIPT_NAME = '' unconditionally (its own comment: "in gevent subclass WSGIHandler"), so
not even WSGIServer(environ={"SCRIPT_NAME": ...}) mounts the app under a prefix.
"""

# gevent/monkey/__init__.py: "Patching should be done as early as possible ... the main module
# ... should begin with this code, ideally before any other imports". Under ``python -m`` only
# the (import-free) conformance and conformance.launchers packages run before this line.
from gevent import monkey

monkey.patch_all()

import os  # noqa: E402
import socket  # noqa: E402
import ssl  # noqa: E402
from typing import Any  # noqa: E402

from gevent.pywsgi import WSGIServer  # noqa: E402

from conformance.launchers import add_tls_options, launcher_parser, load_app  # noqa: E402


def unix_listener(path: str) -> socket.socket:
    """A listening AF_UNIX socket at ``path``. WSGIServer takes a bound socket as its listener
    (gevent/baseserver.py BaseServer.set_listener: anything with ``accept``) but parses only
    TCP addresses itself (baseserver.py _parse_address), so the socket is bound here."""
    if os.path.exists(path):
        os.unlink(path)  # a stale socket file from an earlier run would make bind fail
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    sock.bind(path)
    sock.listen(WSGIServer.backlog)  # gevent/server.py StreamServer.backlog, its TCP default
    return sock


def ssl_arguments(certfile: str | None, keyfile: str | None,
                  ca_certs: str | None) -> dict[str, Any]:
    """WSGIServer's TLS keyword arguments, as gevent/server.py StreamServer documents them
    ("keyword arguments are assumed to apply to ssl.wrap_socket": keyfile, certfile,
    cert_reqs, ca_certs; their presence turns TLS on). Empty without --certfile."""
    if not certfile:
        return {}
    arguments: dict[str, Any] = {"certfile": certfile, "keyfile": keyfile}
    if ca_certs:
        arguments.update(ca_certs=ca_certs, cert_reqs=ssl.CERT_OPTIONAL)
    return arguments


def main() -> None:
    parser = launcher_parser(__doc__, uds=True)
    add_tls_options(parser)
    args = parser.parse_args()
    listener: socket.socket | tuple[str, int] = (
        unix_listener(args.uds) if args.uds else (args.host, args.port))
    WSGIServer(listener, load_app(args.app),
               **ssl_arguments(args.certfile, args.keyfile, args.ca_certs)).serve_forever()


if __name__ == "__main__":
    main()
