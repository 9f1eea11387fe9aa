"""Small-cell protection of tables of counts: what a reader of the published table would notice.

The checks here do not trust the module's own bookkeeping: lines are rebuilt with pandas
groupby, derivability is decided by exact rational elimination, and on one- and two-dimensional
tables by searching for other fillings of the hidden cells that keep every total.
"""

from __future__ import annotations

import itertools
import json
import re
from contextlib import contextmanager
from fractions import Fraction

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from catalog import small_cells
from catalog.small_cells import derivable_cells, protect_counts

TOTAL = "All"
PROPERTY = settings(max_examples=60, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow])


# --------------------------------------------------------------------------- building tables


def long_table(body: np.ndarray, with_totals: bool = False, count: str = "n") -> pd.DataFrame:
    """A long-form table (one row per cell) from an array of counts, dimensions d0, d1, ...;
    with totals, every dimension also gets the value "All" holding the sums."""
    dims = [f"d{i}" for i in range(body.ndim)]
    if with_totals:
        for axis in range(body.ndim):
            body = np.concatenate([body, body.sum(axis=axis, keepdims=True)], axis=axis)
    labels = [[f"v{i}" for i in range(size - with_totals)] + ([TOTAL] if with_totals else [])
              for size in body.shape]
    rows = [dict(zip(dims, (labels[a][i] for a, i in enumerate(index))), **{count: int(body[index])})
            for index in itertools.product(*[range(s) for s in body.shape])]
    return pd.DataFrame(rows)


def dimensions_of(table: pd.DataFrame) -> list[str]:
    return [c for c in table.columns if c.startswith("d")]


@st.composite
def count_tables(draw, max_dims: int = 3, sizes: tuple[int, int] = (2, 3)):
    """A 1-D to max_dims-D table mixing small counts (0..12) and large ones, with or without totals."""
    ndim = draw(st.integers(1, max_dims))
    shape = tuple(draw(st.lists(st.integers(*sizes), min_size=ndim, max_size=ndim)))
    cells = int(np.prod(shape))
    values = draw(st.lists(st.one_of(st.integers(0, 12), st.integers(10, 100_000)), min_size=cells, max_size=cells))
    return long_table(np.array(values).reshape(shape), with_totals=draw(st.booleans()))


# --------------------------------------------------------------------------- independent checks


def lines_of(table: pd.DataFrame, dims: list[str], total_label: str | None) -> list[tuple[list, object]]:
    """Every line (cells along one dimension, the others fixed) as (body row labels, total row label).
    A dimension with a single value has no lines: its sums would be the cells themselves."""
    lines = []
    for dim in dims:
        if table[dim].nunique() < 2:
            continue
        others = [d for d in dims if d != dim]
        parts = [part for _, part in table.groupby(others)] if others else [table]
        for part in parts:
            is_total = (part[dim] == total_label) if total_label else pd.Series(False, index=part.index)
            body = list(part.index[~is_total])
            total = part.index[is_total]
            if body:
                lines.append((body, total[0] if len(total) else None))
    return lines


def line_system(published: pd.DataFrame, count: str, total_label: str | None) -> tuple[list[list[int]], list]:
    """Coefficients of the hidden cells in every line: sum of hidden body cells - hidden total."""
    hidden = list(published.index[published[count].isna()])
    where = {label: i for i, label in enumerate(hidden)}
    rows = []
    for body, total in lines_of(published, dimensions_of(published), total_label):
        row = [0] * len(hidden)
        for label in body:
            if label in where:
                row[where[label]] += 1
        if total is not None and total in where:
            row[where[total]] -= 1
        if any(row):
            rows.append(row)
    return rows, hidden


def exactly_derivable(rows: list[list[int]], unknowns: int) -> set[int]:
    """Unknowns whose unit vector lies in the row space, by exact rational row reduction: in the
    reduced row echelon form, e_i is in the row space iff i is a pivot column whose row has
    nothing in the free columns."""
    matrix = [[Fraction(v) for v in row] for row in rows]
    pivots: list[int] = []
    top = 0
    for column in range(unknowns):
        found = next((r for r in range(top, len(matrix)) if matrix[r][column] != 0), None)
        if found is None:
            continue
        matrix[top], matrix[found] = matrix[found], matrix[top]
        lead = matrix[top][column]
        matrix[top] = [v / lead for v in matrix[top]]
        for r in range(len(matrix)):
            if r != top and matrix[r][column] != 0:
                factor = matrix[r][column]
                matrix[r] = [a - factor * b for a, b in zip(matrix[r], matrix[top])]
        pivots.append(column)
        top += 1
    free = [c for c in range(unknowns) if c not in pivots]
    return {column for row, column in enumerate(pivots) if all(matrix[row][f] == 0 for f in free)}


def can_take_another_value(rows: list[list[int]], unknowns: int, cell: int) -> bool:
    """Is there another filling of the hidden cells, each within 1 of its true value, that keeps
    every line's total? Searched cell by cell, pruning a line as soon as all its cells are set."""
    last_of_line = [max(i for i, v in enumerate(row) if v) for row in rows]
    closing = {i: [r for r, last in enumerate(last_of_line) if last == i] for i in range(unknowns)}
    shift = [0] * unknowns

    def search(i: int) -> bool:
        if i == unknowns:
            return True
        for step in ((1,) if i == cell else (0, 1, -1)):
            shift[i] = step
            if all(sum(c * s for c, s in zip(rows[r], shift)) == 0 for r in closing[i]) and search(i + 1):
                return True
        shift[i] = 0
        return False

    return search(0)


def hidden_per_line(published: pd.DataFrame, count: str, total_label: str | None) -> list[int]:
    hidden = published[count].isna()
    return [int(hidden[body].sum()) + (int(hidden[total]) if total is not None else 0)
            for body, total in lines_of(published, dimensions_of(published), total_label)]


def protect(table: pd.DataFrame, rule: str, **options):
    total = TOTAL if (table[dimensions_of(table)] == TOTAL).any().any() else None
    return protect_counts(table, dimensions_of(table), ["n"], rule, total_label=total, **options), total


# --------------------------------------------------------------------------- properties: every rule


@PROPERTY
@given(table=count_tables(), rule=st.sampled_from(["suppress", "round"]), k=st.integers(2, 12),
       base=st.integers(1, 10))
def test_no_published_count_is_small(table, rule, k, base):
    (published, report), _ = protect(table, rule, k=k, base=base)
    shown = published["n"].dropna()
    assert not shown.between(1, k - 1).any()
    truth = table["n"]
    assert published["n"][truth.between(1, k - 1)].isna().all()
    if rule == "round":
        assert (shown % base == 0).all()
        assert ((shown - truth[shown.index]).abs() <= base / 2).all()
    assert report.columns["n"].primary + report.columns["n"].secondary == published["n"].isna().sum()


@PROPERTY
@given(table=count_tables())
def test_nhs_rule_hides_one_to_seven_and_rounds_the_rest_to_fives(table):
    (published, report), _ = protect(table, "nhs")
    truth, shown = table["n"], published["n"]
    assert shown[truth == 0].eq(0).all()                       # zeros stay 0
    assert shown[truth.between(1, 7)].isna().all()             # 1..7 hidden
    assert shown[truth >= 8].notna().all()                     # nothing else hidden: no secondary
    published_counts = shown.dropna()
    assert not published_counts.between(1, 7).any()
    assert (published_counts % 5 == 0).all()
    assert ((published_counts - truth[published_counts.index]).abs() <= 2).all()
    assert report.columns["n"].secondary == 0


@PROPERTY
@given(table=count_tables(), rule=st.sampled_from(["round", "nhs"]))
def test_rounding_rules_round_totals_on_their_own(table, rule):
    (published, report), total = protect(table, rule, k=10, base=5)
    assert report.columns["n"].secondary == 0
    if total:
        totals = (table[dimensions_of(table)] == TOTAL).any(axis=1) & (table["n"] >= 10)
        expected = (table.loc[totals, "n"] + 2) // 5 * 5
        assert published.loc[totals, "n"].astype(int).tolist() == expected.tolist()


# --------------------------------------------------------------------------- properties: suppress


@PROPERTY
@given(table=count_tables(), k=st.sampled_from([3, 5, 10]), zero_disclosive=st.booleans())
def test_suppress_keeps_true_values_and_leaves_no_line_with_one_hidden_cell(table, k, zero_disclosive):
    (published, report), total = protect(table, "suppress", k=k, zero_disclosive=zero_disclosive)
    shown = published["n"]
    kept = shown.notna()
    assert (shown[kept] == table["n"][kept]).all()
    if zero_disclosive:
        assert shown[table["n"] == 0].isna().all()
    assert 1 not in hidden_per_line(published, "n", total)
    assert len(derivable_cells(published, dimensions_of(table), "n", total_label=total)) == 0
    assert report.passed


@PROPERTY
@given(table=count_tables(max_dims=3))
def test_no_hidden_cell_can_be_worked_out_exact_rational_check(table):
    (published, _), total = protect(table, "suppress")
    rows, hidden = line_system(published, "n", total)
    assert exactly_derivable(rows, len(hidden)) == set()


@PROPERTY
@given(table=count_tables(max_dims=2))
def test_every_hidden_cell_has_another_filling_that_keeps_the_totals(table):
    # In one and two dimensions every cell that linear algebra cannot pin down lies on a cycle of
    # hidden cells whose alternating +1/-1 filling keeps every line's sum, so a window of +-1 is
    # enough to find a second value for each of them.
    (published, _), total = protect(table, "suppress")
    rows, hidden = line_system(published, "n", total)
    assert all(can_take_another_value(rows, len(hidden), cell) for cell in range(len(hidden)))


@PROPERTY
@given(data=st.data(), table=count_tables(max_dims=3))
def test_in_sparse_tables_only_cells_no_hiding_could_protect_stay_derivable(data, table):
    present = data.draw(st.lists(st.booleans(), min_size=len(table), max_size=len(table)).filter(any))
    sparse = table[present]
    (published, report), total = protect(sparse, "suppress")
    assert not published["n"].dropna().between(1, 9).any()
    revealed = set(derivable_cells(published, dimensions_of(sparse), "n", total_label=total))
    assert len(revealed) == report.columns["n"].unprotected
    everything_hidden = sparse.assign(n=pd.array([pd.NA] * len(sparse), dtype="Int64"))
    rows, hidden = line_system(everything_hidden, "n", total)
    assert revealed <= {hidden[i] for i in exactly_derivable(rows, len(hidden))}


@settings(max_examples=60, deadline=None, database=None)
@given(data=st.data(), table=count_tables(max_dims=3))
def test_derivable_cells_agrees_with_exact_rational_elimination(data, table):
    hide = data.draw(st.lists(st.booleans(), min_size=len(table), max_size=len(table)))
    published = table.assign(n=table["n"].astype("Int64").mask(hide))
    total = TOTAL if (table[dimensions_of(table)] == TOTAL).any().any() else None
    rows, hidden = line_system(published, "n", total)
    expected = {hidden[i] for i in exactly_derivable(rows, len(hidden))}
    assert set(derivable_cells(published, dimensions_of(table), "n", total_label=total)) == expected


@settings(max_examples=25, deadline=None, database=None)
@given(data=st.data(), table=count_tables(max_dims=3, sizes=(2, 4)))
def test_the_audit_of_large_groups_agrees_with_the_svd(data, table):
    hide = data.draw(st.lists(st.booleans(), min_size=len(table), max_size=len(table)))
    published = table.assign(n=table["n"].astype("Int64").mask(hide))
    total = TOTAL if (table[dimensions_of(table)] == TOTAL).any().any() else None
    by_svd = set(derivable_cells(published, dimensions_of(table), "n", total_label=total))
    with dense_audit_limit(0):
        by_projection = set(derivable_cells(published, dimensions_of(table), "n", total_label=total))
    assert by_projection == by_svd


@contextmanager
def dense_audit_limit(unknowns: int):
    """Decide every group above this size by projection instead of the SVD."""
    saved, small_cells.DENSE_AUDIT_LIMIT = small_cells.DENSE_AUDIT_LIMIT, unknowns
    try:
        yield
    finally:
        small_cells.DENSE_AUDIT_LIMIT = saved


# --------------------------------------------------------------------------- hand-written examples


def grid(rows: list[list[int]], row_names=None, column_names=None) -> pd.DataFrame:
    row_names = row_names or [f"r{i}" for i in range(len(rows))]
    column_names = column_names or [f"c{j}" for j in range(len(rows[0]))]
    return pd.DataFrame([{"region": r, "sex": c, "admissions": v}
                         for r, row in zip(row_names, rows) for c, v in zip(column_names, row)])


def hidden_cells(published: pd.DataFrame, count: str = "admissions") -> set[tuple[str, str]]:
    return {(r.region, r.sex) for r in published[published[count].isna()].itertuples()}


def test_two_by_two_with_one_small_cell_hides_all_four():
    table = grid([[3, 20], [15, 40]])
    published, report = protect_counts(table, ["region", "sex"], ["admissions"], "suppress")
    assert hidden_cells(published) == {("r0", "c0"), ("r0", "c1"), ("r1", "c0"), ("r1", "c1")}
    assert (report.columns["admissions"].primary, report.columns["admissions"].secondary) == (1, 3)


def test_three_by_three_hides_the_smallest_partners_that_close_a_rectangle():
    table = grid([[3, 50, 20],
                  [40, 60, 30],
                  [25, 70, 80]])
    published, report = protect_counts(table, ["region", "sex"], ["admissions"], "suppress")
    # row r0 hides its smallest other cell (20), column c0 its smallest (25); then 80 fixes both
    # row r2 and column c2 at once, so it wins over the smaller 70
    assert hidden_cells(published) == {("r0", "c0"), ("r0", "c2"), ("r2", "c0"), ("r2", "c2")}
    assert report.columns["admissions"].secondary == 3
    assert published.loc[published.admissions.notna(), "admissions"].tolist() == [50, 40, 60, 30, 70]
    assert report.plain == ("In 'admissions', counts from 1 to 9 are hidden, and 3 more cells are hidden so "
                            "that they cannot be worked out from the totals.")


def test_a_table_with_total_rows_keeps_its_totals_and_hides_body_cells():
    table = grid([[4, 30, 34],
                  [20, 25, 45],
                  [24, 55, 79]], row_names=["North", "South", "Total"], column_names=["F", "M", "Total"])
    published, report = protect_counts(table, ["region", "sex"], ["admissions"], "suppress", total_label="Total")
    assert hidden_cells(published) == {("North", "F"), ("North", "M"), ("South", "F"), ("South", "M")}
    totals = published[(published.region == "Total") | (published.sex == "Total")]
    assert totals.admissions.tolist() == [34, 45, 24, 55, 79]
    assert len(derivable_cells(published, ["region", "sex"], "admissions", total_label="Total")) == 0


def test_a_small_total_row_is_hidden_like_any_cell():
    table = grid([[2, 4, 6],
                  [20, 25, 45],
                  [22, 29, 51]], row_names=["Isles", "Mainland", "All"], column_names=["F", "M", "All"])
    published, _ = protect_counts(table, ["region", "sex"], ["admissions"], "suppress", total_label="All")
    assert ("Isles", "All") in hidden_cells(published)
    assert len(derivable_cells(published, ["region", "sex"], "admissions", total_label="All")) == 0


def test_the_totals_would_reveal_a_lone_hidden_cell():
    table = grid([[3, 20], [15, 40]])
    exposed = table.assign(admissions=table.admissions.astype("Int64").mask(table.admissions == 3))
    assert list(derivable_cells(exposed, ["region", "sex"], "admissions")) == [0]


def test_rounding_with_totals_needs_no_secondary_suppression():
    table = grid([[4, 30, 34],
                  [20, 25, 45],
                  [24, 57, 81]], row_names=["North", "South", "Total"], column_names=["F", "M", "Total"])
    published, report = protect_counts(table, ["region", "sex"], ["admissions"], "round", total_label="Total")
    assert published.admissions.tolist() == [pd.NA, 30, 35, 20, 25, 45, 25, 55, 80]
    assert (report.columns["admissions"].secondary, report.columns["admissions"].rounded) == (0, 8)
    assert report.plain == ("In 'admissions', counts from 1 to 9 are hidden; other counts are rounded to the "
                            "nearest 5.")


def test_rounding_to_a_base_of_one_rounds_nothing_so_totals_are_protected_by_suppression():
    table = grid([[3, 20], [15, 40]])
    published, report = protect_counts(table, ["region", "sex"], ["admissions"], "round", base=1)
    assert published.admissions.isna().all()
    assert (report.columns["admissions"].secondary, report.columns["admissions"].rounded) == (3, 0)


def test_nhs_rule_report_and_values():
    table = grid([[0, 7], [8, 12], [13, 1000]])
    published, report = protect_counts(table, ["region", "sex"], ["admissions"], "nhs")
    assert published.admissions.tolist() == [0, pd.NA, 10, 10, 15, 1000]
    assert report.plain == ("In 'admissions', counts from 1 to 7 are hidden; zeros are shown as 0 and other "
                            "counts are rounded to the nearest 5.")


def test_a_count_that_would_round_below_k_is_hidden_too():
    table = grid([[12, 13], [9, 100]])
    published, report = protect_counts(table, ["region", "sex"], ["admissions"], "round", k=12, base=5)
    assert published.admissions.tolist() == [pd.NA, 15, pd.NA, 100]
    assert report.hidden_up_to == 12
    assert "counts from 1 to 12 are hidden" in report.plain


def test_rounding_is_half_up():
    assert small_cells.round_half_up(np.array([12, 13, 15, 25, 14]), 10).tolist() == [10, 10, 20, 30, 10]
    assert small_cells.round_half_up(np.array([12, 13, 2, 3]), 5).tolist() == [10, 15, 0, 5]


def test_the_report_never_contains_a_hidden_value():
    table = grid([[6, 4321], [5678, 8765]])
    published, report = protect_counts(table, ["region", "sex"], ["admissions"], "suppress")
    assert published.admissions.isna().all()
    text = json.dumps(report.to_json())
    assert not any(re.search(rf"\b{v}\b", text) for v in (6, 4321, 5678, 8765))
    assert report.to_json()["columns"]["admissions"] == {
        "column": "admissions", "cells": 4, "primary": 1, "secondary": 3, "rounded": 0, "unprotected": 0,
        "plain": "counts from 1 to 9 are hidden, and 3 more cells are hidden so that they cannot be worked out "
                 "from the totals"}


def test_each_count_column_gets_its_own_pattern_and_the_rest_is_untouched():
    table = grid([[3, 50, 20], [40, 60, 30], [25, 70, 80]])
    table["deaths"] = [40, 50, 60, 70, 80, 90, 100, 2, 110]
    published, report = protect_counts(table, ["region", "sex"], ["admissions", "deaths"], "suppress")
    assert hidden_cells(published, "admissions") == {("r0", "c0"), ("r0", "c2"), ("r2", "c0"), ("r2", "c2")}
    assert hidden_cells(published, "deaths") == {("r2", "c1"), ("r2", "c0"), ("r0", "c1"), ("r0", "c0")}
    assert list(published.columns) == list(table.columns)
    assert published[["region", "sex"]].equals(table[["region", "sex"]])
    assert str(published.admissions.dtype) == "Int64" and str(table.admissions.dtype) == "int64"
    assert table.admissions.iloc[0] == 3                      # the input is not modified
    assert set(report.columns) == {"admissions", "deaths"}


def test_a_dimension_with_a_single_value_adds_no_totals():
    table = grid([[3, 20], [15, 40]]).assign(year=2024)
    published, report = protect_counts(table, ["year", "region", "sex"], ["admissions"], "suppress")
    assert published.admissions.isna().all() and report.passed


def test_a_cell_alone_in_its_line_is_reported_as_unprotected():
    # the Isles only have one age band, so their known total is that cell's value
    table = pd.DataFrame({"region": ["North", "North", "South", "South", "Isles"],
                          "age": ["0-17", "18+", "0-17", "18+", "18+"],
                          "admissions": [120, 340, 95, 410, 4]})
    published, report = protect_counts(table, ["region", "age"], ["admissions"], "suppress")
    column = report.columns["admissions"]
    assert published.admissions.iloc[4] is pd.NA
    assert column.unprotected == 1 and not report.passed
    assert "1 hidden cell can still be worked out from the totals whatever else is hidden" in report.plain
    assert column.secondary <= 2                               # no runaway hiding of whole lines


@pytest.mark.parametrize("shape, seed", [((12, 8, 5), 0), ((20, 10, 6), 1), ((20, 10, 6), 3), ((8, 6, 5, 3), 0)])
def test_larger_tables_in_three_and_four_dimensions_end_with_no_derivable_cell(shape, seed):
    # in three dimensions the line heuristic alone leaves many cells derivable; these tables
    # also need the last resort of hiding a whole 2x2x2 box around a cell
    rng = np.random.default_rng(seed)
    body = np.where(rng.random(shape) < 0.05, rng.integers(1, 10, shape), rng.integers(10, 400, shape))
    table = long_table(body)
    published, report = protect_counts(table, dimensions_of(table), ["n"], "suppress")
    assert report.columns["n"].primary == int(((body > 0) & (body < 10)).sum())
    assert report.passed
    assert len(derivable_cells(published, dimensions_of(table), "n")) == 0
    assert 1 not in hidden_per_line(published, "n", None)
    assert (published["n"].dropna() == table["n"][published["n"].notna()]).all()


def test_zeros_are_kept_unless_declared_disclosive():
    table = grid([[0, 20, 30], [15, 40, 25]])
    published, _ = protect_counts(table, ["region", "sex"], ["admissions"], "suppress")
    assert published.admissions.notna().all()
    published, report = protect_counts(table, ["region", "sex"], ["admissions"], "suppress", zero_disclosive=True)
    assert published.admissions.iloc[0] is pd.NA
    assert report.plain.startswith("In 'admissions', counts from 0 to 9 are hidden")


# --------------------------------------------------------------------------- input errors


@pytest.mark.parametrize("change, arguments, message", [
    (None, {"dimensions": ["region", "county"]}, "unknown column 'county'"),
    (None, {"counts": ["deaths"]}, "unknown column 'deaths'"),
    (None, {"dimensions": []}, "at least one dimension"),
    (None, {"dimensions": ["region", "sex", "admissions"]}, "both a dimension and a count"),
    ({"admissions": [3, -1, 15, 40]}, {}, "1 row .* negative count"),
    ({"admissions": [3.0, 2.5, 15.0, 40.0]}, {}, "not whole numbers"),
    ({"admissions": ["3", "20", "15", "40"]}, {}, "must hold whole numbers"),
    ({"admissions": [3.0, None, 15.0, 40.0]}, {}, "without a count"),
    ({"sex": ["F", "F", "F", "M"]}, {}, "repeat a cell"),
    (None, {"rule": "blur"}, "unknown small-cell rule 'blur'"),
    (None, {"k": 1}, "k must be a whole number of at least 2"),
    (None, {"base": 0}, "base must be a whole number of at least 1"),
])
def test_bad_input_is_refused_with_a_clear_message(change, arguments, message):
    table = grid([[3, 20], [15, 40]])
    if change:
        table = table.assign(**change)
    call = {"dimensions": ["region", "sex"], "counts": ["admissions"], "rule": "suppress", **arguments}
    with pytest.raises(ValueError, match=message):
        protect_counts(table, **call)


def test_an_error_message_never_shows_a_count():
    table = grid([[3, 20], [15, 40]]).assign(admissions=[3, -7, 15, 40])
    with pytest.raises(ValueError) as refused:
        protect_counts(table, ["region", "sex"], ["admissions"], "suppress")
    assert "-7" not in str(refused.value)
