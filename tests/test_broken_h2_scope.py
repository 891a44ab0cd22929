"""The HTTP/2 scope and request-body checks (H2-01, H2-02) catch each clause they are about:
every stack below is the probe app under a real hypercorn speaking HTTP/2 with prior knowledge,
broken by tests/broken/broken_h2_scope.py, and must give the stated verdict with that
clause's finding at its sentence's level. An unbroken hypercorn passes the same checks (its
target declares h2c): see test_real_targets.py."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import check_broken_stack

HYPERCORN = ('["{bin}/hypercorn", "-k", "asyncio", "-w", "1", "-b", "{host}:{port}", '
             '"{app}"]')
H2C = "[features]\nh2c = true\n"
PSEUDO = "rfc9113.request-pseudo-headers"
BODY = "rfc9113.request-body-data-frames"
RESET = "rfc9113.reset-stream-disconnect"
GENERATED = "rfc9113.generated-requests"

# (variant name, interface, app "module:attr", command, {check id: expected verdict})
BROKEN_STACKS: list[tuple[str, str, str, str | None, dict[str, str]]] = [
    ("h2-scope-keys-a", "asgi", "broken_h2_scope:scope_keys_a", HYPERCORN,
     {PSEUDO: "fail: H2-01.a, H2-01.d, H2-01.f, H2-01.h, H2-01.i, H2-01.j, H2-01.k",
      GENERATED: "fail: H2-01.a, H2-01.d, H2-01.f, H2-01.k"}),
    ("h2-scope-keys-b", "asgi", "broken_h2_scope:scope_keys_b", HYPERCORN,
     {PSEUDO: "fail: H2-01.b, H2-01.c, H2-01.e, H2-01.g, H2-01.l",
      GENERATED: "fail: H2-01.b, H2-01.e, H2-01.l"}),
    ("h2-last-data-dropped", "asgi", "broken_h2_scope:last_data_dropped", HYPERCORN,
     {BODY: "fail: H2-02.a", GENERATED: "fail: H2-02.b"}),
    ("h2-body-never-ends", "asgi", "broken_h2_scope:body_never_ends", HYPERCORN,
     {BODY: "fail: H2-02.c"}),
    ("h2-body-ends-early", "asgi", "broken_h2_scope:body_ends_early", HYPERCORN,
     {BODY: "fail: H2-02.d"}),
    ("h2-reset-as-end-headers-shared", "asgi",
     "broken_h2_scope:reset_as_end_headers_shared", HYPERCORN,
     {RESET: "fail: H2-02.e, H2-02.f, H2-02.g"}),
    ("h2-reset-told-late", "asgi", "broken_h2_scope:reset_told_late", HYPERCORN,
     {RESET: "info: H2-02.i"}),
    ("h2-hypercorn-host-over-authority-torn-down", "asgi",
     "broken_h2_scope:host_over_authority_torn_down_on_reset", HYPERCORN,
     {PSEUDO: "fail: H2-01.l", RESET: "fail: H2-02.h"}),
]


@pytest.mark.parametrize("name,interface,app,command,expected",
                         BROKEN_STACKS, ids=[row[0] for row in BROKEN_STACKS])
def test_check_catches_broken_h2_scope(tmp_path: Path, name: str, interface: str, app: str,
                                       command: str | None, expected: dict[str, str]) -> None:
    check_broken_stack(tmp_path, name, interface, app, command, expected, extra_toml=H2C,
                       examples=25)
