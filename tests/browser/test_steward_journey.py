"""A steward's journey in a real browser: a failed sign-in, a sign-in, an upload that publishes, the audit log."""

import os
import shutil
import subprocess
import sys
import time
import urllib.request

import pytest
from playwright.sync_api import expect

from catalog import accounts, audit
from tests.browser.test_smoke import SHOTS, free_port, page  # noqa: F401  (the page fixture)
from tests.conftest import DEMO_DATASETS, REPO, TEST_KEY

pytestmark = pytest.mark.browser
PASSWORD = "correct horse battery staple"


@pytest.fixture(scope="module")
def steward_explorer(demo, tmp_path_factory):
    """The explorer over a copy of the demo home (uploads change it), with one Riverton steward."""
    home = tmp_path_factory.mktemp("steward") / "home"
    shutil.copytree(demo.home, home)
    accounts.add_steward(home, "ann", "riverton", "Ann Lee", PASSWORD)
    port = free_port()
    env = {**os.environ, "GOVCAT_HOME": str(home), "GOVCAT_DATASETS": str(DEMO_DATASETS),
           "GOVCAT_PSEUDONYM_KEY": TEST_KEY}
    process = subprocess.Popen([sys.executable, "-m", "catalog.cli", "explore", "--port", str(port)],
                               cwd=REPO, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    deadline = time.time() + 60
    while True:
        try:
            with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2):
                break
        except OSError:
            if time.time() > deadline or process.poll() is not None:
                process.kill()
                raise RuntimeError("the explorer did not start")
            time.sleep(0.3)
    yield url, home
    process.terminate()
    process.wait(timeout=20)


def sign_in(page, password: str) -> None:  # noqa: F811
    page.get_by_label("User name").fill("ann")
    page.get_by_role("textbox", name="Password").fill(password)
    page.get_by_role("button", name="Sign in").click()


def test_a_steward_signs_in_uploads_a_release_and_sees_it_in_the_audit_log(steward_explorer, page,  # noqa: F811
                                                                          tmp_path):
    url, home = steward_explorer
    page.goto(f"{url}/steward")
    page.get_by_label("User name").wait_for(timeout=30_000)
    sign_in(page, "not the password")
    expect(page.get_by_text("Not signed in:", exact=False)).to_be_visible(timeout=20_000)
    sign_in(page, PASSWORD)
    expect(page.get_by_text("Signed in as", exact=False)).to_be_visible(timeout=20_000)

    rows = (DEMO_DATASETS / "riverton" / "road_collisions" / "data" / "collisions-2024-h1.csv").read_text().splitlines()
    upload = tmp_path / "collisions-2025-01.csv"
    upload.write_text("\n".join(rows[:101]) + "\n")
    page.get_by_role("tab", name="Upload").click()
    page.get_by_label("Dataset").click()
    page.get_by_role("option", name="Road traffic collisions", exact=False).click()
    page.locator("input[type=file]").set_input_files(str(upload))
    page.get_by_label("Release note (required): what this release changes").fill("January 2025 collisions")
    page.get_by_role("button", name="Upload and publish").click()
    expect(page.get_by_text("Published release 2 of road_collisions (100 rows)")).to_be_visible(timeout=60_000)
    page.screenshot(path=str(SHOTS / "steward-upload.png"), full_page=True)

    page.get_by_role("tab", name="Audit log").click()
    log = page.locator("[data-testid='stDataFrame']").last
    log.wait_for(timeout=20_000)
    page.screenshot(path=str(SHOTS / "steward-audit.png"), full_page=True)
    logged = [(entry.actor, entry.action, entry.target) for entry in audit.entries(home)]
    for expected in [("ann", "failed-sign-in", ""), ("ann", "sign-in", "riverton"),
                     ("ann", "upload", "road_collisions"), ("ann", "publish", "road_collisions")]:
        assert expected in logged
