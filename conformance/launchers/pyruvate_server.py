"""Serve a WSGI app with pyruvate (``pyruvate.serve``), as pyruvate's README starts it.

pyruvate has no CLI of its own: its README ("Using Pyruvate in your WSGI application") has
the user call ``pyruvate.serve(application, "127.0.0.1:7878", 2)`` from a script, or
``pyruvate.serve(application, "/tmp/pyruvate.socket", 2)`` for a Unix socket (serve falls
back to a UnixListener when the address is not a socket address: src/pymodule.rs serve,
src/transport.rs parse_server_info). The PasteDeploy entry point (pyruvate/__init__.py
serve_paste) calls the same function. This launcher passes no keyword options, as none of the
README's examples (hello world, Django, MapProxy, Plone, Pyramid) does, so every option keeps
its documented default (keep-alive off: max_reuse_count=0; chunked_transfer=False).

``python -m conformance.launchers.pyruvate_server --host H --port P [--workers N] module:attr``
or ``... --uds PATH module:attr``.
"""

from __future__ import annotations

import pyruvate

from conformance.launchers import launcher_parser, load_app

# Two worker threads: the README's hello-world, Unix-socket, MapProxy, Plone and PasteDeploy
# examples all use 2 (Django's uses 1, Pyramid's 5). The workers are threads of this one
# process (src/workerpool.rs WorkerPool::new, a threadpool::ThreadPool; nothing forks).
DEFAULT_WORKERS = 2


def main() -> None:
    parser = launcher_parser(__doc__, uds=True)
    parser.add_argument("--workers", type=int, default=DEFAULT_WORKERS,
                        help="number of worker threads (pyruvate.serve's num_workers)")
    args = parser.parse_args()
    address = args.uds or f"{args.host}:{args.port}"
    pyruvate.serve(load_app(args.app), address, args.workers)


if __name__ == "__main__":
    main()
