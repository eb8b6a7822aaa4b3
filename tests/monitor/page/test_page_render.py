"""The page file: self-contained, fetches nothing, deterministic, and its data round-trips."""

from __future__ import annotations

import base64
import gzip
import json
import re
from pathlib import Path
from typing import Any

import pytest

from driftwarden.monitor.page.data import PageData
from driftwarden.monitor.page.render import CSP, render_page, write_page
from tests.support.generated_report import generated_report


@pytest.fixture(scope="module")
def report(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    path = generated_report(tmp_path_factory.mktemp("r") / "report.json", windows=12, drift_at=6)
    loaded: dict[str, Any] = json.loads(path.read_text())
    return loaded


def _embedded(page: str) -> dict[str, Any]:
    match = re.search(r'id="report-data" type="application/octet-stream">([^<]*)<', page)
    assert match is not None
    data: dict[str, Any] = json.loads(gzip.decompress(base64.b64decode(match.group(1))))
    return data


def test_the_page_embeds_the_page_data_and_it_round_trips(report: dict[str, Any]) -> None:
    data = PageData(report).extend(report["windows"]).to_dict()
    assert _embedded(render_page(data)) == json.loads(json.dumps(data))


def test_the_page_loads_nothing_from_anywhere(report: dict[str, Any]) -> None:
    page = render_page(PageData(report).extend(report["windows"]).to_dict())
    assert "<link" not in page
    assert not re.search(r"<script[^>]+src=", page)
    assert not re.search(r"<img[^>]+src=", page)
    assert "@import" not in page
    assert not re.search(r"url\(\s*['\"]?(?!data:)", page)
    assert f'content="{CSP}"' in page
    assert "default-src 'none'" in CSP


def test_the_same_report_gives_the_same_file(tmp_path: Path, report: dict[str, Any]) -> None:
    a, b = tmp_path / "a.html", tmp_path / "b.html"
    write_page(a, report, report["windows"])
    write_page(b, report, report["windows"])
    assert a.read_bytes() == b.read_bytes()
    assert not list(tmp_path.glob(".*.tmp"))


def test_model_names_are_escaped_in_the_markup(report: dict[str, Any]) -> None:
    data = PageData(report).extend(report["windows"]).to_dict()
    data["models"][0]["model_id"] = "<b>m</b>"
    page = render_page(data)
    assert "<b>m</b>" not in page.split('id="report-data"')[0]
