"""The report page in a real browser: Debian's Chromium, headless, driven by Playwright.

On a generated 1,000-window x 20-column report (the size the page's budget is stated
for): it draws with no console error and no request beyond its own file, the strip and
the charts are in the DOM, clicking a window in the strip redraws the histograms for
that window, and it fits 1280 px. A screenshot is kept under `.cache/artifacts/`.
Playwright is pointed at the system browser (`executable_path`): nothing is downloaded.
With CI=true a browser that cannot start fails the test (`require_component`).
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from driftwarden.baselines.artifact import encode_artifact
from driftwarden.monitor.cli import main
from tests.monitor.factories import make_baseline
from tests.support.components import require_binary, require_component
from tests.support.generated_report import generated_report

ARTIFACTS = Path(__file__).resolve().parents[3] / ".cache" / "artifacts"
PAGE_BUDGET_BYTES = 2_000_000


@pytest.fixture(scope="module")
def page_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("page")
    report = generated_report(folder / "report.json", windows=1_000)
    page = folder / "report.html"
    assert main(["report", str(report), "--html", str(page)]) == 0
    return page


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    executable = require_binary("chromium", "install it: apt-get install chromium")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError as exc:
        require_component("playwright", exc)
    with sync_playwright() as playwright:
        try:
            # Root (containers, CI) cannot use Chromium's sandbox.
            args = ["--no-sandbox"] if os.geteuid() == 0 else []
            browser = playwright.chromium.launch(executable_path=executable, args=args)
        except Exception as exc:  # any launch failure means "no browser"
            require_component("chromium", exc)
        yield browser
        browser.close()


class Opened:
    """A page opened from disk, with every console error and request it made."""

    def __init__(self, browser: Any, path: Path) -> None:
        self.errors: list[str] = []
        self.requests: list[str] = []
        self.page = browser.new_page(viewport={"width": 1280, "height": 900})
        self.page.on("console", lambda m: self.errors.append(m.text) if m.type == "error" else None)
        self.page.on("pageerror", lambda e: self.errors.append(str(e)))
        self.page.on("request", lambda r: self.requests.append(r.url))
        self.page.goto(path.as_uri())
        self.page.wait_for_selector("body[data-ready]", timeout=30_000)

    def histogram(self, column: str) -> list[str]:
        """The heights of the column's current-window bars."""
        return list(
            self.page.eval_on_selector_all(
                f"#col-{column} svg.hist rect.cur", "rs => rs.map(r => r.getAttribute('height'))"
            )
        )


@pytest.fixture
def opened(browser: Any, page_file: Path) -> Iterator[Opened]:
    view = Opened(browser, page_file)
    yield view
    view.page.close()


def test_page_of_1000_windows_by_20_columns_fits_the_size_budget(page_file: Path) -> None:
    assert page_file.stat().st_size <= PAGE_BUDGET_BYTES


def test_page_draws_from_disk_without_console_errors_or_network(
    opened: Opened, page_file: Path
) -> None:
    assert opened.errors == []
    assert opened.requests == [page_file.as_uri()]
    assert opened.page.locator("canvas.strip").count() == 1
    assert opened.page.locator("svg.hist").count() == 20
    assert opened.page.locator("svg.time").count() == 60  # effect, p-value, quality per column
    assert opened.page.locator(".performance .placeholder").count() == 1
    assert opened.page.locator("#col-score svg.hist, #col-label svg.hist").count() == 2  # outputs
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    shot = ARTIFACTS / "page-1000x20.png"
    opened.page.screenshot(path=str(shot), full_page=False)
    print(f"screenshot: {shot}")
    assert shot.stat().st_size > 10_000


def test_clicking_a_window_in_the_strip_redraws_its_histograms(opened: Opened) -> None:
    page = opened.page
    before = opened.histogram("f00")
    picked_before = page.inner_text(".picked-head")
    box = page.locator("canvas.strip").bounding_box()
    assert box is not None
    label_width, windows = 150, 1_000
    cell = (box["width"] - label_width) / windows
    # Window 100: before the drift (the page opens on the first critical window, 600).
    # A cell is about one pixel wide, so the click may land one window either side.
    page.mouse.click(box["x"] + label_width + cell * 100.5, box["y"] + 30)
    picked = re.match(r"Window (\d+) of 1000", page.inner_text(".picked-head"))
    assert picked is not None
    assert int(picked.group(1)) in {100, 101, 102}
    assert page.inner_text(".picked-head") != picked_before
    assert opened.histogram("f00") != before
    assert opened.errors == []


def test_page_fits_1280_pixels_and_names_tiers_in_words(opened: Opened) -> None:
    """Readable without colour: every tier badge carries its word."""
    page = opened.page
    assert page.evaluate("document.documentElement.scrollWidth") <= 1280
    words = set(page.eval_on_selector_all(".tier", "bs => bs.map(b => b.textContent)"))
    assert {"NONE", "INFO", "WARNING", "CRITICAL"} <= words


def test_performance_over_time_is_drawn_when_windows_carry_it(browser: Any, tmp_path: Path) -> None:
    """Issue 14's `windows[].performance`: realised and estimated metrics over time."""
    report = json.loads(generated_report(tmp_path / "r.json", windows=40, drift_at=20).read_text())
    for i, window in enumerate(report["windows"]):
        window["performance"] = {
            "realised": {"auc": 0.8 - 0.005 * i},
            "estimated": {"auc": 0.79},
            "tier": "warning" if i >= 30 else "none",
            "findings": ["auc fell below 0.7"] if i >= 30 else [],
        }
    source, page = tmp_path / "perf.json", tmp_path / "perf.html"
    source.write_text(json.dumps(report))
    assert main(["report", str(source), "--html", str(page)]) == 0
    view = Opened(browser, page)
    try:
        assert view.errors == []
        assert view.page.locator(".performance .placeholder").count() == 0
        assert view.page.locator(".performance svg.time").count() == 1  # one metric: auc
        assert "this window" in view.page.inner_text(".performance .stats")
    finally:
        view.page.close()


def test_a_replay_that_closed_no_window_still_draws_a_page_that_says_so(
    browser: Any, tmp_path: Path
) -> None:
    baseline = tmp_path / "m.baseline.json"
    baseline.write_bytes(encode_artifact(make_baseline()))
    empty = tmp_path / "empty.jsonl"
    empty.write_text("")
    page = tmp_path / "empty.html"
    assert (
        main(["replay", "--baseline", str(baseline), "--html", str(page), "--quiet", str(empty)])
        == 0
    )
    view = Opened(browser, page)
    try:
        assert view.errors == []
        assert "No window of this model closed" in view.page.inner_text("main")
    finally:
        view.page.close()
