"""Serve a WSGI app with werkzeug's development server (werkzeug.serving.run_simple).

werkzeug has no server CLI of its own (``flask run`` wraps run_simple); this launcher calls
run_simple as ``flask run`` does: threaded, no reloader, no debugger.
``python -m conformance.launchers.werkzeug_server --host H --port P module:attr``;
``--certfile C --keyfile K [--ca-certs CA]`` serve TLS.
"""

from __future__ import annotations

import ssl

from werkzeug.serving import load_ssl_context, run_simple

from conformance.launchers import add_tls_options, launcher_parser, load_app


def ssl_context(certfile: str | None, keyfile: str | None,
                ca_certs: str | None) -> ssl.SSLContext | None:
    """run_simple's ssl_context (werkzeug/serving.py: "an ssl.SSLContext, a tuple in the form
    (cert_file, pkey_file), the string 'adhoc' or None"): load_ssl_context(cert, key) is what
    the tuple form does (serving.py BaseWSGIServer.__init__); with --ca-certs the same context
    asks for an optional client certificate, which werkzeug/serving.py
    WSGIRequestHandler.make_environ puts in SSL_CLIENT_CERT."""
    if not certfile:
        return None
    context = load_ssl_context(certfile, keyfile)
    if ca_certs:
        context.load_verify_locations(ca_certs)
        context.verify_mode = ssl.CERT_OPTIONAL
    return context


def main() -> None:
    parser = launcher_parser(__doc__)
    add_tls_options(parser)
    args = parser.parse_args()
    run_simple(args.host, args.port, load_app(args.app), use_reloader=False,
               use_debugger=False, threaded=True,
               ssl_context=ssl_context(args.certfile, args.keyfile, args.ca_certs))


if __name__ == "__main__":
    main()
