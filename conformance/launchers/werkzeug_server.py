"""Serve a WSGI app with werkzeug's development server (werkzeug.serving.run_simple).

werkzeug has no server CLI of its own (``flask run`` wraps run_simple); this launcher calls
run_simple as ``flask run`` does: threaded, no reloader, no debugger.
``python -m conformance.launchers.werkzeug_server --host H --port P module:attr``.
"""

from __future__ import annotations

import argparse

from werkzeug.serving import run_simple

from conformance.launchers.wsgiref_server import load_app


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000)
    parser.add_argument("app", help="module:attribute of the WSGI application")
    args = parser.parse_args()
    run_simple(args.host, args.port, load_app(args.app), use_reloader=False,
               use_debugger=False, threaded=True)


if __name__ == "__main__":
    main()
