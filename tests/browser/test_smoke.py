"""One real browser: Debian's Chromium, driven by Playwright, against `govcat explore`."""

import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
from playwright.sync_api import sync_playwright

from tests.conftest import REPO

CHROMIUM = "/usr/bin/chromium"
SHOTS = REPO / "test-output" / "browser"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]

pytestmark = pytest.mark.browser


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def explorer(demo):
    port = free_port()
    env = {**os.environ, "GOVCAT_HOME": str(demo.home)}
    process = subprocess.Popen([sys.executable, "-m", "catalog.cli", "explore", "--port", str(port)],
                               cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    url = f"http://127.0.0.1:{port}"
    deadline = time.time() + 60
    while True:
        try:
            with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as answer:
                if answer.status == 200:
                    break
        except OSError:
            if time.time() > deadline or process.poll() is not None:
                process.kill()
                raise RuntimeError(f"the explorer did not start: {process.stdout.read()}")
            time.sleep(0.3)
    yield url
    process.terminate()
    process.wait(timeout=20)


@pytest.fixture(scope="module")
def page():
    assert Path(CHROMIUM).exists(), "Debian's chromium is missing: `make test` installs it"
    SHOTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser.new_page(viewport={"width": 1280, "height": 900})
        browser.close()


def test_search_page_finds_and_links_a_dataset(explorer, page):
    page.goto(f"{explorer}/?q=collisions")
    link = page.get_by_role("link", name="Road traffic collisions")
    link.first.wait_for(timeout=30_000)
    page.screenshot(path=str(SHOTS / "search.png"), full_page=True)
    assert "1 dataset found" in page.inner_text("body")
    link.first.click()
    page.get_by_role("heading", name="Road traffic collisions").first.wait_for(timeout=30_000)
    assert "/dataset?id=road_collisions" in page.url


def test_dataset_page_shows_rows_and_downloads(explorer, page):
    page.goto(f"{explorer}/dataset?id=hospital_admissions")
    page.get_by_role("heading", name="Hospital admissions").first.wait_for(timeout=30_000)
    page.locator("[data-testid='stDataFrame']").first.wait_for(timeout=30_000)
    page.screenshot(path=str(SHOTS / "dataset.png"), full_page=True)
    text = page.inner_text("body")
    assert "Department of Health" in text and "Current release" in text
    page.get_by_role("tab", name="Download").click()
    page.get_by_role("button", name="Download CSV").wait_for(timeout=10_000)
    with page.expect_download(timeout=30_000) as download:
        page.get_by_role("button", name="Download CSV").click()
    saved = SHOTS / "hospital_admissions.csv"
    download.value.save_as(saved)
    header = saved.read_text(encoding="utf-8").splitlines()[0]
    assert "patient_name" not in header and "admission_id" in header
