"""The HTML matrix in a real browser (headless Chromium): the rows and columns match the
results, and a detail opens from its link."""

from __future__ import annotations

import re
from pathlib import Path

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
        make_record("asgi-scope.headers", "uvicorn-h11", "direct"),
        make_record("asgi-scope.headers", "uvicorn-h11", "nginx", "fail"),
        make_record("asgi-http.streaming", "daphne", "direct", "warn"),
        make_record("wsgi-environ.fresh-dict", "wsgiref", "direct", "error"),
    ]
    page = tmp_path / "index.html"
    page.write_text(render_html(records))
    dom = dump_dom(page)
    assert len(re.findall(r'<tr class="check"', dom)) == 3  # three checks
    assert len(re.findall(r'<th class="col"', dom)) == 4  # four target x via columns
    assert _open_details(dom) == []  # nothing open until asked
    link = re.search(r'<a href="#(d-asgi-scope-headers-uvicorn-h11-nginx)">', dom)
    assert link, "the failing cell links to its detail"
    opened = dump_dom(page, link.group(1))
    assert _open_details(opened) == [link.group(1)]
    detail = opened.split(f'id="{link.group(1)}"', 1)[1].split("</section>", 1)[0]
    assert "asgi-scope.headers went fail" in detail and "HTTP/1.1 400 Bad Request" in detail


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
