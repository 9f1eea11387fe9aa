"""The Calculate page: pick filters, groups and aggregates; see a chart, words, a table, SQL and a link."""

from __future__ import annotations

import json
import math
from urllib.parse import parse_qs, urlsplit

import pandas as pd
import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest

from catalog import calculate as calc
from catalog import filters as flt
from tests.catalog.test_calculate import AGGREGATES, PERIODS
from tests.catalog.test_filters import CASES, publish_works
from tests.conftest import REPO

APP = str(REPO / "dashboards" / "app.py")


@pytest.fixture(scope="module")
def works(tmp_path_factory):
    return publish_works(tmp_path_factory.mktemp("calculate_page"))


@pytest.fixture(autouse=True)
def published(works, monkeypatch):
    monkeypatch.setenv("GOVCAT_HOME", str(works[0]))
    st.cache_data.clear()
    st.cache_resource.clear()


@pytest.fixture
def frame(works) -> pd.DataFrame:
    return pd.DataFrame(works[1])


def open_calculate(**params) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=30)
    at.switch_page("views/calculate.py")
    at.query_params["id"] = "works"
    for name, value in params.items():
        at.query_params[name] = value
    at.run()
    assert not at.exception
    return at


def result(at: AppTest) -> pd.DataFrame:
    """The result table (the last table on the page)."""
    return at.dataframe[-1].value


def charts(at: AppTest) -> list[dict]:
    """Each chart's Vega-Lite spec, with its text alternative under "alt"."""
    return [{**json.loads(c.proto.spec), "alt": c.proto.alt} for c in at.get("vega_lite_chart")]


def in_words(at: AppTest) -> str:
    (said,) = [m.value for m in at.markdown if m.value.startswith("**In words:**")]
    return said.replace("\\", "")


@pytest.mark.parametrize("measure, heading, expect", AGGREGATES, ids=[a[1] for a in AGGREGATES])
def test_each_aggregate_by_district(frame, measure, heading, expect):
    at = open_calculate(g="district", a=measure.encode())
    shown = result(at)
    assert list(shown.columns) == ["district", heading]
    expected = expect(frame.groupby("district"))
    for district, value in zip(shown["district"], shown[heading]):
        assert math.isclose(value, expected[district])
    assert shown[heading].tolist() == sorted(shown[heading], reverse=True)
    (chart,) = charts(at)
    assert chart["mark"]["type"] == "bar"
    top = expected.idxmax()
    assert in_words(at).startswith(f"**In words:** {heading}: highest {top} with ")
    assert chart["alt"] == calc.summary(calc.CalculationResult(shown, "", False, 0, ["district"], [heading]))
    assert "4 groups" in in_words(at)


@pytest.mark.parametrize("bucket", calc.BUCKETS)
def test_each_time_period_is_a_line_over_time(frame, bucket):
    at = open_calculate(g=f"paid_on~{bucket}")
    shown = result(at)
    expected = frame.groupby(frame["paid_on"].map(PERIODS[bucket])).size()
    assert len(expected) > 1
    assert shown[f"paid_on ({bucket})"].tolist() == expected.index.tolist()
    assert shown["rows"].tolist() == expected.tolist()
    (chart,) = charts(at)
    assert chart["mark"]["type"] == "line"
    assert in_words(at).startswith(f"**In words:** From {expected.index[0]} to {expected.index[-1]}, rows: ")


@pytest.mark.parametrize("columns", [["district"], ["district", "urgent"], ["district", "urgent", "at_time"]])
def test_group_by_one_to_three_columns_picked_on_the_page(frame, columns):
    at = open_calculate()
    at.multiselect(key="calc_groups:works").set_value(columns).run()
    assert not at.exception
    assert at.query_params["g"] == (columns if len(columns) > 1 else columns[0])
    shown = result(at)
    assert len(shown) == frame.groupby(columns).ngroups
    assert shown["rows"].sum() == len(frame)


ONE_OF_EACH = {("district", "eq"), ("note", "contains"), ("note", "empty"), ("amount", "gt"), ("amount", "between"),
               ("paid_on", "after"), ("logged_at", "on"), ("at_time", "before"), ("urgent", "true"),
               ("amount", "missing")}
FILTERS = [(f, keep) for f, keep in CASES if (f.column, f.op) in ONE_OF_EACH]


@pytest.mark.parametrize("chosen, keep", FILTERS, ids=[f.describe() for f, _ in FILTERS])
def test_a_filter_of_each_kind_limits_the_rows_counted(works, chosen, keep):
    at = open_calculate(f=flt.to_query([chosen]))
    assert result(at)["rows"].tolist() == [sum(1 for r in works[1] if keep(r))]


def test_controls_build_the_link_and_the_link_rebuilds_the_result(frame):
    at = open_calculate()
    at.selectbox(key="table_filter_column").select("urgent").run()
    at.selectbox(key="table_filter_op:urgent").select("true").run()
    at.button(key="table_filter_add").click().run()
    at.multiselect(key="calc_groups:works").set_value(["paid_on", "district"]).run()
    at.selectbox(key="calc_bucket:works:paid_on").select("quarter").run()
    at.multiselect(key="calc_measures:works").set_value([calc.Measure("count"), calc.Measure("mean", "amount")]).run()
    at.selectbox(key="calc_sort:works").select("mean of amount").run()
    at.selectbox(key="calc_order:works").select("ascending").run()
    assert not at.exception
    link = {name: at.query_params[name] for name in at.query_params}
    assert link == {"id": "works", "f": "urgent~true", "g": ["paid_on~quarter", "district"],
                    "a": ["count", "mean~amount"], "sort": "mean of amount~asc"}
    shown = result(at)
    urgent = frame[frame["urgent"]]
    assert len(shown) == urgent.groupby([urgent["paid_on"].map(PERIODS["quarter"]), "district"]).ngroups
    assert shown["mean of amount"].dropna().is_monotonic_increasing

    again = open_calculate(**{k: v for k, v in link.items() if k != "id"})
    pd.testing.assert_frame_equal(result(again), shown)
    (copied,) = [c.value for c in again.code if c.value.startswith("/calculate?")]
    assert parse_qs(urlsplit(copied).query) == {k: [v] if isinstance(v, str) else v for k, v in link.items()}
    from_copy = open_calculate(**{k: v for k, v in parse_qs(urlsplit(copied).query).items() if k != "id"})
    pd.testing.assert_frame_equal(result(from_copy), shown)


def test_the_sql_is_shown_and_the_csv_offered(frame):
    at = open_calculate(g="district", a="sum~amount", f="district~eq~O'Brien Park")
    sql = [c.value for c in at.code if c.value.startswith("SELECT")]
    assert sql[0].startswith('SELECT "district", sum("amount") AS "sum of amount"\nFROM "works"\n'
                             "WHERE \"district\" = 'O''Brien Park'")
    assert [b.label for b in at.get("download_button")] == ["Download the result (CSV)"]


def test_one_row_of_totals_without_groups(frame):
    at = open_calculate(a=["count", "max~paid_on"])
    assert result(at)["rows"].tolist() == [len(frame)]
    assert [m.label for m in at.metric] == ["rows", "maximum of paid_on"]
    assert [m.value for m in at.metric][0] == f"{len(frame):,}"


def test_coordinates_give_a_map_with_its_words(frame):
    at = open_calculate(g="district", f="urgent~true")
    assert len(at.get("deck_gl_json_chart")) == 1
    words = [c.value for c in at.caption if c.value.startswith("In words:")]
    assert words and f"hold {frame['urgent'].sum()} matching rows" in words[0]
    assert any("No area boundaries come with the catalogue" in c.value for c in at.caption)


def test_a_calculation_that_does_not_fit_is_explained(frame):
    at = open_calculate(a="sum~district")
    assert "The sum cannot be taken of “district”, a text column" in at.error[0].value.replace("\\", "")


@pytest.mark.parametrize("dataset_id", ["hidden_works", "nothing_here"])
def test_an_unknown_or_non_public_dataset_is_not_found(dataset_id):
    at = AppTest.from_file(APP, default_timeout=30)
    at.switch_page("views/calculate.py")
    at.query_params["id"] = dataset_id
    at.run()
    assert not at.exception
    assert "There is no published public dataset" in at.error[0].value
    assert not at.dataframe
