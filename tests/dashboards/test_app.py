"""The explorer, driven through Streamlit's AppTest against the published demo."""

import re

import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest

from catalog.spec import load_declarations
from tests.conftest import DEMO_DATASETS, REPO

APP = str(REPO / "dashboards" / "app.py")


@pytest.fixture(autouse=True)
def published_demo(demo, monkeypatch):
    monkeypatch.setenv("GOVCAT_HOME", str(demo.home))
    st.cache_data.clear()
    st.cache_resource.clear()
    return demo.home


def result_links(at: AppTest) -> list[str]:
    """The dataset each search result links to."""
    return [link.proto.query_string for link in at.get("page_link") if link.proto.page == "dataset"]


def table_with(at: AppTest, *columns: str):
    """The one table on the page that has these columns."""
    (frame,) = [d.value for d in at.dataframe if set(columns) <= set(d.value.columns)]
    return frame


def open_dataset(dataset_id: str) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=30)
    at.switch_page("views/dataset.py")
    at.query_params["id"] = dataset_id
    return at.run()


def test_search_finds_a_dataset_by_a_word_from_its_description():
    at = AppTest.from_file(APP, default_timeout=30).run()
    assert not at.exception
    at.text_input(key="q").input("ward diagnosis").run()
    assert not at.exception
    assert at.query_params["q"] == "ward diagnosis"
    assert result_links(at) == ["id=hospital_admissions"]
    assert at.caption[0].value == "1 dataset found for “ward diagnosis”"
    page = open_dataset("hospital_admissions")
    rows = table_with(page, "admission_id", "ward", "diagnosis_group")
    assert len(rows) == 100 and rows["ward"].notna().all()
    assert not {"patient_name", "date_of_birth", "notes"} & set(rows.columns)
    districts = rows["postcode"].dropna()
    assert len(districts) and districts.str.fullmatch(r"[A-Z]{1,2}[0-9][0-9A-Z]?").all(), "postcodes cut to districts"


def test_facets_filter_by_agency_and_land_in_the_url():
    at = AppTest.from_file(APP, default_timeout=30).run()
    assert len(result_links(at)) == 10 and at.caption[0].value == "14 datasets found"
    at.checkbox(key="agency:riverton").check().run()
    assert not at.exception
    assert at.query_params["agency"] == "riverton"
    assert sorted(result_links(at)) == ["id=business_licences", "id=planning_comments", "id=road_collisions",
                                        "id=service_requests_311"]
    themes = [box.label for box in at.checkbox if box.key.startswith("theme:")]
    assert themes == ["Regions and cities (3)", "Transport (1)"]


def test_dataset_page_shows_metadata_schema_and_rows():
    at = open_dataset("world_population")
    assert not at.exception
    assert at.title[0].value == load_declarations(DEMO_DATASETS).datasets["world_population"].title
    preview = table_with(at, "Country Name", "Value")
    assert len(preview) == 100 and preview["Value"].min() > 0
    assert table_with(at, "column", "in words")["column"].tolist() == ["Country Name", "Country Code", "Year", "Value"]
    assert table_with(at, "release", "delivery")["release"].tolist() == [1]


def test_quarantined_delivery_is_explained_beside_the_current_release():
    at = open_dataset("road_collisions")
    assert not at.exception
    (warning,) = at.warning
    assert warning.value.startswith("The latest delivery was not published: ")
    assert "The release below is still the current one." in warning.value
    covered = next(m.value for m in at.markdown if m.value.startswith("**Time covered**"))
    assert covered == ("**Time covered**  \n2024-01-01 to 2024-06-30 in release 1  \n"
                       "(the series covers 2024-01-01 to 2024-12-31)")
    problems = table_with(at, "row", "field_name", "type", "message")
    assert len(problems) >= 1 and problems["message"].str.contains("field '").all()


def test_unknown_dataset_is_a_clear_message_not_a_traceback():
    at = open_dataset("no_such_thing<script>")
    assert not at.exception
    assert "There is no published public dataset" in at.error[0].value


def test_a_new_release_shows_at_once(declarations, home, monkeypatch):
    from catalog import flow
    from tests.conftest import GOOD_ROWS

    monkeypatch.setenv("GOVCAT_HOME", str(home))
    declarations.agency()
    declarations.dataset(files={"2024.csv": GOOD_ROWS})
    loaded = load_declarations(declarations.root)
    flow.publish_delivery(loaded, loaded.datasets["grants"], home)
    assert len(table_with(open_dataset("grants"), "district", "amount")) == 2
    (declarations.root / "city" / "grants" / "data" / "2024.csv").write_text(GOOD_ROWS + "3,East,c@example.org,1\n")
    flow.publish_delivery(loaded, loaded.datasets["grants"], home)
    page = open_dataset("grants")
    assert len(table_with(page, "district", "amount")) == 3
    assert table_with(page, "release", "delivery")["release"].tolist() == [2, 1]


def test_privacy_section_explains_what_was_removed_with_the_risk_before_and_after():
    at = open_dataset("hospital_admissions")
    assert not at.exception
    said = [m.value for m in at.markdown]
    assert "- Coarsened 'postcode': postcodes shown as the postcode district only." in said
    assert any(s.startswith("- Hid values so that every combination of 'sex', 'age_band' and 'postcode'") for s in said)
    risk = table_with(at, "measure", "before", "after")
    assert list(risk["after"]) == ["20.0%", "0.0%", risk["after"][2]]
    assert risk["before"][0] == "100.0%"


def test_a_dataset_the_guard_stopped_says_why_and_has_nothing_to_download():
    at = open_dataset("planning_comments")
    assert not at.exception
    (warning,) = at.warning
    assert "The latest delivery was not published: column 'comment' looks personal" in warning.value
    assert "scrub free text" in warning.value
    assert any(i.value == "No release has been published yet." for i in at.info)
    source = (DEMO_DATASETS / "riverton" / "planning_comments" / "data" / "comments-2024.csv").read_text()
    written = set(re.findall(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+", source))
    assert written, "the demo comments should carry email addresses"
    shown = " ".join(e.value for kind in (at.markdown, at.warning, at.info, at.caption) for e in kind)
    assert not any(address in shown for address in written)
