"""The SQL console, driven through Streamlit's AppTest: the published demo, and a home with restricted data."""

import csv
import io

import pandas as pd
import pytest
import streamlit as st
from streamlit.runtime.media_file_manager import MediaFileManager
from streamlit.testing.v1 import AppTest

from catalog.query import ROW_LIMIT
from tests.catalog.test_sandbox_escapes import publish_mixed_home
from tests.conftest import REPO

APP = str(REPO / "dashboards" / "app.py")
GDP_BY_COUNTRY = ('SELECT "Country Code", count(*) AS years, round(max("Value") / 1e9, 1) AS peak_billions\n'
                  'FROM world_gdp WHERE "Country Code" IN (\'FRA\', \'DEU\', \'JPN\')\nGROUP BY ALL ORDER BY 1')


@pytest.fixture(scope="module")
def mixed_home(tmp_path_factory):
    return publish_mixed_home(tmp_path_factory.mktemp("sql_page"))


def serve(monkeypatch, home) -> None:
    monkeypatch.setenv("GOVCAT_HOME", str(home))
    st.cache_data.clear()
    st.cache_resource.clear()


def console(sql: str | None = None) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=30)
    at.switch_page("views/sql.py")
    if sql is not None:
        at.query_params["sql"] = sql
    return at.run()


def has_result(at: AppTest) -> bool:
    """Whether a result table is shown: every other table is the column list inside a table's expander."""
    return len(at.dataframe) > sum(len(e.dataframe) for e in at.expander)


def result(at: AppTest) -> pd.DataFrame:
    assert has_result(at)
    return at.dataframe[0].value


def columns_of(at: AppTest, table: str) -> pd.DataFrame:
    (expander,) = [e for e in at.expander if e.label.split(":")[0] == table]
    return expander.dataframe[0].value


def page_text(at: AppTest) -> str:
    parts = [e.value for kind in ("markdown", "caption", "error", "info", "title", "subheader") for e in at.get(kind)]
    parts += [e.label for e in at.expander] + [b.label for b in at.button] + [b.help or "" for b in at.button]
    parts += [str(frame.value.to_dict()) for frame in at.dataframe]
    return "\n".join(parts)


def expected_gdp(home) -> pd.DataFrame:
    """The same answer computed straight from the release file, without the sandbox."""
    rows = pd.read_parquet(home / "releases" / "world_gdp" / "1" / "data.parquet")
    rows = rows[rows["Country Code"].isin(["FRA", "DEU", "JPN"])]
    grouped = rows.groupby("Country Code")["Value"].agg(["count", "max"]).reset_index().sort_values("Country Code")
    return pd.DataFrame({"Country Code": grouped["Country Code"].tolist(), "years": grouped["count"].tolist(),
                         "peak_billions": (grouped["max"] / 1e9).round(1).tolist()})


class TestOnTheDemo:
    @pytest.fixture(autouse=True)
    def published_demo(self, demo, monkeypatch):
        serve(monkeypatch, demo.home)
        return demo.home

    def test_a_typed_query_runs_and_lands_in_the_url(self, published_demo):
        at = console()
        assert not at.exception and not has_result(at)
        at.text_area(key="sql").input(GDP_BY_COUNTRY)
        at.button(key="run").click().run()
        assert not at.exception and not at.error
        assert at.query_params["sql"] == GDP_BY_COUNTRY
        shown = result(at)
        pd.testing.assert_frame_equal(shown.reset_index(drop=True), expected_gdp(published_demo), check_dtype=False)
        assert at.caption[0].value.startswith("3 rows · the query took ")

    def test_the_url_alone_reproduces_the_query(self, published_demo):
        first = console()
        first.text_area(key="sql").input(GDP_BY_COUNTRY)
        first.button(key="run").click().run()
        shared = console(first.query_params["sql"])  # a new visitor opening the shared link
        assert not shared.exception
        assert shared.text_area(key="sql").value == GDP_BY_COUNTRY
        pd.testing.assert_frame_equal(result(shared), result(first))

    @pytest.mark.parametrize("sql,reason", [
        ("COPY world_gdp TO 'stolen.csv'", "only SELECT queries are allowed"),
        ("SELECT * FROM read_csv('/etc/passwd')", "files, URLs and extensions are out of reach"),
        ("SELECT 1; SET threads = 8", "send exactly one SQL statement"),
        ("SELECT * FROM no_such_table", "no published table 'no\\_such\\_table'"),
    ])
    def test_a_refused_query_shows_the_reason_and_no_result(self, published_demo, sql, reason):
        at = console(sql)
        assert not at.exception
        (error,) = at.error
        assert error.value.startswith("The query did not run: ") and reason in error.value
        assert "Traceback" not in error.value and str(published_demo) not in page_text(at)
        assert "root:" not in page_text(at)
        assert not has_result(at) and not at.get("download_button")

    def test_more_rows_than_the_limit_says_first_10000_rows(self):
        at = console("SELECT * FROM range(25000) t(n)")
        assert len(result(at)) == ROW_LIMIT
        assert at.caption[0].value.startswith(f"Showing the first {ROW_LIMIT:,} rows: the query returns more")

    def test_every_example_runs_on_the_published_tables(self):
        at = console()
        examples = [b for b in at.button if b.key.startswith("example:")]
        assert len(examples) >= 3
        for key in [b.key for b in examples]:
            at.button(key=key).click().run()
            assert not at.exception and not at.error, key
            assert at.query_params["sql"] == at.text_area(key="sql").value
            assert len(result(at)) > 0, at.query_params["sql"]

    def test_the_tables_list_shows_every_public_dataset_with_its_columns(self, published_demo):
        at = console()
        listed = {e.label.split(":")[0] for e in at.expander}
        published = {p.name for p in (published_demo / "releases").iterdir()}
        assert listed == published
        gdp = columns_of(at, "world_gdp")
        assert gdp["column"].tolist() == ["Country Name", "Country Code", "Year", "Value"]

    def test_odd_results_are_shown_not_crashed_on(self):
        at = console("SELECT 1 AS a, 2 AS a, NULL AS nothing, [1, 2] AS list, {'k': 'v'} AS struct, "
                     "DATE '5877642-06-25' AS far_future, INTERVAL 3 DAY AS span")
        assert not at.exception and not at.error
        shown = result(at)
        assert list(shown.columns) == ["a", "a (2)", "nothing", "list", "struct", "far_future", "span"]
        assert shown["far_future"].tolist() == ["5877642-06-25"]
        empty = console("SELECT * FROM world_gdp WHERE false")
        assert not empty.exception and empty.caption[0].value.startswith("0 rows")

    def test_the_csv_download_cannot_run_formulas_in_a_spreadsheet(self, monkeypatch):
        made = {}
        original = MediaFileManager.add_deferred

        def remember(self, data_callable, mimetype, coordinates, file_name=None, **kwargs):
            made[file_name] = data_callable
            return original(self, data_callable, mimetype, coordinates, file_name, **kwargs)

        monkeypatch.setattr(MediaFileManager, "add_deferred", remember)
        at = console("SELECT '=HYPERLINK(''http://evil.example'')' AS \"=cmd\", '+1' AS plus, '-2' AS minus, "
                     "'@SUM(A1)' AS at_sign, chr(9) || 'x' AS tab, chr(13) || 'y' AS cr, 'plain' AS text, "
                     "-5 AS negative, 3.5 AS number")
        assert not at.exception
        rows = list(csv.reader(io.StringIO(made["query.csv"]().decode("utf-8"), newline="")))
        assert rows[0] == ["'=cmd", "plus", "minus", "at_sign", "tab", "cr", "text", "negative", "number"]
        assert rows[1] == ["'=HYPERLINK('http://evil.example')", "'+1", "'-2", "'@SUM(A1)", "'\tx", "'\ry", "plain",
                           "-5", "3.5"]


class TestWithRestrictedData:
    @pytest.fixture(autouse=True)
    def published_mixed(self, mixed_home, monkeypatch):
        serve(monkeypatch, mixed_home)
        return mixed_home

    def test_restricted_and_non_public_tables_are_not_listed(self):
        at = console()
        assert not at.exception
        assert [e.label for e in at.expander] == ["grants: Community grants"]
        assert not has_result(at) and columns_of(at, "grants")["column"].tolist() == ["id", "district", "email",
                                                                                     "amount"]
        text = page_text(at)
        assert "case_files" not in text and "Case files" not in text and "internal_notes" not in text
        assert '"grants@1", "grants@2"' in text

    def test_a_restricted_table_cannot_be_queried_and_is_not_named(self):
        at = console("SELECT * FROM case_files")
        (error,) = at.error
        assert "no published table 'case\\_files'" in error.value and "published tables: grants;" in error.value
        assert "internal" not in page_text(at)

    def test_the_release_example_compares_release_1_with_the_current_one(self):
        at = console()
        (example,) = [b for b in at.button if b.label == "Release 1 of grants beside the current one"]
        example.click().run()
        assert result(at).values.tolist() == [["release 1", 2], ["current (release 2)", 3]]
