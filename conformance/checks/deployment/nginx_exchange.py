"""One request through an nginx variant and what came back: the helpers of the checks that
talk to nginx in front of the server (no checks here)."""

from __future__ import annotations

from conformance.context import CheckContext
from conformance.proxy import Nginx
from conformance.wire import Response

RESPONSE_TIMEOUT = 8.0
NGINX_UPSTREAM_ERRORS = ("upstream sent invalid", "upstream prematurely closed",
                         "upstream sent no valid", "upstream sent more data")


def send(ctx: CheckContext, nginx: Nginx, data: bytes, method: str = "GET",
         timeout: float = RESPONSE_TIMEOUT) -> Response:
    """Send ``data`` to ``nginx`` on a tracked connection; the response the client got."""
    conn = ctx.connect(host=nginx.host, port=nginx.port, timeout=timeout)
    conn.send(data)
    response = conn.read_response(method=method, timeout=timeout)
    conn.close()
    return response


def nginx_errors(nginx: Nginx) -> list[str]:
    """The lines of nginx's error log that complain about the upstream (the server)."""
    return [line for line in nginx.error_log().splitlines()
            if any(marker in line for marker in NGINX_UPSTREAM_ERRORS)]


def got(response: Response) -> str:
    """What a client got, for a message."""
    if not response.status:
        return f"no response ({'; '.join(response.problems) or 'nothing arrived'})"
    return (f"status {response.status}, complete={response.complete}, "
            f"{len(response.body)} body bytes")
