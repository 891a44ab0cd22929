"""Every check catches the bug it is about: each runs against a real server with one
deliberate defect and must give the stated verdict (and passes on correct servers: see
test_real_targets.py)."""

from __future__ import annotations

import importlib
from pathlib import Path

import pytest

from conformance.catalogue import all_checks
from tests.conftest import BROKEN, broken_target, check_broken_stack, run_suite

# (variant name, interface, app "module:attr" or None for the probe, command or None,
#  {check id: expected verdict})
BROKEN_STACKS: list[tuple[str, str, str, str | None, dict[str, str]]] = [
    # The leaked HTTP_ key breaks a SHOULD (WSGI-ENV-01.b), the other key no sentence
    # (WSGI-ENV-01.c, INFO); environ is still a dict: a warn, no longer a fail.
    ("shared-environ", "wsgi", "broken_wsgi:shared_environ", None,
     {"pep3333.fresh-dict": "warn: WSGI-ENV-01.b"}),
    ("server-port-int", "wsgi", "broken_wsgi:server_port_int", None,
     {"pep3333.required-keys": "fail: WSGI-ENV-02.d"}),
    ("protocol-always-11", "wsgi", "broken_wsgi:protocol_always_11", None,
     {"pep3333.server-protocol": "fail: WSGI-ENV-03.b"}),
    ("drop-query-string", "wsgi", "broken_wsgi:drop_query_string", None,
     {"pep3333.optional-cgi-keys": "fail: WSGI-ENV-04.e, WSGI-ENV-04.a",
      "pep3333.generated-environ": "fail: WSGI-ENV-04.e"}),
    ("wsgiref-drops-query", "wsgi", "conformance.probes.wsgi_app:app",
     f'["{{python}}", "{BROKEN}/broken_wsgiref.py", "--host", "{{host}}", "--port", "{{port}}", '
     '"{app}"]',
     {"pep3333.optional-cgi-keys": "fail: WSGI-ENV-04.e, WSGI-ENV-04.a"}),
    ("utf8-decoded", "wsgi", "broken_wsgi:utf8_decoded", None,
     {"pep3333.latin1-strings": "fail: WSGI-ENV-05.d"}),
    # RFC 3875 4.1.18: the server "SHOULD remove" fields available as other variables
    # (WSGI-ENV-08.f): a warn, no longer a fail.
    ("content-type-as-http", "wsgi", "broken_wsgi:content_type_as_http", None,
     {"pep3333.http-headers": "warn: WSGI-ENV-08.f"}),
    ("wsgi-version-list", "wsgi", "broken_wsgi:wsgi_version_list", None,
     {"pep3333.wsgi-keys": "fail: WSGI-ENV-10.b"}),
    ("no-close", "wsgi", "broken_wsgi:no_close", None,
     {"pep3333.close-after-response": "fail: WSGI-RESP-06.a",
      "pep3333.close-after-error": "fail: WSGI-RESP-06.a",
      "pep3333.close-after-disconnect": "fail: WSGI-RESP-06.a"}),
    ("wsgi-buffered", "wsgi", "broken_wsgi:buffered", None,
     {"pep3333.streaming": "fail: WSGI-RESP-07.a"}),
    ("asgi-version-2", "asgi", "broken_asgi:asgi_version_2", None,
     {"asgi-www.scope-type-and-version": "fail: ASGI-SCOPE-01.h"}),
    ("http-version-11", "asgi", "broken_asgi:http_version_always_11", None,
     {"asgi-www.scope-http-version-method-scheme": "fail: ASGI-SCOPE-02.b"}),
    ("path-not-decoded", "asgi", "broken_asgi:path_not_decoded", None,
     {"asgi-www.scope-path-and-raw-path": "fail: ASGI-SCOPE-03.a",
      "asgi-www.scope-generated-requests": "fail: ASGI-SCOPE-03.a"}),
    ("query-decoded", "asgi", "broken_asgi:query_decoded", None,
     {"asgi-www.scope-query-string": "fail: ASGI-SCOPE-04.a"}),
    ("upper-header-names", "asgi", "broken_asgi:upper_header_names", None,
     {"asgi-www.scope-headers": "warn: ASGI-SCOPE-05.d"}),
    ("duplicates-merged", "asgi", "broken_asgi:duplicates_merged", None,
     {"asgi-www.scope-headers": "fail: ASGI-SCOPE-05.c"}),
    ("client-port-zero", "asgi", "broken_asgi:client_port_zero", None,
     {"asgi-www.scope-client-and-server": "fail: ASGI-SCOPE-07.a"}),
    ("asgi-buffered", "asgi", "broken_asgi:buffered", None,
     {"asgi-www.streaming": "fail: ASGI-HTTP-05"}),
    # No http.disconnect within the suite's 5 s: no sentence gives a bound, so it is reported
    # (ASGI-HTTP-03.d); a wrong event instead fails (test_broken_asgi.py).
    ("no-disconnect", "asgi", "broken_asgi:no_disconnect", None,
     {"asgi-www.disconnect-mid-request": "info: ASGI-HTTP-03.d",
      "asgi-www.disconnect-mid-response": "info: ASGI-HTTP-03.d",
      "asgi-www.send-after-disconnect": "info: ASGI-HTTP-03.d"}),
    ("early-startup-complete", "asgi", "broken_asgi:early_startup_complete", None,
     {"asgi-lifespan.startup-before-serving": "fail: ASGI-LIFE-01.b"}),
    ("ignores-startup-failed", "asgi", "broken_asgi:ignores_startup_failed", None,
     {"asgi-lifespan.startup-failed-exits": "warn: ASGI-LIFE-03"}),
]


@pytest.mark.parametrize("name,interface,app,command,expected",
                         BROKEN_STACKS, ids=[row[0] for row in BROKEN_STACKS])
def test_check_catches_broken_server(tmp_path: Path, name: str, interface: str, app: str,
                                     command: str | None, expected: dict[str, str]) -> None:
    check_broken_stack(tmp_path, name, interface, app, command, expected)


def test_every_check_has_a_broken_server() -> None:
    """A check that no broken stack makes fail (or warn) is a check that cannot fail.

    Every tests/test_broken_*.py module contributes its own BROKEN_STACKS table."""
    caught: set[str] = set()
    for path in sorted(Path(__file__).parent.glob("test_broken_*.py")):
        module = importlib.import_module(f"tests.{path.stem}")
        for *_, expected in getattr(module, "BROKEN_STACKS", []):
            caught |= set(expected)
    missing = [c.id for c in all_checks() if c.id not in caught]
    assert not missing, f"checks never shown failing: {missing}"


def test_strict_turns_warn_into_failure(tmp_path: Path) -> None:
    target = broken_target(tmp_path, "upper", "asgi", "broken_asgi:upper_header_names")
    args = (f"--target={target}", "--via=direct", "--checks=asgi-www.scope-headers")
    relaxed = run_suite(tmp_path, *args)
    strict = run_suite(tmp_path, *args, "--strict")
    assert relaxed.verdict("asgi-www.scope-headers", "upper") == "warn"
    assert relaxed.returncode == 0, relaxed.output[-2000:]
    assert strict.returncode == 1, strict.output[-2000:]
