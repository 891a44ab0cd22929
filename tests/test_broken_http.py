"""The HTTP framing and hygiene checks (issue 4, HTTP-01..19) catch a deliberately lax server:
tests/broken/lax_server.py, a threaded socket server with every classic parsing sin (see its
docstring). Same table format as tests/test_broken_servers.py."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import BROKEN, check_broken_stack

PROBE = "conformance.probes.wsgi_app:app"


def lax(*flags: str) -> str:
    extra = "".join(f'"{flag}", ' for flag in flags)
    return (f'["{{python}}", "{BROKEN}/lax_server.py", {extra}"--host", "{{host}}", '
            '"--port", "{port}", "{app}"]')


# (variant name, interface, app, command, {check id: expected verdict})
BROKEN_STACKS: list[tuple[str, str, str, str | None, dict[str, str]]] = [
    ("lax-framing", "wsgi", PROBE, lax(), {
        "http-framing.chunk-size": "fail",
        "http-framing.cl-te": "fail",
        "http-framing.transfer-encoding": "fail",
        "http-framing.content-length": "fail",
        "http-framing.truncated-body": "fail",
        "http-framing.generated-invalid": "fail",
    }),
    ("lax-headers", "wsgi", PROBE, lax(), {
        "http-headers.field-syntax": "fail",
        "http-headers.host": "fail",
        "http-headers.host-value": "fail",
        "http-headers.request-target": "warn",
        "http-headers.invalid-utf8-path": "warn",
        "http-headers.duplicates": "warn",
        "http-headers.oversized": "warn",
    }),
    ("lax-connection", "wsgi", PROBE, lax(), {
        "http-connection.bodiless-responses": "fail",
        "http-connection.http10-no-chunked": "fail",
        "http-connection.expect-continue": "fail",
        "http-connection.persistence": "fail",
        "http-connection.close": "fail",
        "http-connection.date": "warn",
        "http-connection.invalid-then-valid": "warn",
    }),
    ("lax-reorder", "wsgi", PROBE, lax("--reorder"), {
        "http-connection.pipelining-order": "fail",
    }),
]


@pytest.mark.parametrize("name,interface,app,command,expected",
                         BROKEN_STACKS, ids=[row[0] for row in BROKEN_STACKS])
def test_check_catches_broken_server(tmp_path: Path, name: str, interface: str, app: str,
                                     command: str | None, expected: dict[str, str]) -> None:
    check_broken_stack(tmp_path, name, interface, app, command, expected)
