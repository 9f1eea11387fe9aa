"""The Columns tab: a profile of every column, in a table, a chart and words."""

import duckdb
import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest

from catalog import flow
from catalog.spec import load_declarations
from dashboards import data
from dashboards.widgets.profile_panel import PSEUDONYMISED, SMALL_COUNTS, in_words, rules_text, summary_table
from tests.conftest import GOOD_ROWS, REPO

APP = str(REPO / "dashboards" / "app.py")


def open_dataset(dataset_id: str) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=30)
    at.switch_page("views/dataset.py")
    at.query_params["id"] = dataset_id
    return at.run()


def profile_table(at: AppTest):
    (frame,) = [d.value for d in at.dataframe if "in words" in d.value.columns]
    return frame.set_index("column")


def release_sql(home, sql: str):
    con = duckdb.connect()
    try:
        parquet = home / "releases" / "hospital_admissions" / "1" / "data.parquet"
        return con.execute(sql.replace("release", f"read_parquet('{parquet}')")).fetchall()
    finally:
        con.close()


@pytest.fixture
def published_demo(demo, monkeypatch):
    monkeypatch.setenv("GOVCAT_HOME", str(demo.home))
    st.cache_data.clear()
    st.cache_resource.clear()
    return demo.home


def test_every_column_of_the_release_is_profiled(published_demo):
    at = open_dataset("hospital_admissions")
    assert not at.exception
    table = profile_table(at)
    names = [name for name, *_ in release_sql(published_demo, "DESCRIBE SELECT * FROM release")]
    assert list(table.index) == names
    (ward, count), = release_sql(published_demo, "SELECT ward, count(*) FROM release GROUP BY 1 ORDER BY 2 DESC LIMIT 1")
    assert table.loc["ward", "in words"].startswith(f"most common: {ward} ({count:,})")
    (missing,), = release_sql(published_demo, "SELECT avg((discharge_date IS NULL)::INT) FROM release")
    assert table.loc["discharge_date", "missing"] == f"{missing:.1%}"
    (low, high), = release_sql(published_demo,
                               "SELECT min(length_of_stay_days), max(length_of_stay_days) FROM release")
    assert (table.loc["length_of_stay_days", "min"], table.loc["length_of_stay_days", "max"]) == (str(low), str(high))
    assert table.loc["length_of_stay_days", "in words"].startswith(f"ranges from {low} to {high}")


def test_pseudonymised_and_one_off_values_are_not_shown(published_demo):
    table = profile_table(open_dataset("hospital_admissions"))
    assert table.loc["patient_id", "in words"] == PSEUDONYMISED
    assert table.loc["patient_id", "distribution"] is None and table.loc["patient_id", "min"].endswith("characters")
    assert table.loc["admission_id", "in words"] == SMALL_COUNTS


def test_a_closer_look_draws_one_column_with_its_words(published_demo):
    at = open_dataset("hospital_admissions")
    at.selectbox(key="column_detail").select("ward").run()
    assert not at.exception
    words = profile_table(at).loc["ward", "in words"]
    assert any(c.value == words[:1].upper() + words[1:] + "." for c in at.caption)
    at.selectbox(key="column_detail").select("patient_id").run()
    assert any("replaced by codes" in i.value for i in at.info)


def test_a_link_can_open_the_closer_look_at_a_column(published_demo):
    at = AppTest.from_file(APP, default_timeout=30)
    at.switch_page("views/dataset.py")
    at.query_params["id"] = "hospital_admissions"
    at.query_params["column_detail"] = "length_of_stay_days"
    at.run()
    assert not at.exception and at.selectbox(key="column_detail").value == "length_of_stay_days"
    assert any(c.value.startswith("Ranges from 0 to") for c in at.caption)


def test_the_page_reads_the_stored_profile_without_touching_the_data(published_demo, monkeypatch):
    def refuse(*args, **kwargs):
        raise AssertionError("the profile was recomputed")
    monkeypatch.setattr(data, "profile_parquet", refuse)
    at = open_dataset("world_population")
    assert not at.exception
    assert "Country Name" in profile_table(at).index


def test_a_release_published_before_profiles_gets_one_when_first_shown(declarations, home, monkeypatch):
    declarations.agency()
    declarations.dataset(files={"2024.csv": GOOD_ROWS})
    loaded = load_declarations(declarations.root)
    flow.publish_delivery(loaded, loaded.datasets["grants"], home)
    con = duckdb.connect(str(home / "catalogue.duckdb"))
    con.execute("ALTER TABLE releases DROP COLUMN profile")
    con.close()
    monkeypatch.setenv("GOVCAT_HOME", str(home))
    st.cache_data.clear()
    st.cache_resource.clear()
    at = open_dataset("grants")
    assert not at.exception
    table = profile_table(at)
    assert list(table.index) == ["id", "district", "email", "amount"]
    assert table.loc["email", "in words"] == PSEUDONYMISED
    assert (table.loc["amount", "min"], table.loc["amount", "max"]) == ("3", "10.5")
    assert table.loc["district", "description"] == "District of the city"


def declared_columns_only():
    from dashboards.widgets import profile_panel

    profile_panel.show(None, {"fields": [{"name": "a", "type": "integer"}]}, 3)


def test_without_a_profile_the_declared_columns_are_still_listed():
    at = AppTest.from_function(declared_columns_only).run()
    assert not at.exception
    assert at.table[0].value.index.tolist() == ["a"] and "not available" in at.info[0].value


def column(**overrides) -> dict:
    base = {"name": "x", "type": "integer", "kind": "integer", "missing": 0, "distinct": 3, "distinct_exact": True,
            "min": 1, "max": 30, "range": "values", "bins": None, "top": None, "withheld": None}
    return {**base, **overrides}


def test_the_words_say_what_the_chart_shows():
    bins = [{"label": f"{i * 10} to {i * 10 + 9}", "from": i * 10, "to": i * 10 + 9, "count": n}
            for i, n in enumerate([2, 90, 5, 1, 1, 1])]
    assert in_words(column(min=4, max=57, bins=bins), 100) == "ranges from 4 to 57; most values (90%) between 10 and 19"
    assert in_words(column(min=7, max=7, bins=bins[:1]), 2) == "every value is 7"
    assert in_words(column(missing=5), 5) == "no values: every record is missing this"
    top = [{"value": "North", "count": 40}, {"value": "South", "count": 9}]
    assert in_words(column(kind="text", top=top, small_values=2), 60) == \
        "most common: North (40), South (9); 2 other values with fewer than 5 records each not shown"


def test_table_cells_label_estimates_and_tiny_shares():
    profile = {"rows": 2_000_000, "columns": [
        column(name="a", missing=1_000, distinct=1_234_567, distinct_exact=False),
        column(name="b", kind="text", type="string", missing=500_000, range="lengths",
               length={"min": 1, "max": 12}, min=None, max=None)]}
    table = summary_table(profile).set_index("column")
    assert table.loc["a", "distinct"] == "about 1,200,000" and table.loc["a", "missing"] == "<0.1% (1,000)"
    assert (table.loc["b", "min"], table.loc["b", "max"]) == ("1 character", "12 characters")
    assert table.loc["b", "missing"] == "25.0%"
    assert rules_text({"required": True, "enum": list("abcdefg"), "minimum": 0}) == \
        "required, one of 7 listed values, minimum 0"
