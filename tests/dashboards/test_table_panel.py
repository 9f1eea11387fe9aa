"""The Data tab: filter, sort and page a release on the server, with the view kept in the link."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest

from tests.catalog.test_filters import publish_works
from tests.conftest import REPO

APP = str(REPO / "dashboards" / "app.py")


@pytest.fixture(scope="module")
def works(tmp_path_factory):
    return publish_works(tmp_path_factory.mktemp("table_panel"))


@pytest.fixture(autouse=True)
def published(works, monkeypatch):
    monkeypatch.setenv("GOVCAT_HOME", str(works[0]))
    st.cache_data.clear()
    st.cache_resource.clear()


@pytest.fixture
def frame(works) -> pd.DataFrame:
    return pd.DataFrame(works[1])


def open_data(**params) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=30)
    at.switch_page("views/dataset.py")
    at.query_params["id"] = "works"
    for name, value in params.items():
        at.query_params[name] = value
    at.run()
    assert not at.exception
    return at


def rows(at: AppTest) -> pd.DataFrame:
    """The one table showing the release's rows."""
    (shown,) = [d.value for d in at.dataframe if {"id", "urgent", "paid_on"} <= set(d.value.columns)]
    return shown


def told(at: AppTest) -> list[str]:
    return [m.value for m in at.markdown]


def test_the_first_page_and_the_count_of_every_row(frame):
    at = open_data()
    assert rows(at)["id"].tolist() == frame["id"].tolist()[:100]
    assert f"Rows 1–100 of **{len(frame):,}** rows in release 1." in told(at)
    assert at.number_input(key="table_page").max == 2


def test_filters_in_the_link_are_applied_on_the_server(frame):
    at = open_data(f=["urgent~true", "amount~gt~50"])
    kept = frame[frame["urgent"] & (frame["amount"] > 50)]
    assert rows(at)["id"].tolist() == kept["id"].tolist()
    assert f"Rows 1–{len(kept)} of **{len(kept)}** matching rows in release 1." in told(at)
    labels = [b.label.replace("\\", "") for b in at.button if b.key.startswith("table_remove:")]
    assert labels == ["urgent is true", "amount > 50"]


def test_adding_a_filter_with_a_pick_list_puts_it_in_the_link(frame):
    at = open_data()
    at.selectbox(key="table_filter_column").select("district").run()
    at.selectbox(key="table_filter_op:district").select("eq").run()
    at.selectbox(key="table_filter_value:0:district:eq").select("O'Brien Park").run()
    at.button(key="table_filter_add").click().run()
    assert not at.exception
    assert at.query_params["f"] == "district~eq~O'Brien Park"
    assert set(rows(at)["district"]) == {"O'Brien Park"}
    assert len(rows(at)) == (frame["district"] == "O'Brien Park").sum()


def test_a_date_range_filter(frame):
    at = open_data()
    at.selectbox(key="table_filter_column").select("paid_on").run()
    at.selectbox(key="table_filter_op:paid_on").select("between").run()
    at.date_input(key="table_filter_value:0:paid_on:between").set_value(dt.date(2024, 3, 1)).run()
    at.date_input(key="table_filter_value:1:paid_on:between").set_value(dt.date(2024, 4, 30)).run()
    at.button(key="table_filter_add").click().run()
    assert at.query_params["f"] == "paid_on~between~2024-03-01~2024-04-30"
    kept = frame[(frame["paid_on"] >= dt.date(2024, 3, 1)) & (frame["paid_on"] <= dt.date(2024, 4, 30))]
    assert rows(at)["id"].tolist() == kept["id"].tolist()


def test_a_value_that_does_not_fit_is_explained_and_not_added():
    at = open_data()
    at.selectbox(key="table_filter_column").select("amount").run()
    at.selectbox(key="table_filter_op:amount").select("ge").run()
    at.text_input(key="table_filter_value:0:amount:ge").input("a lot").run()
    at.button(key="table_filter_add").click().run()
    assert "f" not in at.query_params
    assert "is not a number such as 1234.5" in at.error[0].value


def test_removing_one_filter_keeps_the_others(frame):
    at = open_data(f=["urgent~true", "district~eq~North"])
    at.button(key="table_remove:0").click().run()
    assert at.query_params["f"] == "district~eq~North"
    assert rows(at)["id"].tolist() == frame.loc[frame["district"] == "North", "id"].tolist()


def test_sorting_goes_into_the_link_and_the_rows(frame):
    at = open_data()
    at.selectbox(key="table_sort").select("amount").run()
    at.selectbox(key="table_order").select("descending").run()
    assert at.query_params["sort"] == "amount~desc"
    shown = rows(at)["amount"]
    assert shown.iloc[0] == frame["amount"].max() and shown.dropna().is_monotonic_decreasing


def test_next_page_and_back(frame):
    at = open_data()
    at.button(key="table_next").click().run()
    assert at.query_params["page"] == "2"
    assert rows(at)["id"].tolist() == frame["id"].tolist()[100:]
    assert f"Rows 101–{len(frame)} of **{len(frame)}** rows in release 1." in told(at)
    at.button(key="table_previous").click().run()
    assert "page" not in at.query_params and len(rows(at)) == 100


def test_a_shared_link_reopens_the_same_view(frame):
    at = open_data()
    at.selectbox(key="table_size").select(25).run()
    at.selectbox(key="table_sort").select("paid_on").run()
    at.button(key="table_next").click().run()
    link = {name: at.query_params[name] for name in at.query_params}
    again = open_data(**{k: v for k, v in link.items() if k != "id"})
    pd.testing.assert_frame_equal(rows(again), rows(at))
    assert rows(again)["id"].tolist() == frame.sort_values(["paid_on", "id"])["id"].tolist()[25:50]


def test_a_bad_part_of_a_link_is_left_out_with_a_warning(frame):
    at = open_data(f=["colour~eq~red", "urgent~false"], sort="amount~sideways")
    warnings = " ".join(w.value for w in at.warning).replace("\\", "")
    assert "no column “colour” in this release" in warnings and "column~asc or column~desc" in warnings
    assert len(rows(at)) == (~frame["urgent"]).sum()


def test_an_earlier_release_is_read_when_asked_for():
    at = open_data(release="1")
    assert any('the table "works@1"' in c.value for c in at.caption)
    assert any("works@1" in c.value for c in at.code)


def test_the_calculate_link_carries_the_filters():
    at = open_data(f=["urgent~true"])
    (link,) = [p for p in at.get("page_link") if p.proto.page == "calculate"]
    assert link.proto.query_string == "id=works&f=urgent~true"
