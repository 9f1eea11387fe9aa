"""The query sandbox: public current releases as tables, nothing else reachable."""

import threading
import time

import pytest

from catalog import flow
from catalog.errors import QueryError
from catalog.query import Sandbox
from catalog.spec import load_declarations
from tests.conftest import GOOD_ROWS, TEST_KEY, Declarations


@pytest.fixture(scope="module")
def published(tmp_path_factory):
    """Two datasets published once for the module: one public, one not."""
    root = tmp_path_factory.mktemp("query")
    declarations, home = Declarations(root / "datasets"), root / "home"
    declarations.agency()
    declarations.dataset(files={"2024.csv": GOOD_ROWS})
    declarations.dataset(folder="internal", id="internal_notes", access="non-public", files={"2024.csv": GOOD_ROWS})
    loaded = load_declarations(declarations.root)
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("GOVCAT_PSEUDONYM_KEY", TEST_KEY)
        for spec in loaded.datasets.values():
            flow.publish_delivery(loaded, spec, home)
    return declarations, home


@pytest.fixture(scope="module")
def sandbox(published) -> Sandbox:
    return Sandbox(published[1])


def test_public_dataset_is_a_table_named_by_its_id(sandbox):
    result = sandbox.query("SELECT district, sum(amount) AS total FROM grants GROUP BY district ORDER BY district")
    assert result.columns == ["district", "total"]
    assert result.table.to_pylist() == [{"district": "North", "total": 10.5}, {"district": "South", "total": 3.0}]
    assert not result.truncated


def test_non_public_dataset_is_invisible(sandbox):
    with pytest.raises(QueryError, match="no published table .internal_notes.*published tables: grants"):
        sandbox.query("SELECT * FROM internal_notes")


@pytest.mark.parametrize("sql", [
    "DELETE FROM grants", "CREATE TABLE t AS SELECT 1", "COPY grants TO 'out.csv'", "ATTACH 'x.duckdb'",
    "INSTALL httpfs", "LOAD httpfs", "SET threads = 8", "PRAGMA database_list", "SELECT 1; SELECT 2",
    "CALL pragma_version()", "/* hidden */ PRAGMA version", "-- note\nSET threads = 1", "EXPORT DATABASE 'x'",
])
def test_anything_but_one_select_is_refused(sandbox, sql):
    with pytest.raises(QueryError):
        sandbox.query(sql)


@pytest.mark.parametrize("sql", [
    "SELECT * FROM read_csv('/etc/passwd')", "SELECT * FROM read_text('/etc/hostname')",
    "SELECT * FROM glob('/*')", "SELECT * FROM 'https://example.org/x.csv'",
])
def test_files_and_network_are_out_of_reach(sandbox, sql):
    with pytest.raises(QueryError):
        sandbox.query(sql)


def test_no_server_path_is_visible(sandbox, published):
    home = published[1]
    sandbox.query("SELECT count(*) FROM grants")  # its view now exists, naming a release file
    for sql in ("SELECT * FROM duckdb_settings()", "SELECT * FROM duckdb_views()", "SELECT * FROM duckdb_databases()",
                "SELECT view_definition FROM information_schema.views", "SELECT sql FROM sqlite_master",
                "SELECT current_setting('allowed_paths') AS paths"):
        with pytest.raises(QueryError) as refused:
            sandbox.query(sql)
        assert str(home) not in str(refused.value) and "/releases/" not in str(refused.value)


def test_row_limit_truncates_and_says_so(sandbox):
    result = sandbox.query("SELECT * FROM range(50)", row_limit=10)
    assert result.table.num_rows == 10 and result.truncated


def test_time_limit_stops_a_runaway_query(sandbox):
    with pytest.raises(QueryError, match="took longer than 0.5 seconds"):
        sandbox.query("SELECT count(*) FROM range(1000000000000)", time_limit=0.5)
    assert sandbox.query("SELECT 1 AS one").table.to_pylist() == [{"one": 1}]


def test_a_runaway_query_holds_up_no_one_else(sandbox):
    """Queries run side by side: while one grinds towards its time limit, others are answered, and
    the limit stops only the query that ran over."""
    outcome = {}

    def runaway():
        try:
            sandbox.query("SELECT count(*) FROM range(1000000000000)", time_limit=6)
        except QueryError as exc:
            outcome["runaway"] = str(exc)

    thread = threading.Thread(target=runaway)
    thread.start()
    try:
        time.sleep(0.3)
        answered = [sandbox.query("SELECT sum(amount) AS total FROM grants").table.to_pylist() for _ in range(5)]
        outcome["others_done_while_runaway_ran"] = thread.is_alive()
    finally:
        thread.join()
    assert answered == [[{"total": 13.5}]] * 5
    assert outcome["others_done_while_runaway_ran"]
    assert "took longer than 6 seconds" in outcome["runaway"]

def test_syntax_error_is_reported_in_one_line(sandbox):
    with pytest.raises(QueryError) as caught:
        sandbox.query("SELEC 1")
    assert "syntax error" in str(caught.value) and "\n" not in str(caught.value)
