"""The ASGI body, response, lifespan and extension checks catch the bug each is about: every
stack below is a real server with one deliberate defect (or, for wire-level bugs a wrapper
cannot reproduce, a deliberately naive hand-written server) and must give the stated verdict.
Correct servers pass the same checks: see test_real_targets.py."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import BROKEN, check_broken_stack

PROBE = "conformance.probes.asgi_app:app"
NAIVE_SERVER = (f'["{{python}}", "{BROKEN}/broken_asgi_naive_server.py", "--host", "{{host}}", '
                '"--port", "{port}", "{app}"]')

# (variant name, interface, app "module:attr", command or None, {check id: expected verdict})
BROKEN_STACKS: list[tuple[str, str, str, str | None, dict[str, str]]] = [
    ("loses-last-byte", "asgi", "broken_asgi_events:loses_last_byte", None,
     {"asgi-http.request-body-events": "fail", "asgi-http.generated-bodies": "fail"}),
    ("hangs-after-response", "asgi", "broken_asgi_events:hangs_after_response", None,
     {"asgi-http.disconnect-after-response": "fail"}),
    ("claims-spec-2.4", "asgi", "broken_asgi_events:claims_spec_24", None,
     {"asgi-http.send-after-disconnect": "warn"}),
    ("naive-server", "asgi", PROBE, NAIVE_SERVER,
     {"asgi-http.app-transfer-encoding": "fail", "asgi-http.nothing-after-final-body": "fail",
      "asgi-http.invalid-events": "warn", "asgi-http.no-body-responses": "fail"}),
    ("swallows-exceptions", "asgi", "broken_asgi_events:swallows_exceptions", None,
     {"asgi-http.app-exception": "fail"}),
    ("bad-scope-extras", "asgi", "broken_asgi_events:bad_scope_extras", None,
     {"asgi-scope.root-path": "fail", "asgi-ext.pathsend": "fail",
      "asgi-ext.zerocopysend": "fail", "asgi-ext.trailers": "fail",
      "asgi-ext.early-hints": "fail", "asgi-ext.tls-only-on-tls": "fail",
      "asgi-ext.no-debug": "warn"}),
    ("lifespan-version-2", "asgi", "broken_asgi_events:lifespan_version_2", None,
     {"asgi-lifespan.scope-keys": "fail"}),
    # uvicorn told `--lifespan on` (the broken targets' default) treats an app raising on the
    # lifespan scope as a failed startup and exits (uvicorn/lifespan/on.py: error_occured and
    # lifespan == "on"), where the spec says the server must continue.
    ("exits-on-lifespan-raise", "asgi", PROBE, None,
     {"asgi-lifespan.raise-keeps-serving": "fail"}),
    ("completes-shutdown-early", "asgi", "broken_asgi_events:completes_shutdown_early", None,
     {"asgi-lifespan.shutdown-after-requests": "fail"}),
    ("hides-shutdown-failed", "asgi", "broken_asgi_events:hides_shutdown_failed", None,
     {"asgi-lifespan.shutdown-failed": "warn"}),
    ("other-loop", "asgi", "broken_asgi_events:other_loop", None,
     {"asgi-lifespan.same-event-loop": "warn"}),
    ("shared-state", "asgi", "broken_asgi_events:shared_state", None,
     {"asgi-lifespan.state": "fail"}),
    ("ignores-root-path", "asgi", "broken_asgi_events:ignores_root_path", None,
     {"asgi-scope.root-path-option": "warn"}),
]
# Rows whose target needs a [proxy] section (the server's prefix option, uvicorn's here).
PROXY_SECTIONS = {"ignores-root-path": 'prefix_args = ["--root-path", "/app"]'}


@pytest.mark.parametrize("name,interface,app,command,expected",
                         BROKEN_STACKS, ids=[row[0] for row in BROKEN_STACKS])
def test_check_catches_broken_server(tmp_path: Path, name: str, interface: str, app: str,
                                     command: str | None, expected: dict[str, str]) -> None:
    check_broken_stack(tmp_path, name, interface, app, command, expected,
                       extra_toml=(f"[proxy]\n{PROXY_SECTIONS[name]}"
                                   if name in PROXY_SECTIONS else ""))
