"""Serve a WSGI app with werkzeug's development server (werkzeug.serving.run_simple).

werkzeug has no server CLI of its own (``flask run`` wraps run_simple); this launcher calls
run_simple as ``flask run`` does: threaded, no reloader, no debugger.
``python -m conformance.launchers.werkzeug_server --host H --port P module:attr``.
"""

from __future__ import annotations

from werkzeug.serving import run_simple

from conformance.launchers import launcher_parser, load_app


def main() -> None:
    parser = launcher_parser(__doc__)
    args = parser.parse_args()
    run_simple(args.host, args.port, load_app(args.app), use_reloader=False,
               use_debugger=False, threaded=True)


if __name__ == "__main__":
    main()
