"""The desync detector's judge, without a server: what it makes of an outcome (the bytes a
server answered and what the probe app journalled) for a case of invalid input.

Each case names, per thing a server may do, the sentence doing it breaks (RFC 9112 6.1, 6.3,
7.1, 9.6 and the others the checks quote); the judge must report exactly those things, each
on its sentence, and nothing where the RFC allows what the server did."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest

from conformance.desync import (
    MARKER_PATH,
    SMUGGLED_PATH,
    Case,
    Outcome,
    Parts,
    announces_close,
    judge,
)
from conformance.wire import escape_bytes, parse_responses

OK = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"
BAD = b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n"
BAD_CLOSE = b"HTTP/1.1 400 Bad Request\r\nConnection: close\r\nContent-Length: 0\r\n\r\n"
SENT = b"POST / HTTP/1.1\r\nHost: h\r\n\r\nGET /desync-marker HTTP/1.1\r\n\r\n"
REQUEST = {"event": "request"}


def build(parts: Parts) -> bytes:
    return SENT


# Every action judged, each on a sentence of its own, so a problem shows which rule it is.
ALL = Case("all", build, reject="R.reject", respond="R.respond", close="R.close",
           close_after_reject="R.after-reject", framing="R.framing",
           announced_close="R.announced")
# RFC 9112 6.1 CL.TE: chunked wins, so the smuggled request lies after the message's end.
CL_TE = Case("CL.TE", build, close="HTTP-02.b", close_after_reject="HTTP-02.b",
             framing="HTTP-02.c", smuggle_after_message=True,
             body_must_not_contain=SMUGGLED_PATH)
# A valid request (RFC 9110 5.6.1.2: an empty list element is ignored) that must be processed.
VALID = Case("valid", build, refuse="HTTP-03.f", framing="HTTP-03.f", body=b"hello")


def outcome(case: Case, received: bytes = b"", *, closed: bool = True,
            events: dict[str, list[dict[str, Any]]] | None = None,
            bodies_expected: tuple[bytes, ...] = ()) -> Outcome:
    """An outcome as run_case makes it: the answers parsed for the case's request, the marker
    and the smuggled request."""
    responses = parse_responses(received, [case.method, "GET", "GET"], eof=closed)
    return Outcome(case, SENT, received, responses, closed, False, events or {},
                   bodies_expected)


def refs(out: Outcome) -> list[str]:
    return [p.ref for p in judge(out)]


def wsgi(environ: dict[str, Any], body: bytes) -> dict[str, list[dict[str, Any]]]:
    return {"invalid": [{"event": "request", "environ": environ},
                        {"event": "body", "body": body, "readable": True}]}


def asgi(body: bytes, *, more_body: bool = False) -> dict[str, list[dict[str, Any]]]:
    return {"invalid": [REQUEST, {"event": "receive", "type": "http.request",
                                  "size": len(body), "more_body": more_body},
                        {"event": "body", "body": body}]}


# --- what the server answered --------------------------------------------------------------------


def test_a_rejection_that_closes_is_no_problem() -> None:
    """400, then the close: what each sentence asks of an invalid request."""
    assert judge(outcome(ALL, BAD_CLOSE, closed=True)) == []


@pytest.mark.parametrize("status", [200, 204, 299])
def test_serving_an_invalid_request_breaks_reject(status: int) -> None:
    """A 2xx answer means the request was served: the reject sentence, saying whether the app
    itself was called (it journalled the request) or only the server answered."""
    answer = b"HTTP/1.1 %d X\r\nContent-Length: 0\r\n\r\n" % status
    [problem] = judge(outcome(ALL, answer, events={"invalid": [REQUEST]}))
    assert problem.ref == "R.reject"
    assert problem.message.startswith(f"not rejected: the app was called and answered {status}; ")
    [problem] = judge(outcome(ALL, answer))
    assert problem.message.startswith(f"not rejected: answered {status}; ")


@pytest.mark.parametrize("status", [300, 302, 399])
def test_a_3xx_is_neither_served_nor_a_rejection(status: int) -> None:
    """Only 2xx is "served" and only 4xx/5xx "rejected": a 3xx breaks neither reject nor
    refuse."""
    answer = b"HTTP/1.1 %d X\r\nContent-Length: 0\r\n\r\n" % status
    assert judge(outcome(ALL, answer)) == []
    assert judge(outcome(VALID, answer)) == []


@pytest.mark.parametrize("status", [400, 413, 500, 501])
def test_rejecting_a_valid_request_breaks_refuse(status: int) -> None:
    """Any 4xx or 5xx to a request the RFC says must be processed is a refusal."""
    answer = b"HTTP/1.1 %d X\r\nContent-Length: 0\r\n\r\n" % status
    [problem] = judge(outcome(VALID, answer))
    assert (problem.ref, problem.message.split(";")[0]) == (
        "HTTP-03.f", f"rejected with {status}, though the request is valid")
    assert judge(outcome(VALID, OK)) == []


def test_411_to_a_chunked_request_is_no_refusal() -> None:
    """RFC 9112 6.3: "A server MAY reject a request that contains a message body but not a
    Content-Length by responding with 411 (Length Required).": a server that takes no chunked
    body answers the valid chunked cases so, and refuses nothing the RFC gives."""
    answer = b"HTTP/1.1 411 Length Required\r\nContent-Length: 0\r\n\r\n"
    assert judge(outcome(VALID, answer)) == []


def test_no_answer_breaks_respond() -> None:
    """Where the sentence names a response, a close without one, bytes that are no HTTP/1.x
    response, or neither answer nor close after the half-close, each break it."""
    [silent] = judge(outcome(ALL, b"", closed=True))
    assert silent.ref == "R.respond"
    assert silent.message.startswith("closed the connection without any response; sent '")
    [garbage] = judge(outcome(ALL, b"HTTP/2 400\r\n\r\n", closed=True))
    assert garbage.message.startswith("sent 14 bytes that are not an HTTP/1.x response (see the "
                                      "bytes), then closed the connection; ")
    [hung] = judge(outcome(ALL, b"", closed=False))
    assert hung.message.startswith("neither answered nor closed within 2 s (the client "
                                   "half-closed after 1 s); ")
    assert judge(outcome(CL_TE, b"", closed=True)) == []  # no respond sentence: not judged
    # What rests on no answer alone is no firm fact: left out for an outcome of short waits.
    assert silent.firm is None and hung.firm is None


def test_a_served_request_under_an_unparsed_status_line_says_it_was_served() -> None:
    """The app was called and the server wrapped its answer in a status line that echoes the
    request's invalid version (uWSGI): the request was served, and the message quotes the
    status line, on the same sentence; a fact of the bytes, not of the waits."""
    echoed = b"HTTP/1.1 extra 200 OK\r\nContent-Length: 5\r\n\r\necho\n"
    [served] = judge(outcome(ALL, echoed, closed=True, events={"invalid": [REQUEST]}))
    assert served.ref == "R.respond"
    assert served.message.startswith(
        "not rejected: the app was called, and the server sent its answer under the status "
        "line 'HTTP/1.1 extra 200 OK', which is not an HTTP/1.x status line, then closed the "
        "connection; sent '")
    assert served.firm == served.message
    # Left open: no close is claimed; a long status line is quoted up to 120 characters.
    long_line = b"HTTP/1.1 " + b"x" * 200 + b" 200 OK\r\n\r\n"
    [open_] = judge(outcome(ALL, long_line, closed=False, events={"invalid": [REQUEST]}))
    assert open_.message.startswith(
        "not rejected: the app was called, and the server sent its answer under the status "
        f"line 'HTTP/1.1 {'x' * 111}', which is not an HTTP/1.x status line; sent '")
    # A 1xx alone parses: that is no unparsed status line, whoever was called.
    [interim] = judge(outcome(ALL, b"HTTP/1.1 100 Continue\r\n\r\n", closed=True,
                              events={"invalid": [REQUEST]}))
    assert "not rejected" not in interim.message


def test_no_answer_names_the_waits_it_ran_with() -> None:
    """The message names the waits the outcome really ran with, and a close that came after
    the client's half-close says so."""
    base = outcome(ALL, b"", closed=False)
    short = Outcome(base.case, base.sent, b"", [], False, True, {}, (), False, 0.6, 0.3)
    [hung] = judge(short)
    assert hung.message.startswith("neither answered nor closed within 0.9 s (the client "
                                   "half-closed after 0.6 s); ")
    closed = Outcome(base.case, base.sent, b"", [], True, True, {}, (), False)
    [silent] = judge(closed)
    assert silent.message.startswith("closed the connection without any response, after the "
                                     "client had half-closed when no answer came within 1 s; ")


def test_answering_the_marker_after_serving_breaks_close() -> None:
    """After a request that must end the connection was served, the marker sent behind it was
    served as well (RFC 9112 9.6: a close must follow)."""
    out = outcome(ALL, OK + OK, events={"invalid": [REQUEST], "marker": [REQUEST]})
    assert refs(out) == ["R.reject", "R.close"]
    assert judge(out)[1].message.startswith(
        "served (200), then the connection stayed open and the marker request sent after it "
        "was served as a fresh request; ")
    assert refs(outcome(CL_TE, OK + OK, events={"marker": [REQUEST]})) == ["HTTP-02.b"]


def test_answering_the_marker_after_rejecting_breaks_close_after_reject() -> None:
    """400 without a close, then the marker answered: the connection outlived the rejection;
    the marker need not reach the app, a second response is enough."""
    [problem] = judge(outcome(ALL, BAD + OK))
    assert problem.ref == "R.after-reject"
    assert problem.message.startswith(
        "answered 400, then the connection stayed open and the bytes after it were parsed and "
        "answered (2 responses); ")
    assert judge(outcome(ALL, BAD, closed=False)) == []  # nothing after it: no judgement


def test_answering_after_announcing_close_breaks_announced_close() -> None:
    """RFC 9112 9.6: a server that sent "Connection: close" must close; answering the marker
    after it breaks that sentence, instead of close or close_after_reject."""
    for first in (BAD_CLOSE, b"HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 0\r\n\r\n"):
        problems = judge(outcome(ALL, first + OK, events={"marker": [REQUEST]}))
        assert "R.announced" in [p.ref for p in problems]
        assert not {"R.close", "R.after-reject"} & {p.ref for p in problems}
        [announced] = [p for p in problems if p.ref == "R.announced"]
        status = first.split(b" ")[1].decode()
        assert announced.message.startswith(f'answered {status} with "Connection: close", then '
                                            "the marker request sent after it was served")
    # Without the announced_close sentence, the same outcome breaks close_after_reject.
    no_announce = Case("x", build, close_after_reject="R.after-reject")
    assert refs(outcome(no_announce, BAD_CLOSE + OK)) == ["R.after-reject"]


@pytest.mark.parametrize(("fields", "announces"), [
    ([b"close"], True), ([b"Keep-Alive, CLOSE"], True), ([b"foo,close"], True),
    ([b"foo", b" close "], True), ([b"closed"], False), ([b"keep-alive"], False), ([], False),
])
def test_announces_close(fields: list[bytes], announces: bool) -> None:
    """RFC 9112 9.6: the "close" connection option, in any case, anywhere in the
    comma-separated list of any Connection field line."""
    head = b"".join(b"Connection: " + f + b"\r\n" for f in fields)
    [response] = parse_responses(b"HTTP/1.1 200 OK\r\n" + head + b"Content-Length: 0\r\n\r\n",
                                 ["GET"], eof=False)
    assert announces_close(response) is announces


# --- how the bytes were framed -------------------------------------------------------------------


def test_smuggled_request_served_breaks_framing() -> None:
    """Bytes sent inside the request's body were served as a request: a desync."""
    [problem] = judge(outcome(ALL, BAD_CLOSE, events={"smuggled": [REQUEST]}))
    assert problem.ref == "R.framing"
    assert problem.message.startswith(f"the app served GET {SMUGGLED_PATH.decode()}, which was "
                                      "sent as bytes inside the request's body; ")


def test_smuggled_request_after_the_message_breaks_close() -> None:
    """CL.TE: chunked ends the message before the smuggled request, so serving it shows the
    connection kept open after a request that must close it, not a desync."""
    [problem] = judge(outcome(CL_TE, BAD_CLOSE, events={"smuggled": [REQUEST]}))
    assert problem.ref == "HTTP-02.b"
    assert problem.message.startswith("the connection stayed open after the request and the "
                                      "bytes after its chunked body")


def test_marker_read_as_body_breaks_framing() -> None:
    """The marker request sent after the invalid one reached the app as body bytes: the
    server framed the body wrongly. Where a legal parse takes the marker as body too (a huge
    chunk size: swallow_ok), it is no problem; nor where no framing sentence applies."""
    body = b"0\r\n\r\nGET " + MARKER_PATH + b" HTTP/1.1\r\n"
    events = {"invalid": [REQUEST, {"event": "body", "body": body}]}
    [problem] = judge(outcome(ALL, BAD_CLOSE, events=events))
    assert problem.ref == "R.framing"
    assert problem.message.startswith("the marker request sent after it was read as part of its "
                                      f"body (the app saw body {body!r})")
    swallow = Case("huge chunk", build, framing="R.framing", swallow_ok=True)
    assert judge(outcome(swallow, BAD_CLOSE, events=events)) == []
    assert judge(outcome(Case("no framing rule", build), BAD_CLOSE, events=events)) == []


def test_excluded_bytes_in_the_body_break_framing() -> None:
    """CL.TE: the bytes after the chunked body are no body; an app that read them as body was
    handed a body framed by Content-Length, the header Transfer-Encoding overrides."""
    body = b"0\r\n\r\nGET " + SMUGGLED_PATH + b" HTTP/1.1\r\n"
    events = {"invalid": [REQUEST, {"event": "body", "body": body}]}
    [problem] = judge(outcome(CL_TE, OK, events=events))
    assert problem.ref == "HTTP-02.c"
    assert problem.message.startswith("the app saw body bytes that the RFC's framing excludes")
    assert judge(outcome(CL_TE, OK, events={"invalid": [REQUEST, {"event": "body",
                                                                   "body": b""}]})) == []


# --- the body the app read -----------------------------------------------------------------------


def test_the_body_the_framing_gives_is_no_problem() -> None:
    """WSGI with a CONTENT_LENGTH of the body's length, or ASGI told the body is complete:
    reading exactly that body (one of them, where several are permitted) passes."""
    assert judge(outcome(VALID, OK, events=wsgi({"CONTENT_LENGTH": "5"}, b"hello"),
                         bodies_expected=(b"hello",))) == []
    assert judge(outcome(VALID, OK, events=asgi(b"hi"),
                         bodies_expected=(b"hello", b"hi"))) == []


def test_another_body_breaks_framing() -> None:
    """The app read another body than the framing gives: WSGI by its CONTENT_LENGTH or under
    wsgi.input_terminated, ASGI once receive() said the body was complete."""
    for events in (wsgi({"CONTENT_LENGTH": "5"}, b"hellx"),
                   wsgi({"wsgi.input_terminated": True}, b"hellx"), asgi(b"hellx")):
        [problem] = judge(outcome(VALID, OK, events=events, bodies_expected=(b"hello",)))
        assert problem.ref == "HTTP-03.f"
        assert problem.message.startswith("the app read the body b'hellx', not b'hello', which "
                                          "the framing gives; ")


def test_a_body_cut_short_breaks_cut_short() -> None:
    """A server that took an invalid element inside the body for its end handed the app what
    came before it as the whole body: the case's cut_short sentence, not framing. Without one,
    it is framing's."""
    cut = Case("bad chunk", build, framing="HTTP-01.a", cut_short="HTTP-01.d")
    events = wsgi({"wsgi.input_terminated": True}, b"hel")
    [problem] = judge(outcome(cut, OK, events=events, bodies_expected=(b"hello",)))
    assert problem.ref == "HTTP-01.d"
    assert problem.message.startswith("the app was handed the body cut short, b'hel' of "
                                      "b'hello', as complete")
    assert refs(outcome(VALID, OK, events=events, bodies_expected=(b"hello",))) == ["HTTP-03.f"]
    # Longer, or not a prefix: not cut short but wrong.
    for read in (b"hellooo", b"xel"):
        events = wsgi({"wsgi.input_terminated": True}, read)
        assert refs(outcome(cut, OK, events=events, bodies_expected=(b"hello",))) == [
            "HTTP-01.a"]


TOLD = replace(VALID, told_length="HTTP-02.a")


@pytest.mark.parametrize("length", ["6", " 6", "0"])
def test_wsgi_told_another_content_length_is_reported_on_its_permission(length: str) -> None:
    """A WSGI app reading the right body but told a CONTENT_LENGTH other than its length: the
    framing was right and PEP 3333 hands on "The contents of any Content-Length fields", so
    it is reported on the case's told_length sentence (an INFO permission), never framing."""
    [problem] = judge(outcome(TOLD, OK, events=wsgi({"CONTENT_LENGTH": length}, b"hello"),
                              bodies_expected=(b"hello",)))
    assert problem.ref == "HTTP-02.a"
    assert problem.message.startswith(f"the app was told CONTENT_LENGTH {length!r}, but the body "
                                      "the framing gives is b'hello' (5 bytes)")


@pytest.mark.parametrize("environ", [{}, {"CONTENT_LENGTH": ""}])
def test_wsgi_body_without_a_defined_length_is_not_judged(environ: dict[str, Any]) -> None:
    """Without a CONTENT_LENGTH and without wsgi.input_terminated a WSGI app has no defined way
    to read the body (PEP 3333): what it read is not judged here."""
    assert judge(outcome(VALID, OK, events=wsgi(environ, b"other"),
                         bodies_expected=(b"hello",))) == []


@pytest.mark.parametrize("length", ["5x", "\u0665"])
def test_wsgi_content_length_not_of_ascii_digits(length: str) -> None:
    """A CONTENT_LENGTH that is not ASCII digits (the probe reads as strictly as RFC 9110 8.6
    writes it: 1*DIGIT) is a wrong length, and gives the app no defined way to read the body,
    so what it read is not judged."""
    [problem] = judge(outcome(TOLD, OK, events=wsgi({"CONTENT_LENGTH": length}, b"other"),
                              bodies_expected=(b"hello",)))
    assert problem.message.startswith(f"the app was told CONTENT_LENGTH {length!r}")
    assert "; and " not in problem.message


def test_a_told_length_without_its_sentence_is_not_reported() -> None:
    assert judge(outcome(VALID, OK, events=wsgi({"CONTENT_LENGTH": "6"}, b"hello"),
                         bodies_expected=(b"hello",))) == []


def test_asgi_body_not_yet_complete_is_not_judged() -> None:
    """An ASGI app whose receive() never said the body was complete (more_body True, or a
    disconnect) read no whole body: not judged."""
    assert judge(outcome(VALID, OK, events=asgi(b"hel", more_body=True),
                         bodies_expected=(b"hello",))) == []
    disconnect = {"invalid": [REQUEST, {"event": "receive", "type": "http.disconnect"},
                              {"event": "body", "body": b""}]}
    assert judge(outcome(VALID, OK, events=disconnect, bodies_expected=(b"hello",))) == []


def test_a_wrong_body_already_reported_is_reported_once() -> None:
    """A body that holds the marker is a framing problem already: not reported again as the
    wrong body."""
    body = b"GET " + MARKER_PATH
    events = wsgi({"wsgi.input_terminated": True}, body)
    [problem] = judge(outcome(VALID, OK, events=events, bodies_expected=(b"hello",)))
    assert problem.message.startswith("the marker request sent after it was read as part of")
    assert "; and " not in problem.message


def test_no_body_read_or_none_expected_is_not_judged() -> None:
    """No body event (the app was not called), or no body named by the case: not judged."""
    environ_only = {"invalid": [{"event": "request", "environ": {"CONTENT_LENGTH": "5"}}]}
    assert judge(outcome(VALID, OK, events=environ_only, bodies_expected=(b"hello",))) == []
    assert judge(outcome(VALID, OK, events=wsgi({"CONTENT_LENGTH": "5"}, b"other"))) == []


def test_case_bodies() -> None:
    """A case names its body as bytes, several permitted bodies, or built from its parts."""
    parts = Parts(host=b"h", base=b"Host: h\r\n", smuggle=b"GET /s HTTP/1.1\r\n\r\n")
    assert Case("a", build).bodies(parts) == ()
    assert Case("b", build, body=b"x").bodies(parts) == (b"x",)
    assert Case("c", build, body=(b"x", b"y")).bodies(parts) == (b"x", b"y")
    assert Case("d", build, body=lambda p: p.smuggle).bodies(parts) == (parts.smuggle,)


# --- one problem per sentence, with the bytes as evidence ----------------------------------------


def test_facts_on_one_sentence_make_one_problem() -> None:
    """Problems on the same sentence merge into one, their facts in order joined by "; and ",
    followed by the bytes sent and received and how the connection ended."""
    same = Case("same", build, reject="S", close="S", framing="F")
    out = outcome(same, OK + OK, closed=False,
                  events={"invalid": [REQUEST], "marker": [REQUEST], "smuggled": [REQUEST]})
    problems = judge(out)
    assert [p.ref for p in problems] == ["F", "S"]
    assert problems[1].message == (
        "not rejected: the app was called and answered 200; and served (200), then the "
        "connection stayed open and the marker request sent after it was served as a fresh "
        f"request; sent '{escape_bytes(SENT)}'; received '{escape_bytes(OK + OK)}' (the "
        "connection was left open)")


def test_evidence_is_cut_to_a_readable_length() -> None:
    """The bytes quoted in a problem are escaped and cut (400 sent, 300 received)."""
    sent = b"A" * 500
    out = Outcome(ALL, sent, b"B" * 500, [], True, False)
    assert out.describe() == f"sent '{'A' * 400}'; received '{'B' * 300}' (the server closed)"


def test_journal_lookups() -> None:
    """saw(): an event of that name for that request; bodies(): each body event's bytes (b"" if
    the probe journalled none)."""
    out = outcome(ALL, events={"invalid": [REQUEST, {"event": "body"},
                                           {"event": "body", "body": b"x"}]})
    assert out.saw("invalid") and not out.saw("marker") and not out.saw("invalid", "receive")
    assert out.saw("invalid", "body")
    assert out.bodies("invalid") == [b"", b"x"] and out.bodies("smuggled") == []


def test_the_body_is_judged_only_when_the_app_was_called() -> None:
    """The server answered 400 itself: the app journalled nothing (Outcome's events empty), so
    no body is judged; only the refusal of a valid request is reported."""
    for events in ({}, {"invalid": []}):
        assert refs(outcome(VALID, BAD, events=events, bodies_expected=(b"hello",))) == [
            "HTTP-03.f"]
        assert judge(outcome(VALID, BAD, events=events, bodies_expected=(b"hello",)))[
            0].message.startswith("rejected with 400")


def test_a_wrong_body_names_every_permitted_body() -> None:
    """Where several bodies are permitted (the coding applied or not), the problem names them
    all; a body cut short names the ones it falls short of, and why that breaks the rule."""
    events = wsgi({"CONTENT_LENGTH": "1"}, b"x")
    [problem] = judge(outcome(VALID, OK, events=events, bodies_expected=(b"hello", b"hi")))
    assert problem.message.startswith("the app read the body b'x', not b'hello' or b'hi', which "
                                      "the framing gives; ")
    cut = Case("bad chunk", build, framing="HTTP-01.a", cut_short="HTTP-01.d")
    [problem] = judge(outcome(cut, OK, events=wsgi({"wsgi.input_terminated": True}, b"h"),
                              bodies_expected=(b"hello", b"hi")))
    assert problem.message.startswith(
        "the app was handed the body cut short, b'h' of b'hello' or b'hi', as complete: the "
        "invalid element was neither answered with 400 nor replaced; ")


def test_excluded_bytes_in_a_judged_body_are_reported_once() -> None:
    """CL.TE with the body chunked framing gives (b""): an app that read the smuggled request
    as body has one framing problem, the excluded bytes, not a second for the same body."""
    cl_te = replace(CL_TE, body=b"")
    body = b"0\r\n\r\nGET " + SMUGGLED_PATH + b" HTTP/1.1\r\n"
    events = wsgi({"wsgi.input_terminated": True}, body)
    [problem] = judge(outcome(cl_te, OK, events=events, bodies_expected=(b"",)))
    assert problem.ref == "HTTP-02.c" and "; and " not in problem.message


def test_answering_the_marker_after_serving_is_not_a_rejections_close() -> None:
    """close_after_reject judges the connection after a rejection only: a served request whose
    marker was answered breaks close (here not named), never close_after_reject."""
    name_rules = Case("bad field name", build, reject="HTTP-06.e", respond="HTTP-06.e",
                      close_after_reject="HTTP-06.f")
    out = outcome(name_rules, OK + OK, events={"invalid": [REQUEST], "marker": [REQUEST]})
    assert refs(out) == ["HTTP-06.e"]


def test_a_stale_content_length_the_app_obeyed_rests_on_told_length() -> None:
    """The server told the app a CONTENT_LENGTH shorter than the body the framing gives, and
    the app read exactly that many bytes, as PEP 3333 asks ("should not attempt to read more
    data than is specified by the CONTENT_LENGTH variable"): only the length told is reported,
    on told_length. Without a told_length sentence the short body is framing's problem."""
    events = wsgi({"CONTENT_LENGTH": "3"}, b"hel")
    [problem] = judge(outcome(TOLD, OK, events=events, bodies_expected=(b"hello",)))
    assert problem.ref == "HTTP-02.a"
    assert problem.message.startswith("the app was told CONTENT_LENGTH '3'")
    assert "; and " not in problem.message
    assert refs(outcome(VALID, OK, events=events, bodies_expected=(b"hello",))) == ["HTTP-03.f"]


def test_a_right_or_absent_content_length_is_not_told_length_s_problem() -> None:
    """The CONTENT_LENGTH of the body the framing gives, or none at all (a chunked request read
    to EOF under wsgi.input_terminated), is nothing to report."""
    for environ in ({"CONTENT_LENGTH": "5"}, {"wsgi.input_terminated": True}):
        assert judge(outcome(TOLD, OK, events=wsgi(environ, b"hello"),
                             bodies_expected=(b"hello",))) == []


def test_only_the_marker_answered_is_told_apart() -> None:
    """A server that answers only the last request of one read (bjoern) served the marker
    alone: run_case sends the case again with the marker in a second write. Any other
    outcome (the case's request seen, a smuggled one served, two answers) is judged as is."""
    from conformance.desync import _only_marker_answered

    seen = [{"event": "request"}]
    one = OK
    assert _only_marker_answered(outcome(VALID, one, events={"marker": seen}))
    assert not _only_marker_answered(outcome(VALID, one, events={"marker": seen,
                                                                 "invalid": seen}))
    assert not _only_marker_answered(outcome(VALID, one, events={"marker": seen,
                                                                 "smuggled": seen}))
    assert not _only_marker_answered(outcome(VALID, one + one, events={"marker": seen}))
    assert not _only_marker_answered(outcome(VALID, one, events={}))
    described = replace(outcome(VALID, one, events={"marker": seen}), sequential=True)
    # The whole sentence, as a finding's message carries it between the sent and received.
    assert (" (sent again with the marker in a second write after the first answer: in one "
            "write the server answered only the marker and the app never saw the request); "
            "received '") in described.describe()
    assert "second write" not in outcome(VALID, one).describe()


def test_a_generated_cl_te_mutation_files_framing_and_close_apart() -> None:
    """rfc9112.generated-invalid-framing, a Content-Length with Transfer-Encoding added: the
    marker read as body is a framing that 6.3's "the Transfer-Encoding overrides the
    Content-Length" excludes (HTTP-02.c), whether or not the server then closed (pyruvate:
    200 and close); the marker answered on the same connection breaks 6.1's close (HTTP-02.b).
    A Content-Length-only mutation keeps its own sentence."""
    from conformance.checks.rfc9112.s6_3_message_body_length import FramingMutation, _case

    te = _case(FramingMutation((), b" {n}", (b"Transfer-Encoding: chunked",)))
    body = b"GET " + SMUGGLED_PATH + b" HTTP/1.1\r\n\r\nGET " + MARKER_PATH + b" HTTP/1.1\r\n"
    read_marker = {"invalid": [REQUEST, {"event": "body", "body": body}]}
    assert refs(outcome(te, OK, closed=True, events=read_marker)) == ["HTTP-02.c"]
    assert refs(outcome(te, OK + OK, closed=False, events={"invalid": [REQUEST],
                                                           "marker": [REQUEST]})) == ["HTTP-02.b"]
    assert refs(outcome(te, BAD + OK, closed=False, events={"marker": [REQUEST]})) == [
        "HTTP-02.b"]
    duplicate = _case(FramingMutation((), b" {n}", (b"Content-Length: 0",)))
    assert refs(outcome(duplicate, OK, events=read_marker)) == ["HTTP-16.b"]


def test_an_http10_server_is_judged_without_the_http11_recipient_sentences() -> None:
    """checks/support/http10_servers.for_http10_server: what breaks an HTTP/1.1 recipient's
    sentence moves to the hardening sentence, a refusal or no answer is the server's own
    choice, and the decoded body is no longer expected; other sentences stay."""
    from conformance.checks.support.http10_servers import for_http10_server

    te = Case("te", build, reject="HTTP-03.a", respond="HTTP-03.a", close="HTTP-03.a",
              close_after_reject="HTTP-03.a", framing="HTTP-03.a", refuse="HTTP-03.f",
              announced_close="HTTP-18.d", body=b"hello")
    moved = for_http10_server(te, frozenset({"HTTP-03.a", "HTTP-03.f"}), "HTTP-03.h")
    assert (moved.reject, moved.close, moved.close_after_reject, moved.framing) == (
        "HTTP-03.h",) * 4
    assert (moved.respond, moved.refuse, moved.body) == (None, None, None)
    assert moved.announced_close == "HTTP-18.d"
    # A case none of whose sentences is an HTTP/1.1 recipient's is left as it is.
    http10_te = Case("1.0", build, close="HTTP-03.g", body=b"x")
    assert for_http10_server(http10_te, frozenset({"HTTP-03.a"}), "HTTP-03.h") is http10_te
    # Served on an HTTP/1.0 server: hardening, not the MUST.
    assert refs(outcome(moved, OK, events={"invalid": [REQUEST]})) == ["HTTP-03.h"]
