"""The dataset page's Download tab: every format with its checksum, the filtered rows, and code to copy."""

import csv
import hashlib
import io

import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest

from catalog import downloads, snippets
from dashboards.widgets import download_panel
from tests.api.ledger import copy_of, published_home
from tests.conftest import REPO

APP = str(REPO / "dashboards" / "app.py")
LABELS = ["Download CSV", "Download Parquet", "Download JSON", "Download Excel", "Download zip"]


@pytest.fixture(scope="module")
def published(tmp_path_factory):
    return published_home(tmp_path_factory)


@pytest.fixture
def home(published, tmp_path, monkeypatch):
    home = copy_of(published, tmp_path)
    monkeypatch.setenv("GOVCAT_HOME", str(home))
    monkeypatch.setenv(snippets.API_URL_ENV, "http://api.example.org")
    st.cache_data.clear()
    st.cache_resource.clear()
    return home


def page(**params) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=60)
    at.switch_page("views/dataset.py")
    for name, value in params.items():
        at.query_params[name] = value
    return at.run()


def checksums_shown(at: AppTest) -> list[str]:
    return [c.value.split("`")[1] for c in at.caption if c.value.startswith("SHA-256 `")]


def test_every_format_is_offered_with_the_checksum_of_the_file_it_hands_over(home):
    at = page(id="ledger")
    assert not at.exception
    buttons = at.get("download_button")
    assert [b.label for b in buttons] == LABELS
    shown = checksums_shown(at)
    files = [downloads.export_release(home, "ledger", fmt) for fmt in downloads.FORMATS]
    assert shown == [hashlib.sha256(f.path.read_bytes()).hexdigest() for f in files]
    assert shown[1] == downloads.public_release(home, "ledger").data_sha256
    assert any(c.value.startswith("Release 2, 5 rows, published") for c in at.caption)


def test_an_earlier_release_offers_its_own_files(home):
    at = page(id="ledger", release="1")
    assert checksums_shown(at)[0] == downloads.export_release(home, "ledger", "csv", release=1).sha256
    assert any("ledger@1.csv" in c.value for c in at.code)


def test_the_snippets_fetch_the_release_shown_from_the_configured_api(home):
    at = page(id="ledger")
    code = {c.language: c.value for c in at.code if c.language in ("python", "r", "bash")}
    assert set(code) == {"python", "r", "bash"}
    assert 'pd.read_csv("http://api.example.org/downloads/ledger@2.csv")' in code["python"]
    assert 'arrow::read_parquet("http://api.example.org/downloads/ledger@2.parquet")' in code["r"]
    csv_checksum = downloads.export_release(home, "ledger", "csv").sha256
    assert f"echo '{csv_checksum}  ledger-release-2.csv' | sha256sum -c -" in code["bash"]


def test_a_large_release_waits_for_a_click_before_writing_a_format(home, monkeypatch):
    monkeypatch.setattr(download_panel, "EAGER_ROWS", 2)
    at = page(id="ledger")
    assert not at.exception
    assert [b.label for b in at.get("download_button")] == ["Download Parquet"]
    assert not (home / "exports").exists(), "nothing was written just by opening the page"
    at.button(key="download_prepare_xlsx").click().run()
    assert [b.label for b in at.get("download_button")] == ["Download Parquet", "Download Excel"]
    assert downloads.export_release(home, "ledger", "xlsx").sha256 in checksums_shown(at)


def test_the_rows_of_the_current_filter_can_be_downloaded_on_request(home):
    at = page(id="ledger", f="amount~gt~1")
    assert not at.exception
    assert [m.value for m in at.markdown if m.value.startswith("The Data tab shows")] == \
        ["The Data tab shows the rows where amount \\> 1."]
    assert [b.label for b in at.get("download_button")] == LABELS
    at.button(key="download_filtered_prepare").click().run()
    assert not at.exception
    filtered = [b for b in at.get("download_button") if b.label.startswith("Filtered")]
    assert [b.label for b in filtered] == [label.replace("Download ", "Filtered ") for label in LABELS]
    assert not [b for b in at.get("button") if b.label == "Prepare these rows in every format"]
    assert any(m.value.startswith("**CSV** · 3 rows") for m in at.markdown)
    made = sorted((home / "exports").rglob("ledger-release-2-filtered.csv"))
    assert len(made) == 1
    assert [row["id"] for row in csv.DictReader(io.StringIO(made[0].read_text("utf-8"), newline=""))] == ["2", "4", "5"]


def test_a_filter_that_does_not_fit_the_release_offers_no_filtered_download(home):
    at = page(id="ledger", f="nosuchcolumn~eq~1")
    assert not at.exception
    assert not any(m.value.startswith("The Data tab shows") for m in at.markdown)


def test_a_restricted_dataset_has_no_download_tab_at_all(home):
    at = page(id="casefiles")
    assert not at.get("download_button") and not checksums_shown(at)
