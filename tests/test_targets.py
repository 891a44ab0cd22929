"""Target loading: every bundled TOML is valid, and bad ones are refused with a clear message."""

from __future__ import annotations

from pathlib import Path

import pytest

from conformance.targets import TargetError, bundled_targets, load_target, resolve_targets
from tests.conftest import write_target

GOOD = """
interface = "asgi"
command = ["{bin}/uvicorn", "--host", "{host}", "--port", "{port}", "{app}"]
version = { distribution = "uvicorn" }
[features]
lifespan = true
"""


def test_every_bundled_target_loads() -> None:
    names = bundled_targets()
    assert {"wsgiref", "gunicorn-sync", "waitress", "granian-wsgi", "uvicorn-h11", "hypercorn",
            "daphne", "granian-asgi", "gunicorn-asgi"} <= set(names)
    for name, path in names.items():
        target = load_target(path)
        assert target.name == name
        assert target.interface in ("wsgi", "asgi")
        assert target.version() not in ("not installed", ""), name


def test_argv_substitutes_placeholders(tmp_path: Path) -> None:
    target = load_target(write_target(tmp_path, "mine", GOOD))
    argv = target.argv(host="127.0.0.1", port=8123)
    assert argv[1:] == ["--host", "127.0.0.1", "--port", "8123",
                        "conformance.probes.asgi_app:app"]
    assert argv[0].endswith("/uvicorn")
    assert target.feature("lifespan") is True


def test_a_target_may_run_only_some_checks() -> None:
    """A configuration that differs from another in one part (uvicorn's WebSocket library)
    runs only the checks of that part; the others run everything that applies."""
    (variant,) = resolve_targets("uvicorn-ws-websockets")
    assert variant.runs("asgi-www.ws-scope") and variant.runs("rfc6455.ping-pong")
    assert not variant.runs("asgi-www.scope-headers")
    (plain,) = resolve_targets("uvicorn-h11")
    assert plain.runs("asgi-www.scope-headers") and plain.runs("asgi-www.ws-scope")


def test_family_prefix_and_lists() -> None:
    names = [t.name for t in resolve_targets("uvicorn")]
    assert names == ["uvicorn-h11-tls", "uvicorn-h11", "uvicorn-httptools-tls",
                     "uvicorn-httptools", "uvicorn-ws-websockets-sansio",
                     "uvicorn-ws-websockets"]
    assert [t.name for t in resolve_targets("wsgiref, daphne")] == ["wsgiref", "daphne"]
    assert len(resolve_targets("all")) == len(bundled_targets())


@pytest.mark.parametrize("body,message", [
    ('interface = "asgi"\ncommand = ["x", "{app}"', "not valid TOML"),
    ('interface = "cgi"\ncommand = ["x", "{app}"]', "'interface' must be"),
    ('interface = "wsgi"', "'command' is missing"),
    ('interface = "wsgi"\ncommand = ["x", "{host}"]', "must contain {app}"),
    ('interface = "wsgi"\ncommand = ["x", "{app}", "{prot}"]', "unknown placeholder"),
    ('interface = "wsgi"\ncommand = ["x", "{app}"]\nstartup_timeout = "soon"', "number of seconds"),
    ('interface = "wsgi"\ncommand = ["x", "{app}"]\ncolour = 1', "unknown key"),
    ('interface = "wsgi"\ncommand = ["x", "{app}"]\nchecks = "rfc9112"', "check-id prefixes"),
    ('interface = "wsgi"\ncommand = ["x", "{app}"]\n[wsgi]\nmultithread = "yes"', "booleans"),
])
def test_malformed_targets_are_refused(tmp_path: Path, body: str, message: str) -> None:
    path = write_target(tmp_path, "bad", body)
    with pytest.raises(TargetError, match=message) as info:
        load_target(path)
    assert str(path) in str(info.value)


def test_unknown_name_lists_the_bundled_ones() -> None:
    with pytest.raises(TargetError, match="unknown target 'nosuch'.*uvicorn-h11"):
        resolve_targets("nosuch")


def test_missing_file() -> None:
    with pytest.raises(TargetError, match="does not exist"):
        resolve_targets("/nonexistent/server.toml")
