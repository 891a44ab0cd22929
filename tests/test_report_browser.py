"""The HTML matrix in a real browser (headless Chromium): the rows and columns match the
results, and a detail opens from its link."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from conformance.report.browser import INSTALL_HINT, chromium_binary, dump_dom
from conformance.report.html import render_html
from conformance.report.results import read_results
from tests.conftest import REPO
from tests.test_report import make_record

pytestmark = pytest.mark.skipif(chromium_binary() is None, reason=INSTALL_HINT)


def _open_details(dom: str) -> list[str]:
    return re.findall(r'class="detail open" id="([^"]+)"', dom)


def test_rows_columns_and_a_detail(tmp_path: Path) -> None:
    records = [
        make_record("asgi-www.scope-headers", "uvicorn-h11", "direct"),
        make_record("asgi-www.scope-headers", "uvicorn-h11", "nginx", "fail"),
        make_record("asgi-www.streaming", "daphne", "direct", "warn"),
        make_record("pep3333.fresh-dict", "wsgiref", "direct", "error"),
    ]
    page = tmp_path / "index.html"
    page.write_text(render_html(records))
    dom = dump_dom(page)
    assert len(re.findall(r'<tr class="check"', dom)) == 3  # three checks
    assert len(re.findall(r'<th class="col"', dom)) == 4  # four target x via columns
    assert _open_details(dom) == []  # nothing open until asked
    link = re.search(r'<a href="#(d-asgi-www-scope-headers-uvicorn-h11-nginx)">', dom)
    assert link, "the failing cell links to its detail"
    opened = dump_dom(page, link.group(1))
    assert _open_details(opened) == [link.group(1)]
    detail = opened.split(f'id="{link.group(1)}"', 1)[1].split("</section>", 1)[0]
    assert "asgi-www.scope-headers went fail" in detail and "HTTP/1.1 400 Bad Request" in detail


def test_published_matrix_matches_its_results(tmp_path: Path) -> None:
    results = sorted((REPO / "reports" / "results").glob("*.json"))
    assert results, "reports/results is empty: run make matrix"
    records = read_results(results)
    page = tmp_path / "index.html"
    page.write_text(render_html(records))
    dom = dump_dom(page)
    assert len(re.findall(r'<tr class="check"', dom)) == len({r["check"] for r in records})
    assert len(re.findall(r'<th class="col"', dom)) == len({(r["target"], r["via"])
                                                             for r in records})
    assert len(re.findall(r'<section class="detail', dom)) == sum(
        r["verdict"] != "pass" for r in records)


SCRIPT = "<script>document.title='pwned'</script>"
IMG = "\"><img src=x onerror=document.title='pwned'>"


def _hostile_record() -> dict[str, Any]:
    """A fail whose server-supplied text tries to run script, in every field the detail shows."""
    record = make_record("asgi-www.scope-headers", "uvicorn-h11", "nginx", "fail",
                         message=f"got {SCRIPT}{IMG}",
                         details={"header": f"X-Evil: {SCRIPT}", "body": IMG})
    record["server"]["command"] = f"uvicorn {SCRIPT} --header '{IMG}'"
    evidence = record["evidence"]
    evidence["exchanges"][0]["received"] = (
        f"HTTP/1.1 200 OK\\r\\nX-Evil: {SCRIPT}{IMG}\\r\\n\\r\\n{SCRIPT}{IMG}")
    evidence["observed"] = [{"event": "header", "value": f"{SCRIPT}{IMG}"}]
    return record


def test_hostile_server_bytes_render_as_text(tmp_path: Path) -> None:
    """Bytes a server sent reach the page only as text: no markup of theirs is parsed."""
    benign = tmp_path / "benign.html"
    benign.write_text(render_html([make_record("asgi-www.scope-headers", "uvicorn-h11", "nginx",
                                               "fail")]))
    hostile = tmp_path / "hostile.html"
    hostile.write_text(render_html([_hostile_record()]))
    anchor = "d-asgi-www-scope-headers-uvicorn-h11-nginx"
    expected_scripts = len(re.findall(r"<script", dump_dom(benign, anchor)))
    dom = dump_dom(hostile, anchor)
    assert _open_details(dom) == [anchor], "the hostile detail is open, so its text is live"
    assert len(re.findall(r"<script", dom)) == expected_scripts
    assert "<img" not in dom
    title = re.search(r"<title>(.*?)</title>", dom)
    assert title and title.group(1) == "Gateway conformance matrix"
    detail = dom.split(f'id="{anchor}"', 1)[1].split("</section>", 1)[0]
    assert "&lt;script&gt;document.title='pwned'&lt;/script&gt;" in detail
    assert "\"&gt;&lt;img src=x onerror=document.title='pwned'&gt;" in detail
    assert "X-Evil: &lt;script&gt;" in detail
