"""The ASGI body, response, lifespan and extension checks catch the bug each is about: every
stack below is a real server with one deliberate defect (or, for wire-level bugs a wrapper
cannot reproduce, a deliberately naive hand-written server) and must give the stated verdict.
Correct servers pass the same checks: see test_real_targets.py."""

from __future__ import annotations

from pathlib import Path

import pytest

from conformance.proxy import nginx_binary
from tests.conftest import BROKEN, broken_target, check_broken_stack, run_suite

PROBE = "conformance.probes.asgi_app:app"
NAIVE_SERVER = (f'["{{python}}", "{BROKEN}/broken_asgi_naive_server.py", "--host", "{{host}}", '
                '"--port", "{port}", "{app}"]')


def naive_server(*switches: str) -> str:
    """The naive server's command with variant switches (broken_asgi_naive_server.py)."""
    extra = "".join(f'"{switch}", ' for switch in switches)
    return NAIVE_SERVER.replace('"{app}"', extra + '"{app}"')


# uvicorn told to give in-flight requests no graceful time at all: on SIGTERM it cancels them
# (uvicorn/server.py shutdown: asyncio.wait_for(..., timeout=timeout_graceful_shutdown)) and
# closes their connections before it sends lifespan.shutdown.
UVICORN_NO_GRACE = ('["{bin}/uvicorn", "--http", "h11", "--host", "{host}", "--port", "{port}", '
                    '"--lifespan", "on", "--no-access-log", "--timeout-graceful-shutdown", "0", '
                    '"{app}"]')

# (variant name, interface, app "module:attr", command or None, {check id: expected verdict})
BROKEN_STACKS: list[tuple[str, str, str, str | None, dict[str, str]]] = [
    ("loses-last-byte", "asgi", "broken_asgi_events:loses_last_byte", None,
     {"asgi-www.request-body-events": "fail: ASGI-HTTP-01.c",
      "asgi-www.generated-bodies": "fail: ASGI-HTTP-01.c"}),
    # The chunked coding handed over undecoded breaks only "The http.request messages should
    # contain just the decoded contents of each chunk." (ASGI-HTTP-01.g); a 411 for a chunked
    # body is a MAY of RFC 9112 6.3 (ASGI-HTTP-01.i).
    ("chunked-undecoded", "asgi", PROBE, naive_server("--chunked", "raw"),
     {"asgi-www.request-body-events": "warn: ASGI-HTTP-01.g",
      "asgi-www.generated-bodies": "warn: ASGI-HTTP-01.g"}),
    ("chunked-refused-411", "asgi", PROBE, naive_server("--chunked", "411"),
     {"asgi-www.request-body-events": "info: ASGI-HTTP-01.i",
      "asgi-www.generated-bodies": "info: ASGI-HTTP-01.i"}),
    # A 501 for every chunked body: the server cannot parse the coding "A recipient MUST be
    # able to parse" (ASGI-HTTP-01.h); a 413 above a size limit is the server's choice
    # (ASGI-HTTP-01.j: reported).
    ("chunked-refused-501", "asgi", PROBE, naive_server("--chunked", "501"),
     {"asgi-www.request-body-events": "fail: ASGI-HTTP-01.h"}),
    ("refuses-large-bodies", "asgi", "broken_asgi_events:refuses_large_bodies", None,
     {"asgi-www.request-body-events": "info: ASGI-HTTP-01.j"}),
    ("hangs-after-response", "asgi", "broken_asgi_events:hangs_after_response", None,
     {"asgi-www.disconnect-after-response": "fail: ASGI-HTTP-02.a"}),
    # An empty final http.request instead of http.disconnect breaks the event's definition
    # (ASGI-HTTP-03.a); no event at all within the bound is reported (the no-disconnect row
    # of test_broken_servers.py).
    # After a complete response the same mask gives an http.request where the sequence
    # "http.request and http.disconnect" ends (ASGI-HTTP-02.a, .b).
    ("request-instead-of-disconnect", "asgi", "broken_asgi_events:request_instead_of_disconnect",
     None, {"asgi-www.disconnect-mid-request": "fail: ASGI-HTTP-03.a",
            "asgi-www.disconnect-mid-response": "fail: ASGI-HTTP-03.a",
            "asgi-www.disconnect-after-response": "fail: ASGI-HTTP-02.a, ASGI-HTTP-02.b"}),
    # The close noted but a receive() already pending left asleep: only a fresh call says
    # http.disconnect (ASGI-HTTP-03.b).
    ("pending-receive-not-woken", "asgi", "broken_asgi_events:pending_receive_not_woken", None,
     {"asgi-www.disconnect-mid-response": "fail: ASGI-HTTP-03.b"}),
    ("claims-spec-2.4", "asgi", "broken_asgi_events:claims_spec_24", None,
     {"asgi-www.send-after-disconnect": "warn: ASGI-HTTP-04.a"}),
    # spec_version 2.3 and a RuntimeError out of send(): "the send awaitable callable should
    # act as a no-op" (ASGI-HTTP-04.d).
    ("raises-after-disconnect", "asgi", "broken_asgi_events:raises_after_disconnect", None,
     {"asgi-www.send-after-disconnect": "warn: ASGI-HTTP-04.d"}),
    ("final-body-continues", "asgi", "broken_asgi_events:final_body_continues", None,
     {"asgi-www.nothing-after-final-body": "fail: ASGI-HTTP-07.a, ASGI-HTTP-07.b"}),
    # invalid-events: the naive server writes an app's CR LF into the head, a header line of
    # its own: "A sender MUST NOT generate protocol elements that do not match the grammar"
    # (ASGI-HTTP-08.b) makes that a fail where the check used to stop at its SHOULD. Its
    # app-exception verdict is info: it closes without a response after an app that returned
    # without one, which no sentence rules on (ASGI-HTTP-09.b). Its body bytes after a HEAD,
    # 204 and 304 are content (.a, .d, .e) and leave the pipelined follow-up misplaced: the
    # response did not end at the empty line (ASGI-HTTP-10.b). It reads the whole body before
    # calling the app, which RFC 9110 7.6 allows (ASGI-HTTP-03.c: reported).
    ("naive-server", "asgi", PROBE, NAIVE_SERVER,
     {"asgi-www.app-transfer-encoding": "fail: ASGI-HTTP-06.d, ASGI-HTTP-06.c, ASGI-HTTP-06.a",
      "asgi-www.nothing-after-final-body": "fail: ASGI-HTTP-07.b",
      "asgi.invalid-events": "fail: ASGI-HTTP-08.b",
      "asgi-www.no-body-responses": "fail: ASGI-HTTP-10.a, ASGI-HTTP-10.b, ASGI-HTTP-10.d, "
                                    "ASGI-HTTP-10.e, ASGI-HTTP-10.g",
      "asgi.app-exception": "info: ASGI-HTTP-09.b",
      "asgi-www.disconnect-mid-request": "info: ASGI-HTTP-03.c"}),
    # uvicorn's h11 protocol sends a str header value instead of raising (ASGI-HTTP-08.a).
    ("accepts-str-header", "asgi", PROBE, None, {"asgi.invalid-events": "warn: ASGI-HTTP-08.a"}),
    # A body before the start dropped without raising: no sentence covers the order of
    # events (ASGI-HTTP-08.e, a missing defence).
    ("lenient-event-order", "asgi", "broken_asgi_events:lenient_event_order", None,
     {"asgi.invalid-events": "hardening: ASGI-HTTP-08.e"}),
    ("swallows-exceptions", "asgi", "broken_asgi_events:swallows_exceptions", None,
     {"asgi.app-exception": "fail: ASGI-HTTP-09.a"}),
    # The early hint refused by send() breaks "ASGI servers that implement this extension
    # will allow early hints to be sent." (ASGI-EXT-04.j).
    ("bad-scope-extras", "asgi", "broken_asgi_events:bad_scope_extras", None,
     {"asgi-www.scope-root-path": "fail: ASGI-SCOPE-06.a",
      "asgi-www.scope-root-path-option": "fail: ASGI-SCOPE-06.a",
      "asgi-ext.pathsend": "fail: ASGI-EXT-02.c", "asgi-ext.zerocopysend": "fail: ASGI-EXT-05.k",
      "asgi-ext.trailers": "fail: ASGI-EXT-03.c",
      "asgi-ext.early-hints": "fail: ASGI-EXT-04.j",
      "asgi-ext.tls-only-on-tls": "fail: ASGI-EXT-06.b",
      "asgi-ext.no-debug": "warn: ASGI-EXT-07"}),
    # A 103 without the links: "The ASGI server should then attempt to send an informational
    # response to the client with the provided links as Link headers." (ASGI-EXT-04.d). A
    # closed file descriptor breaks no sentence (ASGI-EXT-05.j).
    ("early-hint-without-links", "asgi", PROBE, naive_server("--early-hints"),
     # It also sends the 103 to an HTTP/1.0 client (ASGI-EXT-04.h, a MUST).
     {"asgi-ext.early-hints": "fail: ASGI-EXT-04.h, ASGI-EXT-04.d"}),
    ("closes-zerocopy-fd", "asgi", PROBE, naive_server("--zerocopysend"),
     # It also ignores offset and count (05.d, .f) and writes the file on HEAD (05.c).
     {"asgi-ext.zerocopysend":
      "fail: ASGI-EXT-05.j, ASGI-EXT-05.d, ASGI-EXT-05.f, ASGI-EXT-05.c"}),
    ("ignores-early-hints", "asgi", "broken_asgi_events:ignores_early_hints", None,
     {"asgi-ext.early-hints": "info: ASGI-EXT-04.e"}),
    # A path outside root_path rests only on "PATH_INFO can be derived by stripping root_path
    # from path" (ASGI-SCOPE-06.c, a can): reported.
    ("root-path-outside-path", "asgi", "broken_asgi_events:root_path_outside_path", None,
     {"asgi-www.scope-root-path": "info: ASGI-SCOPE-06.c"}),
    ("lifespan-version-2", "asgi", "broken_asgi_events:lifespan_version_2", None,
     {"asgi-lifespan.scope-keys": "fail: ASGI-LIFE-02.j"}),
    # uvicorn told `--lifespan on` (the broken targets' default) treats an app raising on the
    # lifespan scope as a failed startup and exits (uvicorn/lifespan/on.py: error_occured and
    # lifespan == "on"), where the spec says the server must continue.
    ("exits-on-lifespan-raise", "asgi", PROBE, None,
     {"asgi-lifespan.raise-keeps-serving": "fail: ASGI-LIFE-04"}),
    ("completes-shutdown-early", "asgi", "broken_asgi_events:completes_shutdown_early", None,
     {"asgi-lifespan.shutdown-after-requests": "fail: ASGI-LIFE-05.b"}),
    # No sentence says in-flight requests are let finish ("A client, server, or proxy MAY
    # close the transport connection at any time.", ASGI-LIFE-05.c): cutting one is reported.
    ("cuts-in-flight-on-shutdown", "asgi", PROBE, UVICORN_NO_GRACE,
     {"asgi-lifespan.shutdown-after-requests": "info: ASGI-LIFE-05.c"}),
    ("skips-lifespan-shutdown", "asgi", "broken_asgi_events:skips_lifespan_shutdown", None,
     {"asgi-lifespan.shutdown-after-requests": "fail: ASGI-LIFE-05.b",
      "asgi-lifespan.shutdown-failed": "fail: ASGI-LIFE-05.b"}),
    ("hides-shutdown-failed", "asgi", "broken_asgi_events:hides_shutdown_failed", None,
     {"asgi-lifespan.shutdown-failed": "warn: ASGI-LIFE-06"}),
    ("other-loop", "asgi", "broken_asgi_events:other_loop", None,
     {"asgi-lifespan.same-event-loop": "warn: ASGI-LIFE-07.a"}),
    ("shared-state", "asgi", "broken_asgi_events:shared_state", None,
     {"asgi-lifespan.state": "fail: ASGI-SCOPE-08.a"}),
    # How a server is mounted is specified nowhere: what root_path-option sees is information
    # (ASGI-SCOPE-06.c, a can), no longer a warn.
    ("ignores-root-path", "asgi", "broken_asgi_events:ignores_root_path", None,
     {"asgi-www.scope-root-path-option": "info: ASGI-SCOPE-06.c"}),
    # Issue 13: one broken variant per clause, each a scope a server with one bug builds.
    ("scope-read-only", "asgi", "broken_asgi:scope_read_only", None,
     {"asgi-www.scope-type-and-version": "fail: ASGI-SCOPE-01.a"}),
    ("scope-without-type", "asgi", "broken_asgi:scope_without_type", None,
     {"asgi-www.scope-type-and-version": "fail: ASGI-SCOPE-01.b"}),
    ("scope-type-bytes", "asgi", "broken_asgi:scope_type_bytes", None,
     {"asgi-www.scope-type-and-version": "fail: ASGI-SCOPE-01.c"}),
    ("scope-type-upper", "asgi", "broken_asgi:scope_type_upper", None,
     {"asgi-www.scope-type-and-version": "fail: ASGI-SCOPE-01.d"}),
    ("scope-asgi-not-a-dict", "asgi", "broken_asgi:asgi_not_a_dict", None,
     {"asgi-www.scope-type-and-version": "fail: ASGI-SCOPE-01.f"}),
    ("scope-asgi-without-version", "asgi", "broken_asgi:asgi_without_version", None,
     {"asgi-www.scope-type-and-version": "fail: ASGI-SCOPE-01.f"}),
    ("scope-asgi-version-float", "asgi", "broken_asgi:asgi_version_float", None,
     {"asgi-www.scope-type-and-version": "fail: ASGI-SCOPE-01.g"}),
    ("scope-spec-version-float", "asgi", "broken_asgi:spec_version_float", None,
     {"asgi-www.scope-type-and-version": "fail: ASGI-SCOPE-01.k"}),
    ("scope-http-version-prefixed", "asgi", "broken_asgi:http_version_with_prefix", None,
     {"asgi-www.scope-http-version-method-scheme": "fail: ASGI-SCOPE-02.a"}),
    ("scope-method-lower-case", "asgi", "broken_asgi:method_lower_case", None,
     {"asgi-www.scope-http-version-method-scheme": "fail: ASGI-SCOPE-02.c"}),
    ("scope-scheme-https", "asgi", "broken_asgi:scheme_always_https", None,
     {"asgi-www.scope-http-version-method-scheme": "fail: ASGI-SCOPE-02.d"}),
    ("scope-scheme-empty", "asgi", "broken_asgi:scheme_empty", None,
     {"asgi-www.scope-http-version-method-scheme": "fail: ASGI-SCOPE-02.e"}),
    ("scope-raw-path-with-query", "asgi", "broken_asgi:raw_path_with_query", None,
     {"asgi-www.scope-path-and-raw-path": "fail: ASGI-SCOPE-03.c"}),
    ("scope-memoryview-header-values", "asgi", "broken_asgi:memoryview_header_values", None,
     {"asgi-www.scope-headers": "fail: ASGI-SCOPE-05.a"}),
    # str names and values: the probe app journals them (it never crashes on a scope) and
    # the check fails the definition "An iterable of [name, value] ... byte string".
    ("scope-str-headers", "asgi", "broken_asgi:str_headers", None,
     {"asgi-www.scope-headers": "fail: ASGI-SCOPE-05.a"}),
    ("scope-headers-reversed", "asgi", "broken_asgi:headers_reversed", None,
     {"asgi-www.scope-headers": "fail: ASGI-SCOPE-05.b"}),
    ("scope-pseudo-header-kept", "asgi", "broken_asgi:pseudo_header_kept", None,
     {"asgi-www.scope-headers": "fail: ASGI-SCOPE-05.e"}),
    ("scope-obs-text-replaced", "asgi", "broken_asgi:obs_text_replaced", None,
     {"asgi-www.scope-headers": "fail: ASGI-SCOPE-05.g"}),
    ("scope-rejects-obs-text", "asgi", "broken_asgi:rejects_obs_text", None,
     {"asgi-www.scope-headers": "warn: ASGI-SCOPE-05.h"}),
    ("scope-server-as-string", "asgi", "broken_asgi:server_as_string", None,
     {"asgi-www.scope-client-and-server": "fail: ASGI-SCOPE-07.b"}),
    # Issue 13: one broken variant per clause, request events, responses and lifespan.
    # No http.request for a body-less request breaks the event's definition (ASGI-HTTP-01.a)
    # and the HTTP sequence "http.request and http.disconnect" (ASGI-HTTP-01.b).
    ("bodyless-disconnect", "asgi", "broken_asgi_events:bodyless_disconnect", None,
     {"asgi-www.request-body-events": "fail: ASGI-HTTP-01.a, ASGI-HTTP-01.b"}),
    # A last http.request that keeps more_body True, an http.disconnect after it: more_body
    # is judged on the http.request events, not on the disconnect (ASGI-HTTP-01.e).
    # The app's header bytes stripped and a repeated name cut to its last line.
    ("mangles-app-headers", "asgi", "broken_asgi:mangles_app_headers", None,
     {"asgi-www.app-transfer-encoding": "fail: ASGI-SCOPE-05.g, HTTP-16.g"}),
    ("never-final", "asgi", "broken_asgi_events:never_final", None,
     {"asgi-www.request-body-events": "fail: ASGI-HTTP-01.e",
      "asgi-www.generated-bodies": "fail: ASGI-HTTP-01.e"}),
    ("length-on-204", "asgi", "broken_asgi_events:length_on_204", None,
     {"asgi-www.no-body-responses": "fail: ASGI-HTTP-10.f"}),
    ("lifespan-type-bytes", "asgi", "broken_asgi_events:lifespan_type_bytes", None,
     {"asgi-lifespan.scope-keys": "fail: ASGI-LIFE-02.b"}),
    ("lifespan-type-capitalised", "asgi", "broken_asgi_events:lifespan_type_capitalised", None,
     {"asgi-lifespan.scope-keys": "fail: ASGI-LIFE-02.c"}),
    ("lifespan-version-float", "asgi", "broken_asgi_events:lifespan_version_float", None,
     {"asgi-lifespan.scope-keys": "fail: ASGI-LIFE-02.d"}),
    ("lifespan-asgi-not-a-dict", "asgi", "broken_asgi_events:lifespan_asgi_not_a_dict", None,
     {"asgi-lifespan.scope-keys": "fail: ASGI-LIFE-02.e"}),
    ("lifespan-state-subclass", "asgi", "broken_asgi_events:lifespan_state_subclass", None,
     {"asgi-lifespan.scope-keys": "fail: ASGI-LIFE-02.f"}),
    ("lifespan-spec-version-float", "asgi", "broken_asgi_events:lifespan_spec_version_float",
     None, {"asgi-lifespan.scope-keys": "fail: ASGI-LIFE-02.i"}),
    ("deep-copied-state", "asgi", "broken_asgi_events:deep_copied_state", None,
     {"asgi-lifespan.state": "fail: ASGI-SCOPE-08.b"}),
    ("fresh-request-state", "asgi", "broken_asgi_events:fresh_request_state", None,
     {"asgi-lifespan.state": "fail: ASGI-LIFE-08.c"}),
]
# Rows whose target needs a [proxy] section (the server's prefix option, uvicorn's here).
PROXY_SECTIONS = {"ignores-root-path": 'prefix_args = ["--root-path", "/app"]',
                  "bad-scope-extras": 'prefix_args = ["--root-path", "/app"]'}


@pytest.mark.parametrize("name,interface,app,command,expected",
                         BROKEN_STACKS, ids=[row[0] for row in BROKEN_STACKS])
def test_check_catches_broken_server(tmp_path: Path, name: str, interface: str, app: str,
                                     command: str | None, expected: dict[str, str]) -> None:
    check_broken_stack(tmp_path, name, interface, app, command, expected,
                       extra_toml=(f"[proxy]\n{PROXY_SECTIONS[name]}"
                                   if name in PROXY_SECTIONS else ""))


@pytest.mark.skipif(nginx_binary() is None, reason="nginx is not installed")
def test_streaming_held_through_nginx_is_reported(tmp_path: Path) -> None:
    """Through nginx a held block may be nginx's doing: the buffering server that fails
    asgi-www.streaming direct (test_broken_servers.py, asgi-buffered) is reported there,
    on "senders and recipients cannot rely on incremental delivery" (PROXY-02.d, INFO)."""
    target = broken_target(tmp_path, "buffered", "asgi", "broken_asgi:buffered")
    run = run_suite(tmp_path, f"--target={target}", "--via=nginx",
                    "--checks=asgi-www.streaming")
    assert run.verdict("asgi-www.streaming", "buffered", "nginx") == "info", run.output[-3000:]
    record = next(r for r in run.records if r["check"] == "asgi-www.streaming")
    assert record["findings"][0]["requirement"] == "PROXY-02.d"
    assert run.returncode == 0, run.output[-2000:]
