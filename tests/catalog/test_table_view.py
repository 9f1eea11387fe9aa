"""A page of a release: filtered, sorted and counted by the sandbox; only the page comes back."""

from __future__ import annotations

import pytest

from catalog import filters as flt
from catalog.errors import QueryError
from catalog.query import Sandbox
from catalog.table_view import Sort, distinct_values, read_page, release_columns, table_name
from tests.catalog.test_filters import TABLE, publish_works


@pytest.fixture(scope="module")
def works(tmp_path_factory):
    home, rows = publish_works(tmp_path_factory.mktemp("table_view"))
    return Sandbox(home), rows


def sorted_ids(rows, column, descending=False, keep=lambda r: True):
    """What a person expects: missing values last, ties in id order."""
    chosen = [r for r in rows if keep(r)]
    present = sorted((r for r in chosen if r[column] is not None), key=lambda r: r["id"])
    present.sort(key=lambda r: r[column], reverse=descending)
    return [r["id"] for r in present] + [r["id"] for r in chosen if r[column] is None]


@pytest.mark.parametrize("key", ["id", None])
def test_a_sorted_filtered_page_holds_the_rows_a_person_expects(works, key):
    sandbox, rows = works
    chosen = [flt.Filter("urgent", "false")]
    page = read_page(sandbox, TABLE, chosen, Sort("amount", descending=True), page=2, page_size=25, key=key)
    expected = sorted_ids(rows, "amount", descending=True, keep=lambda r: not r["urgent"])
    assert page.total == len(expected) == 80
    assert page.rows["id"].tolist() == expected[25:50]
    assert (page.first_row, page.last_row, page.pages) == (26, 50, 4)
    assert list(page.rows.columns) == list(rows[0]), "every column of the release"


@pytest.mark.parametrize("sort", [Sort("district"), Sort("paid_on", True), Sort("note"), Sort("amount")])
def test_rows_that_tie_on_the_sort_column_are_ordered_by_the_key(works, sort):
    sandbox, rows = works
    chosen = [flt.Filter("amount", "gt", ("20",))]
    expected = sorted_ids(rows, sort.column, sort.descending, keep=lambda r: (r["amount"] or 0) > 20)
    for number in (1, 3):
        by_key = read_page(sandbox, TABLE, chosen, sort, number, 25, key="id")
        direct = read_page(sandbox, TABLE, chosen, sort, number, 25, key=None)
        assert by_key.rows["id"].tolist() == expected[(number - 1) * 25:number * 25]
        # without a key, ties may come in any order; the sorted values are the same
        assert direct.rows[sort.column].tolist() == by_key.rows[sort.column].tolist()
        assert by_key.total == direct.total == len(expected)


def test_without_a_sort_the_page_follows_the_release_order(works):
    sandbox, rows = works
    page = read_page(sandbox, TABLE, page=2, page_size=50, key="id")
    assert page.rows["id"].tolist() == [r["id"] for r in rows][50:100]
    assert page.total == len(rows)


def test_a_page_past_the_end_shows_the_last_page(works):
    sandbox, rows = works
    page = read_page(sandbox, TABLE, [flt.Filter("district", "eq", ("North",))], page=99, page_size=25, key="id")
    north = [r["id"] for r in rows if r["district"] == "North"]
    assert page.page == page.pages == 2
    assert page.rows["id"].tolist() == north[25:]
    assert (page.first_row, page.last_row) == (26, len(north))


def test_no_matching_row_is_an_empty_page_not_an_error(works):
    sandbox, rows = works
    page = read_page(sandbox, TABLE, [flt.Filter("district", "eq", ("Atlantis",))], key="id")
    assert page.total == 0 and page.rows.empty and list(page.rows.columns) == list(rows[0])
    assert (page.page, page.first_row, page.last_row) == (1, 0, 0)


def test_the_sql_shown_runs_as_is_and_gives_the_same_page(works):
    sandbox, _ = works
    chosen = [flt.Filter("district", "in", ("O'Brien Park", "North")), flt.Filter("paid_on", "after", ("2024-02-01",))]
    page = read_page(sandbox, TABLE, chosen, Sort("logged_at", True), page=2, page_size=25, key="id")
    assert "?" not in page.sql and "'O''Brien Park'" in page.sql and "DATE '2024-02-01'" in page.sql
    assert sandbox.query(page.sql).to_pandas()["id"].tolist() == page.rows["id"].tolist()
    assert sandbox.query(page.count_sql).table.column(0).to_pylist() == [page.total]


def test_an_earlier_release_is_read_by_its_number(works):
    sandbox, rows = works
    page = read_page(sandbox, table_name(TABLE, 1), page_size=25, key="id")
    assert page.total == len(rows) and '"works@1"' in page.sql


@pytest.mark.parametrize("call, message", [
    (lambda s: read_page(s, TABLE, sort=Sort("colour")), "no column “colour” to sort by"),
    (lambda s: read_page(s, TABLE, page_size=5000), "a page holds 25, 50, 100 rows, not 5000"),
    (lambda s: read_page(s, TABLE, [flt.Filter("amount", "gt", ("many",))]), "“many” is not a number"),
    (lambda s: read_page(s, "works@7"), "works@7"),
])
def test_a_bad_request_says_what_is_wrong(works, call, message):
    with pytest.raises(QueryError, match=message):
        call(works[0])


@pytest.mark.parametrize("text, expected", [
    ("amount~desc", Sort("amount", True)), ("amount", Sort("amount")), ("a%7Eb~asc", Sort("a~b")), ("", None)])
def test_a_sort_survives_a_link(text, expected):
    assert Sort.from_query(text) == expected
    if expected is not None:
        assert Sort.from_query(expected.to_query()) == expected


def test_a_malformed_sort_in_a_link_is_refused():
    with pytest.raises(QueryError, match="column~asc or column~desc"):
        Sort.from_query("amount~sideways")


def test_pick_lists_offer_a_columns_values_only_when_they_are_few(works):
    sandbox, rows = works
    assert distinct_values(sandbox, TABLE, "district") == sorted({r["district"] for r in rows})
    assert distinct_values(sandbox, TABLE, "note", most=10) is None


def test_columns_are_read_without_reading_rows(works):
    sandbox, _ = works
    assert list(release_columns(sandbox, TABLE))[:3] == ["id", "district", "note"]
