"""Calculations without code: every aggregate, time period and grouping matches pandas on the same rows."""

from __future__ import annotations

import math

import pandas as pd
import pytest

from catalog import calculate as calc
from catalog import filters as flt
from catalog.errors import QueryError
from catalog.query import Sandbox
from catalog.table_view import release_columns
from tests.catalog.test_filters import TABLE, publish_works


@pytest.fixture(scope="module")
def works(tmp_path_factory):
    home, rows = publish_works(tmp_path_factory.mktemp("calculate"))
    sandbox = Sandbox(home)
    return sandbox, release_columns(sandbox, TABLE), pd.DataFrame(rows)


def run(works, spec: calc.Calculation) -> calc.CalculationResult:
    sandbox, kinds, _ = works
    return calc.run(sandbox, TABLE, spec, kinds)


def by_district(result: calc.CalculationResult, column: str) -> dict:
    return dict(zip(result.table["district"], result.table[column]))


def close(a: dict, b: dict) -> bool:
    return a.keys() == b.keys() and all(math.isclose(float(a[k]), float(b[k]), rel_tol=1e-9) for k in a)


AGGREGATES = [
    (calc.Measure("count"), "rows", lambda g: g.size()),
    (calc.Measure("count", "amount"), "count of amount", lambda g: g["amount"].count()),
    (calc.Measure("sum", "amount"), "sum of amount", lambda g: g["amount"].sum()),
    (calc.Measure("mean", "amount"), "mean of amount", lambda g: g["amount"].mean()),
    (calc.Measure("median", "amount"), "median of amount", lambda g: g["amount"].median()),
    (calc.Measure("min", "amount"), "minimum of amount", lambda g: g["amount"].min()),
    (calc.Measure("max", "amount"), "maximum of amount", lambda g: g["amount"].max()),
    (calc.Measure("distinct", "at_time"), "distinct at_time", lambda g: g["at_time"].nunique()),
    (calc.Measure("share"), "share of rows (%)", lambda g: 100 * g.size() / g.size().sum()),
    (calc.Measure("share", "amount"), "share of amount (%)",
     lambda g: 100 * g["amount"].sum() / g["amount"].sum().sum()),
]


@pytest.mark.parametrize("measure, heading, expect", AGGREGATES, ids=[a[1] for a in AGGREGATES])
def test_each_aggregate_by_group_matches_pandas(works, measure, heading, expect):
    frame = works[2]
    result = run(works, calc.Calculation(group_by=(calc.GroupBy("district"),), measures=(measure,)))
    assert result.measures == [heading] and list(result.table.columns) == ["district", heading]
    assert close(by_district(result, heading), expect(frame.groupby("district")).to_dict())
    assert not result.truncated


def test_min_and_max_of_dates_and_text(works):
    frame = works[2]
    result = run(works, calc.Calculation(measures=(calc.Measure("min", "paid_on"), calc.Measure("max", "note"),
                                                   calc.Measure("median", "logged_at"))))
    row = result.table.iloc[0]
    assert row["minimum of paid_on"] == frame["paid_on"].min()
    assert row["maximum of note"] == frame["note"].dropna().max()
    assert pd.Timestamp(row["median of logged_at"]) == pd.Series(pd.to_datetime(frame["logged_at"])).median()


PERIODS = {"month": lambda d: d.strftime("%Y-%m"), "quarter": lambda d: f"{d.year}-Q{(d.month - 1) // 3 + 1}",
           "year": lambda d: d.year}


@pytest.mark.parametrize("bucket", calc.BUCKETS)
@pytest.mark.parametrize("column", ["paid_on", "logged_at"])
def test_time_periods_cut_dates_and_datetimes(works, bucket, column):
    frame = works[2]
    result = run(works, calc.Calculation(group_by=(calc.GroupBy(column, bucket),),
                                         measures=(calc.Measure("count"), calc.Measure("sum", "amount"))))
    labels = frame[column].map(PERIODS[bucket])
    expected = frame.groupby(labels).agg(rows=("id", "size"), total=("amount", "sum"))
    heading = f"{column} ({bucket})"
    assert result.periods == [heading]
    assert result.table[heading].tolist() == sorted(expected.index.tolist()), "in time order"
    assert result.table["rows"].tolist() == expected["rows"].tolist()
    assert all(math.isclose(a, b) for a, b in zip(result.table["sum of amount"], expected["total"]))


@pytest.mark.parametrize("columns", [["district"], ["district", "urgent"], ["district", "urgent", "at_time"]])
def test_group_by_one_to_three_columns(works, columns):
    frame = works[2]
    result = run(works, calc.Calculation(group_by=tuple(calc.GroupBy(c) for c in columns),
                                         measures=(calc.Measure("count"),), limit=10_000))
    expected = frame.groupby(columns).size()
    assert len(result.table) == len(expected)
    got = result.table.set_index(columns)["rows"].sort_index()
    assert got.tolist() == expected.sort_index().tolist()
    assert result.table["rows"].tolist() == sorted(result.table["rows"], reverse=True), "largest first by default"


def test_filters_apply_before_grouping(works):
    frame = works[2]
    chosen = (flt.Filter("urgent", "true"), flt.Filter("paid_on", "before", ("2024-06-01",)))
    result = run(works, calc.Calculation(filters=chosen, group_by=(calc.GroupBy("district"),),
                                         measures=(calc.Measure("sum", "amount"),)))
    kept = frame[frame["urgent"] & (frame["paid_on"] < pd.Timestamp("2024-06-01").date())]
    assert close(by_district(result, "sum of amount"), kept.groupby("district")["amount"].sum().to_dict())


def test_sort_by_a_result_column_and_the_row_cap(works):
    frame = works[2]
    spec = calc.Calculation(group_by=(calc.GroupBy("at_time"),), measures=(calc.Measure("max", "amount"),),
                            sort="maximum of amount", descending=False, limit=5)
    result = run(works, spec)
    smallest = frame.groupby("at_time")["amount"].max().sort_values().head(5)
    assert result.table["maximum of amount"].tolist() == smallest.tolist()
    assert result.truncated and len(result.table) == 5
    assert not run(works, calc.Calculation(group_by=(calc.GroupBy("district"),), limit=4)).truncated


def test_without_groups_one_row_of_totals(works):
    frame = works[2]
    result = run(works, calc.Calculation(measures=(calc.Measure("count"), calc.Measure("share"),
                                                   calc.Measure("mean", "amount"))))
    assert len(result.table) == 1
    row = result.table.iloc[0]
    assert (row["rows"], row["share of rows (%)"]) == (len(frame), 100)
    assert math.isclose(row["mean of amount"], frame["amount"].mean())


def test_the_sql_shown_runs_as_is_and_gives_the_same_result(works):
    sandbox, kinds, _ = works
    spec = calc.Calculation(filters=(flt.Filter("district", "in", ("O'Brien Park", "North")),
                                     flt.Filter("logged_at", "after", ("2024-02-01",))),
                            group_by=(calc.GroupBy("logged_at", "month"), calc.GroupBy("district")),
                            measures=(calc.Measure("count"), calc.Measure("share", "amount")))
    result = calc.run(sandbox, TABLE, spec, kinds)
    assert "'O''Brien Park'" in result.sql and "TIMESTAMP '2024-02-02 00:00:00'" in result.sql
    again = sandbox.query(result.sql).to_pandas()
    pd.testing.assert_frame_equal(again, result.table)


@pytest.mark.parametrize("spec", [
    calc.Calculation(),
    calc.Calculation(filters=(flt.Filter("note", "contains", ("50% ~ off",)), flt.Filter("urgent", "false")),
                     group_by=(calc.GroupBy("paid_on", "quarter"), calc.GroupBy("a~b")),
                     measures=(calc.Measure("count"), calc.Measure("sum", "amount"), calc.Measure("distinct", "x~y")),
                     sort="sum of amount", descending=False, limit=25),
])
def test_a_link_gives_back_the_same_calculation(spec):
    params = spec.to_query()
    assert all(isinstance(v, str) or all(isinstance(x, str) for x in v) for v in params.values())
    assert calc.Calculation.from_query(params) == spec


@pytest.mark.parametrize("spec, message", [
    (calc.Calculation(group_by=tuple(calc.GroupBy(c) for c in ("district", "urgent", "note", "at_time"))),
     "group by at most 3 columns"),
    (calc.Calculation(group_by=(calc.GroupBy("district", "month"),)),
     "only date and datetime columns can be cut into months; “district” is a text column"),
    (calc.Calculation(group_by=(calc.GroupBy("paid_on", "week"),)), "“week” is not a time period"),
    (calc.Calculation(measures=(calc.Measure("sum", "district"),)),
     "the sum cannot be taken of “district”, a text column; it works on number columns"),
    (calc.Calculation(measures=(calc.Measure("sum"),)), "the sum needs a column"),
    (calc.Calculation(measures=(calc.Measure("average", "amount"),)), "“average” is not a calculation"),
    (calc.Calculation(measures=(calc.Measure("count"), calc.Measure("count"))), "“rows” is asked for twice"),
    (calc.Calculation(measures=()), "pick at least one thing to calculate"),
    (calc.Calculation(sort="total"), "cannot sort by “total”"),
    (calc.Calculation(limit=0), "the row cap must be between 1 and 10,000"),
    (calc.Calculation(group_by=(calc.GroupBy("colour"),)), "there is no column “colour” in this release"),
    (calc.Calculation(filters=(flt.Filter("amount", "on", ("1",)),)), "“on” does not apply to the number column"),
])
def test_a_calculation_that_does_not_fit_says_what_to_change(works, spec, message):
    with pytest.raises(QueryError) as raised:
        run(works, spec)
    assert message in str(raised.value)


@pytest.mark.parametrize("params, message", [
    ({"g": ["a~month~extra"]}, "g=“a~month~extra”"), ({"a": ["~amount"]}, "a=“~amount”"),
    ({"sort": ["rows~up"]}, "sort=“rows~up”"), ({"limit": ["ten"]}, "“ten” in the link is not a whole number"),
])
def test_a_malformed_link_is_refused(params, message):
    with pytest.raises(QueryError, match=message):
        calc.Calculation.from_query(params)


def test_the_summary_names_the_highest_and_lowest_group(works):
    frame = works[2]
    result = run(works, calc.Calculation(group_by=(calc.GroupBy("district"),),
                                         measures=(calc.Measure("sum", "amount"),)))
    sums = frame.groupby("district")["amount"].sum()
    text = calc.summary(result)
    assert text.startswith(f"sum of amount: highest {sums.idxmax()} with {calc.number_text(float(sums.max()))}; ")
    assert f"lowest {sums.idxmin()} with {calc.number_text(float(sums.min()))}; 4 groups." in text


def test_the_summary_of_a_time_series_gives_its_span(works):
    result = run(works, calc.Calculation(group_by=(calc.GroupBy("paid_on", "year"),)))
    assert calc.summary(result).startswith(f"From {result.table.iloc[0, 0]} to {result.table.iloc[-1, 0]}, rows: ")
    assert calc.summary(result).endswith(f"; {len(result.table)} periods.")
    empty = run(works, calc.Calculation(filters=(flt.Filter("district", "eq", ("Atlantis",)),),
                                        group_by=(calc.GroupBy("district"),)))
    assert calc.summary(empty) == "No rows match the filters."


def test_map_cells_count_the_matching_rows_with_coordinates(works):
    sandbox, kinds, frame = works
    assert calc.coordinate_columns(kinds) == ("latitude", "longitude")
    assert calc.coordinate_columns({"x": "number", "y": "number"}) is None
    cells, sql = calc.location_counts(sandbox, TABLE, [flt.Filter("urgent", "true")], kinds)
    kept = frame[frame["urgent"]]
    assert cells["records"].sum() == len(kept)
    assert len(cells) == len(kept.assign(lat=kept["latitude"].round(3), lon=kept["longitude"].round(3))
                             .drop_duplicates(["lat", "lon"]))
    assert "TRUE" in sql and "?" not in sql


def test_measure_options_fit_each_column(works):
    _, kinds, _ = works
    options = calc.measure_options(kinds)
    assert calc.Measure("sum", "amount") in options and calc.Measure("sum", "district") not in options
    assert calc.Measure("distinct", "district") in options and calc.Measure("median", "paid_on") in options
    result = run(works, calc.Calculation(group_by=(calc.GroupBy("district"),), measures=tuple(options[:6])))
    assert len(result.table) == 4
    for start in range(6, len(options), 6):
        run(works, calc.Calculation(measures=tuple(options[start:start + 6])))  # each one runs
