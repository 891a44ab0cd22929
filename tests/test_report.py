"""The Markdown matrix and the ``conformance`` command, on small hand-made records."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from conformance.cli import main
from conformance.report.html import render_html
from conformance.report.markdown import render_markdown, render_markdown_pages
from conformance.report.results import read_unavailable, write_results

SENT = "GET /probe/echo HTTP/1.1\\r\\nHost: 127.0.0.1:8000\\r\\nX-Probe-Id: abc\\r\\n\\r\\n"
REPRODUCER = "printf 'GET /probe/echo HTTP/1.1\\r\\n\\r\\n' | nc -q 3 127.0.0.1 8000"


FINDING_LEVEL = {"fail": "MUST", "warn": "SHOULD", "info": "INFO", "hardening": "HARDENING"}


def make_record(check: str, target: str, via: str, verdict: str = "pass",
                **overrides: Any) -> dict[str, Any]:
    """One results record shaped as Harness.record() makes them."""
    interface = "wsgi" if target.startswith(("wsgiref", "gunicorn", "waitress")) else "asgi"
    record: dict[str, Any] = {
        "check": check,
        "title": f"title of {check}",
        "area": check.split(".", 1)[0],
        "requirements": ["REQ-01"],
        "level": "MUST",
        "section": "asgi-www.rst 'HTTP Connection Scope'",
        "target": target,
        "interface": interface,
        "via": via,
        "verdict": verdict,
        "message": "" if verdict == "pass" else f"{check} went {verdict}",
        "findings": [{"requirement": "REQ-01", "level": level, "verdict": verdict, "case": "",
                      "message": f"{check} went {verdict}"}
                     for level in [FINDING_LEVEL.get(verdict)] if level],
        "server": {"name": target, "version": "1.2.3", "command": f"{target} --port 8000 app"},
        "nginx_version": "1.22.1" if via == "nginx" else None,
        "python_version": "3.11.7",
        "suite_version": "0.1.0",
        "duration": 0.01,
        "details": {},
        "evidence": {},
    }
    if verdict != "pass":
        record["evidence"] = {
            "exchanges": [{"to": "127.0.0.1:8000", "sent": SENT,
                           "received": "HTTP/1.1 400 Bad Request\\r\\n\\r\\n",
                           "truncated": False, "server_closed": True}],
            "observed": [{"event": "request", "rid": "abc", "scope": {"path": "/probe/echo"}}],
            "reproducer": REPRODUCER,
        }
    record.update(overrides)
    return record


def sample() -> list[dict[str, Any]]:
    return [
        make_record("asgi-www.scope-headers", "uvicorn-h11", "direct"),
        make_record("asgi-www.scope-headers", "uvicorn-h11", "nginx", "fail"),
        make_record("asgi-www.scope-query-string", "uvicorn-h11", "direct", "warn"),
        make_record("asgi-www.scope-query-string", "uvicorn-h11", "nginx"),
        make_record("asgi-www.streaming", "uvicorn-h11", "direct"),
        make_record("pep3333.required-keys", "wsgiref", "direct", "error",
                    evidence={"log_tail": "Traceback: boom\nOSError: address in use"}),
    ]


def table_rows(markdown: str, first_cell: str) -> list[list[str]]:
    """The cells of the table rows whose first cell is ``first_cell`` (pipes unescaped)."""
    rows = []
    for line in markdown.splitlines():
        if line.startswith("| "):
            cells = [c.strip() for c in re.split(r"(?<!\\)\|", line.strip())[1:-1]]
            if cells and cells[0] == first_cell:
                rows.append(cells)
    return rows


def section(markdown: str, heading: str) -> str:
    start = markdown.index(f"## {heading}\n")
    end = markdown.find("\n## ", start + 1)
    return markdown[start:] if end == -1 else markdown[start:end]


# -- render_markdown ------------------------------------------------------------------------
def test_summary_counts_each_verdict_per_target_and_via() -> None:
    summary = section(render_markdown(sample()), "Summary")
    header = table_rows(summary, "target")[0]
    uvicorn = table_rows(summary, "uvicorn-h11")
    by_via = {row[2]: dict(zip(header, row, strict=True)) for row in uvicorn}
    assert by_via["direct"]["✅ pass"] == "2"
    assert by_via["direct"]["⚠️ warn"] == "1"
    assert by_via["direct"]["❌ fail"] == "0"
    assert by_via["direct"]["total"] == "3"
    assert by_via["direct"]["nginx"] == "·"
    assert by_via["nginx"]["❌ fail"] == "1"
    assert by_via["nginx"]["✅ pass"] == "1"
    assert by_via["nginx"]["nginx"] == "1.22.1"
    assert by_via["nginx"]["server version"] == "1.2.3"
    (wsgiref,) = table_rows(summary, "wsgiref")
    assert dict(zip(header, wsgiref, strict=True))["💥 error"] == "1"


def test_summary_comes_before_the_matrix_and_details() -> None:
    markdown = render_markdown(sample())
    assert markdown.startswith("# ")
    assert markdown.index("## Summary") < markdown.index("## Matrix") < markdown.index(
        "## Details")


def test_matrix_groups_checks_by_area_with_target_via_columns() -> None:
    matrix = section(render_markdown(sample()), "Matrix")
    assert "### asgi-www" in matrix and "### pep3333" in matrix
    assert matrix.index("### asgi-www") < matrix.index("### pep3333")
    header = table_rows(matrix, "check")[0]
    assert header[3:] == ["uvicorn-h11<br>direct", "uvicorn-h11<br>nginx"]


def test_a_cell_without_a_record_is_not_applicable() -> None:
    matrix = section(render_markdown(sample()), "Matrix")
    (row,) = table_rows(matrix, "`asgi-www.streaming`")
    assert row[1:] == ["MUST", "REQ-01", "✅", "·"]


def test_a_fail_links_to_a_detail_with_sent_bytes_and_reproducer() -> None:
    markdown = render_markdown(sample())
    (row,) = table_rows(section(markdown, "Matrix"), "`asgi-www.scope-headers`")
    link = re.fullmatch(r"\[❌\]\(#([a-z0-9-]+)\)", row[4])
    assert link, row
    anchor = link.group(1)
    details = section(markdown, "Details")
    start = details.index(f'<a id="{anchor}"></a>')
    end = details.find("<a id=", start + 1)
    detail = details[start:end if end != -1 else None]
    assert "`asgi-www.scope-headers` on uvicorn-h11 via nginx" in detail
    assert "title of asgi-www.scope-headers" in detail
    assert "asgi-www.scope-headers went fail" in detail
    assert "REQ-01" in detail and "asgi-www.rst 'HTTP Connection Scope'" in detail
    assert "uvicorn-h11 --port 8000 app" in detail
    assert "```sh\n" + REPRODUCER + "\n```" in detail
    assert "GET /probe/echo HTTP/1.1\\r\\n\nHost: 127.0.0.1:8000\\r\\n\n" in detail
    assert "HTTP/1.1 400 Bad Request" in detail
    assert '"path": "/probe/echo"' in detail


def test_passes_have_no_detail_and_every_non_pass_has_one() -> None:
    markdown = render_markdown(sample())
    anchors = re.findall(r'<a id="([^"]+)"></a>', markdown)
    assert len(anchors) == 3 == len(set(anchors))
    for anchor in anchors:
        assert f"(#{anchor})" in section(markdown, "Matrix")
    assert "OSError: address in use" in section(markdown, "Details")


def test_output_is_deterministic_whatever_the_record_order() -> None:
    records = sample()
    first = render_markdown(records)
    assert render_markdown(list(reversed(records))) == first
    assert render_markdown(sample()) == first


def test_a_pipe_or_newline_in_a_message_does_not_break_the_table() -> None:
    record = make_record("asgi-www.scope-headers", "uvicorn-h11", "direct", "fail",
                         message="expected a|b\ngot c | d")
    markdown = render_markdown([record])
    (row,) = table_rows(markdown, "**message**")
    assert row == ["**message**", "expected a\\|b<br>got c \\| d"]
    assert "\ngot c" not in markdown


def test_long_bytes_are_truncated() -> None:
    record = make_record("asgi-www.scope-headers", "uvicorn-h11", "direct", "fail")
    record["evidence"]["exchanges"][0]["received"] = "x" * 50_000
    markdown = render_markdown([record])
    assert "x" * 2000 in markdown and "x" * 2001 not in markdown
    assert "48000 more characters not shown" in markdown


# -- render_html (its behaviour in a browser: test_report_browser.py) -----------------------
def test_html_escapes_what_servers_sent() -> None:
    payload = "<script>document.title='pwned'</script>\"><img src=x onerror=alert(1)>"
    record = make_record("asgi-www.scope-headers", "uvicorn-h11", "direct", "fail",
                         message=payload, details={"body": payload})
    record["server"]["command"] = f"uvicorn {payload}"
    record["evidence"]["exchanges"][0]["received"] = f"HTTP/1.1 200 OK\\r\\nX: {payload}"
    record["evidence"]["observed"] = [{"event": "header", "value": payload}]
    page = render_html([record])
    assert "<script>document.title" not in page and "<img" not in page
    assert page.count("&lt;script&gt;document.title") == 5


# -- the conformance command ---------------------------------------------------------------
def test_catalogue_json_lists_every_check_with_its_metadata(
        capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["catalogue", "--json"]) == 0
    entries = json.loads(capsys.readouterr().out)
    assert isinstance(entries, list) and entries
    keys = {"id", "title", "requirements", "level", "interfaces", "via", "section"}
    for entry in entries:
        assert keys <= entry.keys() <= keys | {"area", "module", "doc", "needs"}
        assert entry["doc"], f"{entry['id']} has no spec text"
    assert len({e["id"] for e in entries}) == len(entries)


def test_catalogue_table_ends_with_coverage(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["catalogue"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split()[:3] == ["ID", "LEVEL", "REQUIREMENTS"]
    match = re.fullmatch(r"(\d+) checks covering (\d+) requirement ids", lines[-1])
    assert match and int(match.group(1)) == len(lines) - 3


def test_report_with_a_missing_file_is_one_line_and_status_2(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    missing = tmp_path / "nope.json"
    out = tmp_path / "README.md"
    assert main(["report", str(missing), "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1
    assert str(missing) in err and "Traceback" not in err
    assert not out.exists()


@pytest.mark.parametrize("content", ["{not json", '{"schema_version": 1, "records": [{}]}',
                                     '{"schema_version": 9, "records": []}', "[]"])
def test_report_with_an_invalid_file_is_one_line_and_status_2(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], content: str) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text(content, encoding="utf-8")
    assert main(["report", str(bad), "--out", str(tmp_path / "README.md")]) == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and str(bad) in err


def test_report_without_results_says_so(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.chdir(tmp_path)
    assert main(["report"]) == 2
    assert "no results" in capsys.readouterr().err


def test_report_writes_the_matrix(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                  capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.chdir(tmp_path)
    write_results(tmp_path / "reports" / "results" / "uvicorn-h11.json", sample()[:5])
    write_results(tmp_path / "reports" / "results" / "wsgiref.json", sample()[5:])
    assert main(["report"]) == 0
    written = (tmp_path / "reports" / "README.md").read_text(encoding="utf-8")
    assert written == render_markdown_pages(sample())["README.md"]
    assert "wrote" in capsys.readouterr().out


def test_report_of_named_files_writes_to_out(tmp_path: Path) -> None:
    results = tmp_path / "run.json"
    write_results(results, sample())
    out = tmp_path / "site" / "matrix.md"
    assert main(["report", str(results), "--out", str(out)]) == 0
    assert out.read_text(encoding="utf-8") == render_markdown_pages(sample())["README.md"]


def test_pages_split_details_by_area_and_link_to_them() -> None:
    """The published form: README.md keeps summary and matrix; each area's details live in
    details/<area>.md, and a failing cell links into the right page and anchor."""
    pages = render_markdown_pages(sample())
    assert set(pages) == {"README.md", "details/asgi-www.md", "details/pep3333.md"}
    readme = pages["README.md"]
    assert "## Details" not in readme
    link = "(details/asgi-www.md#d-asgi-www-scope-headers-uvicorn-h11-nginx)"
    assert f"[❌]{link}" in readme
    detail = pages["details/asgi-www.md"]
    assert '<a id="d-asgi-www-scope-headers-uvicorn-h11-nginx"></a>' in detail
    assert "asgi-www.scope-headers went fail" in detail and REPRODUCER in detail
    assert "went fail" not in pages["details/pep3333.md"]
    assert "check source" in detail and "conformance/checks/asgi_www/" in detail


def test_unavailable_configurations_get_a_summary_row_with_the_reason(tmp_path: Path) -> None:
    """A configuration that did not run is one summary row (its reason, no counts) in the
    Markdown and one line in the HTML page; a file of a later run where it did run wins."""
    gone = {"target": "gunicorn-eventlet", "interface": "wsgi",
            "reason": "gunicorn 27 has no <eventlet> worker"}
    write_results(tmp_path / "a.json", sample(), [gone])
    write_results(tmp_path / "b.json", [], [{**gone, "target": "wsgiref"}])
    paths = [tmp_path / "a.json", tmp_path / "b.json"]
    assert read_unavailable(paths) == [gone]  # wsgiref has records: it ran
    summary = section(render_markdown(sample(), [gone]), "Summary")
    row = next(line for line in summary.splitlines() if "gunicorn-eventlet" in line)
    assert "| wsgi | not run | not run: gunicorn 27 has no &lt;eventlet&gt; worker |" in row
    assert row.endswith("| 0 |")
    page = render_html(sample(), [gone])
    assert ("<li><b>gunicorn-eventlet</b> (wsgi): not run: gunicorn 27 has no "
            "&lt;eventlet&gt; worker</li>") in page
    out = tmp_path / "site" / "README.md"
    assert main(["report", *map(str, paths), "--out", str(out)]) == 0
    assert "not run: gunicorn 27 has no" in out.read_text(encoding="utf-8")
