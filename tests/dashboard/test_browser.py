"""The dashboard in a real browser: Debian's Chromium driven by Playwright's Python driver.

``driftwarden dashboard`` runs as a real process against the seeded API. The test opens every
page, waits for its charts to be drawn, saves a screenshot of each (under pytest's temporary
folder, or ``DRIFTWARDEN_SCREENSHOTS`` when set), enters the admin key in the sidebar, presses
the retrain button and sees the new run in the page and in the API.

Chromium is the machine's (``/usr/bin/chromium``, Debian's ``chromium`` package, which
``.ci/run`` installs); Playwright never downloads a browser. Without it the test is skipped with
a message, except where ``DRIFTWARDEN_REQUIRE_BROWSER=1`` (CI) makes that a failure.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

pytestmark = [pytest.mark.slow, pytest.mark.browser]

CHROMIUM = Path(os.environ.get("DRIFTWARDEN_CHROMIUM", "/usr/bin/chromium"))
# What the machine's closed network needs: no background connections, no component updates.
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]  # fmt: skip
PAGES = {
    "": "Overview",
    "drift": "Drift",
    "performance": "Performance",
    "quality": "Data quality",
    "models": "Models and A/B",
    "alerts": "Alerts",
    "retraining": "Retraining",
}
#: Charts each page draws from the seeded API.
CHARTS = {"": 2, "drift": 5, "performance": 3, "quality": 1}


def _chromium() -> Path:
    if CHROMIUM.exists():
        return CHROMIUM
    message = (
        f"no Chromium at {CHROMIUM}: install Debian's chromium package "
        "(apt-get install chromium), as .ci/run does, to run the browser test"
    )
    if os.environ.get("DRIFTWARDEN_REQUIRE_BROWSER") == "1":
        pytest.fail(message)
    pytest.skip(message)


def _screenshots(tmp_path: Path) -> Path:
    named = os.environ.get("DRIFTWARDEN_SCREENSHOTS")
    folder = Path(named) if named else tmp_path / "screenshots"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def _wait_drawn(page, charts: int) -> None:
    """Until the script run is over and ``charts`` Plotly charts have drawn their SVG.

    Counted by chart, not by SVG layer: one drawn chart holds several ``svg.main-svg``."""
    page.wait_for_function(
        "n => Array.from(document.querySelectorAll('.js-plotly-plot'))"
        ".filter(chart => chart.querySelector('svg.main-svg')).length >= n",
        arg=charts,
        timeout=60_000,
    )
    page.wait_for_selector('[data-testid="stStatusWidget"]', state="detached", timeout=60_000)


def test_every_page_draws_in_chromium_and_the_retrain_button_starts_a_run(
    seeded_api, dashboard_url, retraining_idle, tmp_path
):
    chromium = _chromium()
    from playwright.sync_api import sync_playwright

    shots = _screenshots(tmp_path)
    before = {r["id"] for r in seeded_api.client.retraining_runs(limit=500)}
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(chromium), args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 1800})
            for path, title in PAGES.items():
                page.goto(f"{dashboard_url}/{path}")
                page.get_by_role("heading", name=title, exact=True).wait_for(timeout=60_000)
                _wait_drawn(page, CHARTS.get(path, 0))
                assert page.locator('[data-testid="stException"]').count() == 0, path
                assert page.locator(".js-plotly-plot").count() == CHARTS.get(path, 0), path
                name = path or "overview"
                page.screenshot(path=str(shots / f"{name}.png"), full_page=True)
                assert (shots / f"{name}.png").stat().st_size > 10_000

            # The admin key, entered once in the sidebar, is kept out of every widget.
            key_box = page.get_by_label("Admin key", exact=True).and_(page.locator("input"))
            key_box.fill("dashboard-admin")
            page.get_by_role("button", name="Use for this session").click()
            page.get_by_text("Admin key entered for this session").wait_for(timeout=30_000)
            assert page.locator("input[type=password]").count() == 0
            assert "dashboard-admin" not in page.content()

            retraining_idle()
            page.get_by_role("button", name="Retrain now").click()
            page.get_by_text("Retraining requested: done.").wait_for(timeout=60_000)
            after = seeded_api.client.retraining_runs(limit=500)
            [new] = [r for r in after if r["id"] not in before]
            assert new["trigger"] == "manual"
            # The run appears in the page: its row in the table and its own expander.
            page.get_by_text(f"Run {new['id']}:").first.wait_for(timeout=60_000)
            page.screenshot(path=str(shots / "retraining-requested.png"), full_page=True)
        finally:
            browser.close()
