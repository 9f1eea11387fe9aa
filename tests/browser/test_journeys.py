"""The explorer's main journeys in a real browser (Debian's Chromium through Playwright).

Find a dataset by a word, filter it, group and chart it, share the link and reopen it, run a SQL
query, and download CSV. Screenshots go to test-output/browser/.
"""

import csv
import hashlib
import io
import time

import pytest
from playwright.sync_api import expect

from tests.browser.test_smoke import SHOTS, explorer, page  # noqa: F401  (fixtures)

pytestmark = pytest.mark.browser
WAIT = 30_000


def settle(page) -> None:  # noqa: F811
    """Wait for the rerun an interaction started to finish (Streamlit shows a running indicator meanwhile)."""
    time.sleep(0.8)
    page.locator("[data-testid='stStatusWidget']").wait_for(state="hidden", timeout=WAIT)


def pick(page, label: str, option: str) -> None:  # noqa: F811
    """Choose ``option`` in the select box or multiselect labelled ``label`` (a rerun may close an open list)."""
    for attempt in range(4):
        page.get_by_label(label, exact=True).click()
        choice = page.get_by_role("option", name=option, exact=True)
        try:
            choice.wait_for(timeout=5_000)
            choice.click(timeout=5_000)
            break
        except Exception:  # noqa: BLE001 - the list closed under us: open it again
            page.keyboard.press("Escape")
            settle(page)
    else:
        raise AssertionError(f"could not pick {option!r} in {label!r}")
    settle(page)


def test_find_filter_group_chart_share_and_reopen(explorer, page):  # noqa: F811
    page.goto(f"{explorer}/?q=collisions")
    page.get_by_role("link", name="Road traffic collisions").first.click()
    expect(page.get_by_role("heading", name="Road traffic collisions").first).to_be_visible(timeout=WAIT)
    page.get_by_label("Column to filter", exact=True).wait_for(timeout=WAIT)
    settle(page)

    pick(page, "Column to filter", "severity (text)")
    pick(page, "Value", "fatal")
    page.get_by_role("button", name="Add filter").click()
    settle(page)
    expect(page.get_by_text("matching rows in release", exact=False).first).to_contain_text(
        "of 17 matching rows", timeout=WAIT)
    assert "severity" in page.url and "fatal" in page.url
    page.screenshot(path=str(SHOTS / "journey-filtered.png"), full_page=True)

    page.get_by_role("link", name="Calculate with these rows", exact=False).click()
    expect(page.get_by_role("heading", name="Calculate: Road traffic collisions", exact=False)).to_be_visible(
        timeout=WAIT)
    pick(page, "Group by (up to 3 columns)", "district")
    page.keyboard.press("Escape")
    settle(page)
    summary = page.locator("[data-testid='stMarkdownContainer']").filter(has_text="In words:").last
    expect(summary).to_contain_text("8 groups", timeout=WAIT)
    expect(page.locator("[data-testid='stVegaLiteChart']").first).to_be_visible(timeout=WAIT)
    said = summary.inner_text()
    page.screenshot(path=str(SHOTS / "journey-calculation.png"), full_page=True)

    shared = page.url
    assert "g=district" in shared
    again = page.context.browser.new_page()
    again.goto(shared)
    expect(again.locator("[data-testid='stMarkdownContainer']").filter(has_text="In words:").last).to_have_text(
        said, timeout=WAIT)
    again.close()

    with page.expect_download(timeout=WAIT) as caught:
        page.get_by_role("button", name="Download the result (CSV)").click()
    rows = list(csv.DictReader(io.StringIO(caught.value.path().read_text(encoding="utf-8-sig"))))
    (counted,) = [name for name in rows[0] if name != "district"]
    assert "district" in rows[0] and sum(int(r[counted]) for r in rows) == 17


def test_run_a_sql_query_and_reopen_its_link(explorer, page):  # noqa: F811
    page.goto(f"{explorer}/sql")
    box = page.get_by_role("textbox").first
    box.wait_for(timeout=WAIT)
    box.fill("SELECT severity, count(*) AS collisions FROM road_collisions GROUP BY severity ORDER BY severity")
    page.get_by_role("button", name="Run", exact=False).first.click()
    expect(page.get_by_text("3 rows", exact=False).first).to_be_visible(timeout=WAIT)
    page.screenshot(path=str(SHOTS / "journey-sql.png"), full_page=True)
    assert "sql=" in page.url
    again = page.context.browser.new_page()
    again.goto(page.url)
    expect(again.get_by_text("3 rows", exact=False).first).to_be_visible(timeout=WAIT)
    again.close()
    page.goto(f"{explorer}/sql?sql=SELECT%20*%20FROM%20read_csv('/etc/passwd')")
    expect(page.get_by_text("out of reach", exact=False).first).to_be_visible(timeout=WAIT)


def test_the_transparency_dashboard_shows_each_agencys_scorecard(explorer, page):  # noqa: F811
    page.goto(f"{explorer}/transparency")
    expect(page.get_by_role("heading", name="Ranking")).to_be_visible(timeout=WAIT)
    page.locator("[data-testid='stDataFrame']").first.wait_for(timeout=WAIT)
    page.screenshot(path=str(SHOTS / "transparency.png"), full_page=True)
    page.get_by_role("link", name="Ministry of Finance", exact=False).first.click()
    expect(page.get_by_role("heading", name="Ministry of Finance", exact=False).first).to_be_visible(timeout=WAIT)
    page.screenshot(path=str(SHOTS / "scorecard-finance.png"), full_page=True)
    assert "/scorecard" in page.url and "agency=treasury" in page.url


def test_the_explorer_speaks_french_when_asked(explorer, page):  # noqa: F811
    page.goto(f"{explorer}/?lang=fr")
    expect(page.get_by_text("Langue", exact=False).first).to_be_visible(timeout=WAIT)
    page.screenshot(path=str(SHOTS / "search-fr.png"), full_page=True)
    assert page.get_by_role("heading").first.inner_text() != "Open government data"


def test_download_a_whole_release_as_csv_with_its_checksum(explorer, page):  # noqa: F811
    page.goto(f"{explorer}/dataset?id=road_collisions")
    expect(page.get_by_role("heading", name="Road traffic collisions").first).to_be_visible(timeout=WAIT)
    settle(page)
    page.get_by_role("tab", name="Download").click()
    button = page.get_by_role("button", name="CSV", exact=False).first
    button.wait_for(timeout=WAIT)
    page.screenshot(path=str(SHOTS / "journey-download.png"), full_page=True)
    with page.expect_download(timeout=WAIT) as caught:
        button.click()
    body = caught.value.path().read_bytes()
    assert body.decode("utf-8-sig").splitlines()[0].startswith("collision_id,")
    assert hashlib.sha256(body).hexdigest() in page.inner_text("body")
