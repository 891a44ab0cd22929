"""The WSGI input, response, environ-extra and file-wrapper checks catch the bug each is
about: every row runs a real server (wsgiref, or a wsgiref with one wire-level defect) with a
deliberately broken stack and must give the stated verdict. test_real_targets.py is the other
half (they pass on correct servers)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from tests.conftest import BROKEN, check_broken_stack

PROBE = "conformance.probes.wsgi_app:app"


def variant(name: str, *python_flags: str) -> str:
    """A target command running tests/broken/broken_wsgiref_variants.py --variant NAME."""
    flags = "".join(f'"{flag}", ' for flag in python_flags)
    return (f'["{{python}}", {flags}"{BROKEN}/broken_wsgiref_variants.py", "--variant", '
            f'"{name}", "--host", "{{host}}", "--port", "{{port}}", "{{app}}"]')


UWSGI = ('["{bin}/uwsgi", "--http-socket", "{host}:{port}", "--home", "{bin}/..", "--module", '
         '"{app}", "--need-app", "--die-on-term", "--disable-logging"]')
UWSGI_BINARY = Path(sys.executable).parent / "uwsgi"
WSGIREF_OPTIMIZED = ('["{python}", "-O", "-m", "conformance.launchers.wsgiref_server", '
                     '"--host", "{host}", "--port", "{port}", "{app}"]')

# (variant name, interface, app "module:attr", command or None, {check id: expected verdict})
BROKEN_STACKS: list[tuple[str, str, str, str | None, dict[str, str]]] = [
    ("input-iter-blocks", "wsgi", "broken_wsgi_pep:iter_in_blocks", None,
     {"wsgi-input.read-methods": "fail"}),
    ("readline-ignores-size", "wsgi", "broken_wsgi_pep:readline_ignores_size", None,
     {"wsgi-input.readline-size": "warn"}),
    ("read-needs-size", "wsgi", "broken_wsgi_pep:read_needs_size", None,
     {"wsgi-input.read-no-argument": "warn"}),
    ("exhausted-readlines", "wsgi", "broken_wsgi_pep:exhausted_readlines", None,
     {"wsgi-input.exhausted": "warn"}),
    # wsgiref as it is: its wsgi.input is the socket file (no EOF at CONTENT_LENGTH, chunked
    # framing passed through), write() sends the headers for an empty block, Content-Length
    # is not enforced, header values are not checked, X-A_B joins X-A-B.
    ("wsgiref-as-is", "wsgi", PROBE, None,
     {"wsgi-input.past-content-length": "warn", "wsgi-input.chunked-body": "fail",
      "wsgi-response.headers-held-until-body": "fail",
      "wsgi-response.content-length-too-many": "warn",
      "wsgi-response.control-characters": "warn",
      "wsgi-environ.underscore-header-spoofing": "warn"}),
    ("no-100-continue", "wsgi", PROBE, variant("no-100"),
     {"wsgi-input.expect-continue": "fail"}),
    ("write-after-iterable", "wsgi", "broken_wsgi_pep:write_after_iterable", None,
     {"wsgi-response.write-before-iterable": "fail"}),
    ("assumes-started", "wsgi", "broken_wsgi_pep:assumes_started", None,
     {"wsgi-response.start-response-in-iterable": "fail"}),
    ("swallows-late-exc-info", "wsgi", "broken_wsgi_pep:swallows_late_exc_info", None,
     {"wsgi-response.exc-info-after-headers": "fail"}),
    ("ignores-second-start", "wsgi", "broken_wsgi_pep:ignores_second_start", None,
     {"wsgi-response.second-start-response": "fail"}),
    # python -O strips wsgiref's hop-by-hop assertion: the app's Transfer-Encoding reaches
    # the wire over an unchunked body.
    ("wsgiref-optimized", "wsgi", PROBE, WSGIREF_OPTIMIZED,
     {"wsgi-response.hop-by-hop": "warn"}),
    ("empty-block-last-chunk", "wsgi", PROBE, variant("empty-chunk"),
     {"wsgi-response.empty-blocks": "fail"}),
    ("chunked-to-http10", "wsgi", PROBE, variant("chunked-to-10"),
     {"wsgi-response.no-chunked-to-http10": "fail"}),
    ("lingers-after-short-body", "wsgi", PROBE, variant("lingers"),
     {"wsgi-response.content-length-too-few": "warn"}),
    ("swallows-errors", "wsgi", "broken_wsgi_pep:swallows_errors", None,
     {"wsgi-response.app-exception": "fail"}),
    ("no-date", "wsgi", PROBE, variant("no-date"),
     {"wsgi-response.date-header": "warn"}),
    ("ascii-errors", "wsgi", "broken_wsgi_pep:ascii_errors", None,
     {"wsgi-environ.errors-any-unicode": "fail"}),
    ("mixed-case-extra-key", "wsgi", "broken_wsgi_pep:mixed_case_extra_key", None,
     {"wsgi-environ.extra-keys-named": "warn"}),
    ("rewinding-file-wrapper", "wsgi", "broken_wsgi_pep:rewinding_file_wrapper", None,
     {"wsgi-file.file-wrapper": "fail"}),
    # uWSGI as it is (no other server speaks the uwsgi protocol): through nginx's uwsgi_pass
    # it keeps only the last of two X-Dup headers and shows nginx's HTTP_CONTENT_TYPE /
    # HTTP_CONTENT_LENGTH variables to the app; over HTTP it does neither.
    ("uwsgi-protocol-as-is", "wsgi", PROBE, UWSGI,
     {"wsgi-environ.uwsgi-protocol": "fail"}),
]


@pytest.mark.parametrize("name,interface,app,command,expected",
                         BROKEN_STACKS, ids=[row[0] for row in BROKEN_STACKS])
def test_check_catches_broken_server(tmp_path: Path, name: str, interface: str, app: str,
                                     command: str | None, expected: dict[str, str]) -> None:
    if command and "uwsgi" in command and not UWSGI_BINARY.exists():
        pytest.skip("uWSGI is not installed (pip install pyuwsgi)")
    # The uwsgi-protocol check reads the uwsgi socket arguments from [features].
    extra = ('[features]\nuwsgi_socket_args = ["--socket", "{host}:{port}"]'
             if command == UWSGI else "")
    check_broken_stack(tmp_path, name, interface, app, command, expected, extra_toml=extra)
