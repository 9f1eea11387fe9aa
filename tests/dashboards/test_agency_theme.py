"""Agency and theme pages: who publishes, everything they publish, and whether it is on time."""

import datetime as dt

import duckdb
import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest

from bench.catalogue_entries import write_catalogue
from tests.conftest import REPO

APP = str(REPO / "dashboards" / "app.py")


@pytest.fixture
def demo_home(demo, monkeypatch):
    monkeypatch.setenv("GOVCAT_HOME", str(demo.home))
    st.cache_data.clear()
    st.cache_resource.clear()
    return demo.home


@pytest.fixture
def stale_home(tmp_path, monkeypatch):
    """A catalogue of 400 generated entries whose releases all date from two years ago or before."""
    home = tmp_path / "home"
    write_catalogue(home / "catalogue.duckdb", 400, seed=3,
                    now=dt.datetime.now(dt.timezone.utc) - dt.timedelta(days=730))
    monkeypatch.setenv("GOVCAT_HOME", str(home))
    st.cache_data.clear()
    st.cache_resource.clear()
    return home


def open_page(page: str, **params) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=30)
    at.switch_page(f"views/{page}.py")
    for key, value in params.items():
        at.query_params[key] = value
    return at.run()


def links(at: AppTest, page: str) -> list[str]:
    return [link.proto.query_string for link in at.get("page_link") if link.proto.page == page]


def said(at: AppTest) -> str:
    return " ".join(m.value for m in at.markdown)


def test_agency_page_shows_who_it_is_and_what_it_publishes(demo_home):
    at = open_page("agency", slug="riverton")
    assert not at.exception
    assert at.title[0].value == "City of Riverton"
    assert "(https://www.riverton.example.org)" in said(at)
    assert "[data@riverton.example.org](mailto:data@riverton.example.org)" in said(at)
    assert sorted(links(at, "dataset")) == ["id=business_licences", "id=planning_comments", "id=road_collisions",
                                            "id=service_requests_311"]
    assert {m.label: m.value for m in at.metric} == {"Public datasets": "4", "On time": "3", "Overdue": "0",
                                                     "No schedule": "0", "Not yet published": "1"}
    assert ":orange-badge[Not yet published]" in said(at) and ":green-badge[On time] Weekly" in said(at)
    assert set(links(at, "theme")) == {"slug=regions", "slug=transport"}
    assert "agency=riverton" in [link.proto.query_string for link in at.get("page_link") if link.proto.page == ""]


def test_every_agency_and_theme_is_one_click_away(demo_home):
    agencies = open_page("agency")
    assert not agencies.exception
    assert len(links(agencies, "agency")) == 6
    assert "City of Riverton (4)" in [link.label for link in agencies.get("page_link")]
    themes = open_page("theme")
    enabled = [link.proto.query_string for link in themes.get("page_link")
               if link.proto.page == "theme" and not link.proto.disabled]
    assert sorted(enabled) == ["slug=economy", "slug=education", "slug=environment", "slug=health", "slug=regions",
                               "slug=society", "slug=transport"]


def test_theme_page_lists_every_agency_publishing_on_it(demo_home):
    at = open_page("theme", slug="economy")
    assert not at.exception
    assert at.title[0].value == "Economy and finance"
    assert len(links(at, "dataset")) == 4
    assert set(links(at, "agency")) == {"slug=national_statistics", "slug=treasury"}


def test_unknown_slugs_are_a_clear_message(demo_home):
    for page in ("agency", "theme"):
        at = open_page(page, slug="<script>alert(1)</script>")
        assert not at.exception
        assert at.error[0].value.startswith(f"There is no {page} ")
        assert links(at, page), "the index follows, to pick one"


def test_the_dataset_page_links_to_its_agency_and_theme(demo_home):
    at = open_page("dataset", id="hospital_admissions")
    assert links(at, "agency") == ["slug=health"] and links(at, "theme") == ["slug=health"]


def test_overdue_datasets_say_by_how_many_days_and_can_come_first(stale_home):
    at = open_page("agency", slug="health", sort="overdue")
    assert not at.exception
    badges = [m.value for m in at.markdown if "-badge[" in m.value]
    assert badges and badges[0].startswith(":red-badge[Overdue by ")
    days = [int(b.split("Overdue by ")[1].split(" day")[0]) for b in badges if "Overdue by" in b]
    assert days == sorted(days, reverse=True) and min(days) > 300
    assert int(next(m.value for m in at.metric if m.label == "Overdue")) > 0


def test_agency_pages_never_list_datasets_that_are_not_public(stale_home):
    con = duckdb.connect(str(stale_home / "catalogue.duckdb"), read_only=True)
    hidden = {i for (i,) in con.execute("SELECT id FROM datasets WHERE access <> 'public'").fetchall()}
    public = con.execute("SELECT agency, count(*) FROM datasets WHERE access = 'public' GROUP BY agency").fetchall()
    con.close()
    assert hidden
    for agency, count in public[:4]:
        at = open_page("agency", slug=agency)
        assert next(m.value for m in at.metric if m.label == "Public datasets") == str(count)
        shown = set(links(at, "dataset"))
        while any(b.key == "next" and not b.disabled for b in at.button):
            at.button(key="next").click().run()
            shown |= set(links(at, "dataset"))
        assert len(shown) == count and not {f"id={i}" for i in hidden} & shown
