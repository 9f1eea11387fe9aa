"""The dataset page as of an earlier release: its rows, its downloads, and what each release changed."""

import streamlit as st
from streamlit.testing.v1 import AppTest

from catalog import flow
from catalog.spec import load_declarations
from tests.conftest import GOOD_ROWS, REPO

APP = str(REPO / "dashboards" / "app.py")


def two_releases(declarations, home, monkeypatch):
    declarations.agency()
    declarations.dataset(files={"2024.csv": GOOD_ROWS})
    loaded = load_declarations(declarations.root)
    flow.publish_delivery(loaded, loaded.datasets["grants"], home, note="January")
    (loaded.datasets["grants"].folder / "data" / "2024.csv").write_text(
        GOOD_ROWS.replace("10.5", "11") + "3,East,cy@example.org,7\n")
    flow.publish_delivery(loaded, loaded.datasets["grants"], home, note="February, with a correction")
    monkeypatch.setenv("GOVCAT_HOME", str(home))
    st.cache_data.clear()
    st.cache_resource.clear()


def page(release: str | None) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=30)
    at.switch_page("views/dataset.py")
    at.query_params["id"] = "grants"
    if release is not None:
        at.query_params["release"] = release
    return at.run()


def test_an_earlier_release_is_shown_as_it_was(declarations, home, monkeypatch):
    two_releases(declarations, home, monkeypatch)
    at = page("1")
    assert not at.exception
    assert any("You are looking at release 1" in i.value and "current release is 2" in i.value for i in at.info)
    (rows,) = [d.value for d in at.dataframe if "district" in d.value.columns and "amount" in d.value.columns]
    assert len(rows) == 2 and 10.5 in set(rows["amount"])
    assert any('"grants@1"' in c.value for c in at.caption)
    assert any("Release 1, 2 rows" in c.value for c in at.caption)


def test_the_releases_tab_says_what_each_release_changed(declarations, home, monkeypatch):
    two_releases(declarations, home, monkeypatch)
    at = page(None)
    (history,) = [d.value for d in at.dataframe if "what changed from the release before" in d.value.columns
                  or "changes" in d.value.columns]
    changes = list(history["changes"])
    assert changes == ["1 row added, 0 removed, 1 changed (by primary key)", "first release: 2 rows"]
    assert list(history["note"]) == ["February, with a correction", "January"]


def test_an_unknown_release_falls_back_to_the_current_one_with_a_warning(declarations, home, monkeypatch):
    two_releases(declarations, home, monkeypatch)
    at = page("../../etc")
    assert not at.exception
    assert any("There is no release" in w.value and "1 to 2" in w.value for w in at.warning)
