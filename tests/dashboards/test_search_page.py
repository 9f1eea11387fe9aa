"""The search page against the published demo: facets, sorting, "did you mean", state in the URL."""

import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest

from tests.conftest import REPO

APP = str(REPO / "dashboards" / "app.py")


@pytest.fixture(autouse=True)
def published_demo(demo, monkeypatch):
    monkeypatch.setenv("GOVCAT_HOME", str(demo.home))
    st.cache_data.clear()
    st.cache_resource.clear()
    return demo.home


def links(at: AppTest, page: str) -> list[str]:
    return [link.proto.query_string for link in at.get("page_link") if link.proto.page == page]


def boxes(at: AppTest, facet: str) -> list[str]:
    return [box.label for box in at.checkbox if box.key.startswith(f"{facet}:")]


def open_search(**params) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=30)
    for key, value in params.items():
        at.query_params[key] = value
    return at.run()


def test_every_facet_is_offered_with_counts():
    at = open_search()
    assert not at.exception
    assert boxes(at, "format") == ["CSV (10)", "XLSX (2)", "JSON (1)", "XML (1)"]
    assert boxes(at, "updated") == ["Past 7 days (13)", "Never published (1)"]
    assert boxes(at, "frequency") == ["Weekly (1)", "Monthly (3)", "Quarterly (3)", "Every six months (1)",
                                      "Annual (6)"]
    assert boxes(at, "licence")[0] == "Open Data Commons Public Domain Dedication and License 1.0 (7)"


def test_a_facet_narrows_the_results_and_the_other_counts():
    at = open_search()
    at.checkbox(key="format:xlsx").check().run()
    assert not at.exception
    assert at.query_params["format"] == "xlsx"
    assert sorted(links(at, "dataset")) == ["id=hospital_admissions", "id=school_enrolment"]
    assert boxes(at, "theme") == ["Education, culture and sport (1)", "Health (1)"]
    assert "CSV (10)" in boxes(at, "format"), "a facet keeps its own counts"
    at.button(key="clear").click().run()
    assert len(links(at, "dataset")) == 10 and "format" not in at.query_params


def test_a_misspelt_query_offers_the_correction_and_runs_it():
    at = open_search()
    at.text_input(key="q").input("hosptal admisions").run()
    assert at.caption[0].value == "0 datasets found for “hosptal admisions”"
    suggestion = at.button(key="suggestion")
    assert suggestion.label == "Did you mean **hospital admissions**?"
    suggestion.click().run()
    assert not at.exception
    assert at.query_params["q"] == "hospital admissions"
    assert links(at, "dataset") == ["id=hospital_admissions"]
    assert not [b for b in at.button if b.key == "suggestion"], "no suggestion for words the catalogue knows"


def test_a_shared_link_reopens_the_same_view():
    second = open_search(updated="week", sort="name", page="2")
    assert not second.exception
    assert second.selectbox(key="sort").value == "name" and second.checkbox(key="updated:week").value is True
    assert any(c.value == "Page 2 of 2" for c in second.caption)
    first = open_search(updated="week", sort="name")
    titles = [link.label for page in (first, second) for link in page.get("page_link") if link.proto.page == "dataset"]
    assert len(titles) == 13 and titles == sorted(titles, key=str.lower)
    assert open_search(q="ward diagnosis").text_input(key="q").value == "ward diagnosis"


def test_sorting_by_name_and_by_update_lands_in_the_url():
    at = open_search()
    at.selectbox(key="sort").select("name").run()
    assert at.query_params["sort"] == "name"
    titles = [link.label for link in at.get("page_link") if link.proto.page == "dataset"]
    assert titles == sorted(titles, key=str.lower)
    at.selectbox(key="sort").select("updated").run()
    assert at.query_params["sort"] == "updated"
    assert "id=planning_comments" not in links(at, "dataset"), "the never-published dataset sorts last"


def test_paging_keeps_the_rest_of_the_state():
    at = open_search(sort="name")
    at.button(key="next").click().run()
    assert at.query_params["page"] == "2" and at.query_params["sort"] == "name"
    assert len(links(at, "dataset")) == 4
    assert any(c.value == "Page 2 of 2" for c in at.caption)


def test_results_link_to_their_agency_and_theme_pages():
    at = open_search(q="ward diagnosis")
    assert links(at, "agency") == ["slug=health"] and links(at, "theme") == ["slug=health"]


def test_a_hostile_url_is_shown_as_the_default_view():
    at = open_search(sort="DROP TABLE", page="-7", agency="<script>", updated="tomorrow", q="x" * 5000)
    assert not at.exception
    assert at.selectbox(key="sort").value == "relevance"
    assert len(at.text_input(key="q").value) == 200
    assert "agency" not in at.query_params and "updated" not in at.query_params
