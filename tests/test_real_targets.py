"""A real run of every check against real servers, direct and through a real nginx.

This is the "passes on a correct server" half of test_broken_servers.py: on these servers
every check passes, except the deviations listed below, each of which was checked by hand
against the bytes and the server's source (the reason is given with it).
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from conformance.catalogue import all_checks
from conformance.proxy import nginx_binary
from tests.conftest import run_suite

TARGETS = ("wsgiref", "gunicorn-sync", "uvicorn-h11")

KNOWN_DEVIATIONS = {
    # wsgiref.simple_server sets CONTENT_TYPE to "text/plain" when the request has no
    # Content-Type (WSGIRequestHandler.get_environ uses headers.get_content_type(), which
    # defaults to text/plain); PEP 3333 says CONTENT_TYPE is the field's contents, empty or
    # absent. A real deviation of the standard library.
    ("wsgi-environ.optional-cgi-keys", "wsgiref", "direct"): "fail",
    ("wsgi-environ.optional-cgi-keys", "wsgiref", "nginx"): "fail",
    ("wsgi-environ.generated-requests", "wsgiref", "direct"): "fail",
}


@pytest.mark.skipif(nginx_binary() is None or shutil.which("pgrep") is None,
                    reason="nginx is not installed; run: apt-get install -y nginx-light")
def test_real_servers_direct_and_through_nginx(tmp_path: Path) -> None:
    run = run_suite(tmp_path, f"--target={','.join(TARGETS)}", "--via=both")
    verdicts = run.verdicts()
    expected_cells = {
        (check.id, target, via)
        for check in all_checks()
        for target, interface in (("wsgiref", "wsgi"), ("gunicorn-sync", "wsgi"),
                                  ("uvicorn-h11", "asgi"))
        for via in check.via
        if interface in check.interfaces
    }
    assert set(verdicts) == expected_cells, run.output[-3000:]
    unexpected = {cell: v for cell, v in verdicts.items()
                  if v != KNOWN_DEVIATIONS.get(cell, "pass")}
    assert not unexpected, f"{unexpected}\n{run.output[-5000:]}"
    for record in run.records:
        assert record["nginx_version"] if record["via"] == "nginx" else True
        assert record["server"]["version"] not in ("unknown", "not installed")

