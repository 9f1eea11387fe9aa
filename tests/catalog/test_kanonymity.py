"""k-anonymity by local suppression: every published combination of quasi-identifiers is shared
by k records (and l sensitive values), the share reported is the share touched, the rest of each
record and the row order are kept, and the risk reported is the prosecutor risk."""

import json
import random
from collections import defaultdict
from dataclasses import dataclass

import duckdb
import pyarrow as pa
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from catalog.kanonymity import KAnonymityResult, enforce_k_anonymity, risk

QI_NAMES = ["age_band", "sex", "district", "Ethnic Group", 'job "title"', "select"]
SENSITIVE = "diagnosis"
PROPERTY = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])


# --------------------------------------------------------------------------- tables


@dataclass
class Microdata:
    """A generated input: columns in row order, which of them are quasi-identifiers, and the rule."""

    columns: dict[str, list]
    types: dict[str, pa.DataType]
    qis: list[str]
    k: int
    max_suppression: float
    l: int | None = None

    @property
    def sensitive(self) -> str | None:
        return SENSITIVE if self.l else None

    @property
    def rows(self) -> list[tuple]:
        return list(zip(*self.columns.values()))

    @property
    def names(self) -> list[str]:
        return list(self.columns)

    def replace_rows(self, rows: list[tuple]) -> None:
        self.columns = {name: [row[i] for row in rows] for i, name in enumerate(self.names)}


def load(con, table: Microdata | dict, name: str = "source", types: dict | None = None) -> None:
    columns = table.columns if isinstance(table, Microdata) else table
    types = table.types if isinstance(table, Microdata) else (types or {})
    arrow = pa.table({c: pa.array(v, type=types.get(c)) for c, v in columns.items()})
    con.register("incoming", arrow)
    con.execute(f"CREATE OR REPLACE TABLE {name} AS SELECT * FROM incoming")
    con.unregister("incoming")


def skewed(rng: random.Random, domain: list, rows: int, null_share: float) -> list:
    """Values drawn with uneven weights, so that some combinations are rare, and some NULLs."""
    weights = [rng.random() ** 3 + 0.001 for _ in domain]
    values = rng.choices(domain, weights, k=rows)
    return [None if rng.random() < null_share else v for v in values]


@st.composite
def microdata(draw, max_rows: int = 3000) -> Microdata:
    rng = random.Random(draw(st.integers(0, 2**32 - 1)))
    rows = draw(st.one_of(st.integers(0, 30), st.integers(0, max_rows)))
    names = draw(st.permutations(QI_NAMES))[:draw(st.integers(1, 4))]
    columns: dict[str, list] = {"id": rng.sample(range(10 * rows + 1), rows)}
    types: dict[str, pa.DataType] = {"id": pa.int64()}
    for name in names:
        size, numeric = draw(st.integers(1, 8)), draw(st.booleans())
        domain = list(range(size)) if numeric else [f"{name[:2]}{v}" for v in range(size)]
        columns[name] = skewed(rng, domain, rows, draw(st.sampled_from([0, 0, 0.05, 0.3])))
        types[name] = pa.int64() if numeric else pa.string()
    columns["payload"] = [rng.randrange(10**6) for _ in range(rows)]
    types["payload"] = pa.int64()
    diverse = draw(st.booleans())
    if diverse:
        domain = [f"C{v}" for v in range(draw(st.integers(1, 5)))]
        columns[SENSITIVE] = skewed(rng, domain, rows, draw(st.sampled_from([0, 0.1])))
        types[SENSITIVE] = pa.string()
    k = draw(st.integers(2, 6))
    share = draw(st.one_of(st.sampled_from([0.0, 0.01, 0.05, 0.2, 1.0]), st.floats(0, 1)))
    return Microdata(columns, types, list(names), k, share, draw(st.integers(2, 3)) if diverse else None)


def run(table: Microdata, **extra) -> tuple[duckdb.DuckDBPyConnection, KAnonymityResult]:
    con = duckdb.connect()
    load(con, table)
    result = enforce_k_anonymity(con, "source", "published", table.qis, table.k, table.max_suppression,
                                 sensitive=table.sensitive, l=table.l, **extra)
    return con, result


def published_rows(con, table: str = "published") -> list[tuple]:
    return con.execute(f"SELECT * FROM {table}").fetchall()


def classes(rows: list[tuple], names: list[str], qis: list[str]) -> dict[tuple, list[tuple]]:
    positions = [names.index(q) for q in qis]
    grouped = defaultdict(list)
    for row in rows:
        grouped[tuple(row[p] for p in positions)].append(row)
    return grouped


# --------------------------------------------------------------------------- properties


@PROPERTY
@given(microdata())
def test_every_published_class_has_k_records_and_l_sensitive_values(table):
    con, result = run(table)
    published = classes(published_rows(con), table.names, table.qis)
    sizes = [len(rows) for rows in published.values()]
    assert all(size >= table.k for size in sizes)
    assert result.k_achieved == (min(sizes) if sizes else None)
    if table.l:
        where = table.names.index(SENSITIVE)
        diversity = [len({r[where] for r in rows} - {None}) for rows in published.values()]
        assert all(d >= table.l for d in diversity)
        assert result.l_achieved == (min(diversity) if diversity else None)


@PROPERTY
@given(microdata())
def test_the_share_reported_is_the_share_of_records_touched(table):
    con, result = run(table)
    before = {row[0]: row for row in table.rows}
    after = {row[0]: row for row in published_rows(con)}
    positions = {q: table.names.index(q) for q in table.qis}
    hidden = {q: sum(1 for i, row in after.items() if before[i][p] is not None and row[p] is None)
              for q, p in positions.items()}
    touched_kept = sum(1 for i, row in after.items()
                       if any(before[i][p] is not None and row[p] is None for p in positions.values()))
    removed = len(before) - len(after)
    share = (touched_kept + removed) / len(before) if before else 0.0
    assert (result.records_in, result.records_out, result.records_removed) == (len(before), len(after), removed)
    assert result.records_suppressed == touched_kept
    assert result.cells_suppressed == hidden
    assert result.suppressed_share == share
    assert result.passed is (share <= table.max_suppression)


@PROPERTY
@given(microdata())
def test_kept_records_keep_their_order_and_other_values(table):
    con, result = run(table)
    before = {row[0]: row for row in table.rows}
    input_order = [row[0] for row in table.rows]
    output = published_rows(con)
    kept = [row[0] for row in output]
    assert kept == [i for i in input_order if i in set(kept)]
    positions = {table.names.index(q) for q in table.qis}
    for row in output:
        for position, value in enumerate(row):
            original = before[row[0]][position]
            assert value == original or (position in positions and value is None)
    described = con.execute("SELECT column_name, column_type FROM (DESCRIBE published)").fetchall()
    assert described == con.execute("SELECT column_name, column_type FROM (DESCRIBE source)").fetchall()


@PROPERTY
@given(microdata())
def test_records_of_classes_already_safe_are_never_touched(table):
    con, _ = run(table)
    before = classes(table.rows, table.names, table.qis)
    where = table.names.index(SENSITIVE) if table.l else None

    def safe(rows):
        return len(rows) >= table.k and (not table.l or len({r[where] for r in rows} - {None}) >= table.l)

    untouched = {row for rows in before.values() if safe(rows) for row in rows}
    assert untouched <= set(published_rows(con))


@PROPERTY
@given(microdata(max_rows=400))
def test_an_already_anonymous_table_comes_out_unchanged(table):
    # repeat every combination until it is shared by k records with l sensitive values
    rows = [row for row in table.rows for _ in range(table.k)]
    if table.l:
        where = table.names.index(SENSITIVE)
        rows = [row[:where] + (f"C{copy}",) + row[where + 1:] for row in rows for copy in range(table.l)]
    rows = [(index,) + row[1:] for index, row in enumerate(rows)]
    table.replace_rows(rows)
    con, result = run(table)
    assert published_rows(con) == rows
    assert (result.suppressed_share, result.records_removed, result.records_suppressed) == (0.0, 0, 0)
    assert set(result.cells_suppressed.values()) <= {0}
    assert result.passed
    assert result.risk_after == result.risk_before
    assert "nothing was hidden" in result.plain


def recomputed_risk(con, relation: str, qis: list[str], threshold: float) -> dict:
    frame = con.execute(f"SELECT * FROM {relation}").df()
    if frame.empty:
        return {"records": 0, "highest": 0.0, "records_at_risk": 0, "share_at_risk": 0.0, "average": 0.0}
    record_risk = 1.0 / frame.groupby(qis, dropna=False)["id"].transform("size")
    at_risk = int((record_risk > threshold).sum())
    return {"records": len(frame), "highest": float(record_risk.max()), "records_at_risk": at_risk,
            "share_at_risk": at_risk / len(frame), "average": float(record_risk.mean())}


@PROPERTY
@given(microdata(), st.one_of(st.none(), st.sampled_from([0.05, 0.2, 0.5, 1.0])))
def test_risk_matches_a_pandas_recomputation_before_and_after(table, threshold):
    con, result = run(table, risk_threshold=threshold)
    expected_threshold = threshold if threshold is not None else 1 / table.k
    for relation, reported in (("source", result.risk_before), ("published", result.risk_after)):
        expected = recomputed_risk(con, relation, table.qis, expected_threshold)
        measured = risk(con, relation, table.qis, expected_threshold)
        assert measured == reported
        assert reported.threshold == expected_threshold
        assert (reported.records, reported.records_at_risk) == (expected["records"], expected["records_at_risk"])
        assert reported.highest == expected["highest"]
        assert reported.share_at_risk == pytest.approx(expected["share_at_risk"])
        assert reported.average == pytest.approx(expected["average"])
    assert result.risk_after.highest <= 1 / table.k


@PROPERTY
@given(microdata(max_rows=500))
def test_nothing_reported_holds_a_data_value(table):
    marked = {q: [None if v is None else f"secret{v}" for v in table.columns[q]] for q in table.qis}
    table.columns.update(marked)
    table.types.update({q: pa.string() for q in table.qis})
    _, result = run(table)
    assert "secret" not in json.dumps(result.to_json())


# --------------------------------------------------------------------------- examples

PEOPLE = {"id": [1, 2, 3, 4, 5, 6],
          "district": ["North", "North", "South", "South", "North", "North"],
          "sex": ["F", "F", "M", "M", "M", None],
          "income": [10, 20, 30, 40, 50, 60]}


def example(columns: dict, qis: list[str], k: int = 2, max_suppression: float = 0.5, types=None, **extra):
    con = duckdb.connect()
    load(con, columns, types=types)
    return con, enforce_k_anonymity(con, "source", "published", qis, k, max_suppression, **extra)


def test_exactly_one_value_is_hidden_when_that_is_enough():
    con, result = example(PEOPLE, ["district", "sex"])
    assert published_rows(con) == [(1, "North", "F", 10), (2, "North", "F", 20), (3, "South", "M", 30),
                                   (4, "South", "M", 40), (5, "North", None, 50), (6, "North", None, 60)]
    assert (result.records_suppressed, result.records_removed, result.cells_suppressed) == \
        (1, 0, {"district": 0, "sex": 1})
    assert result.suppressed_share == 1 / 6 and result.passed
    assert (result.k_achieved, result.risk_before.highest, result.risk_after.highest) == (2, 1.0, 0.5)
    assert (result.risk_before.records_at_risk, result.risk_after.records_at_risk) == (2, 0)


def test_the_last_listed_quasi_identifier_is_hidden_first():
    _, by_sex_last = example(PEOPLE, ["district", "sex"])
    con, by_district_last = example(PEOPLE, ["sex", "district"])
    assert by_sex_last.cells_suppressed == {"district": 0, "sex": 1}
    # district first: the lone (M, North) and (missing, North) records lose their district, then
    # the first its sex too, joining the second
    assert by_district_last.cells_suppressed == {"sex": 1, "district": 2}
    assert published_rows(con)[4:] == [(5, None, None, 50), (6, None, None, 60)]


def test_a_record_alone_even_with_every_value_hidden_is_removed():
    columns = {"id": [1, 2, 3, 4, 5], "district": ["North", "North", "South", "South", "East"],
               "sex": ["F", "F", "M", "M", "X"]}
    con, result = example(columns, ["district", "sex"], max_suppression=0.1)
    assert published_rows(con) == [(1, "North", "F"), (2, "North", "F"), (3, "South", "M"), (4, "South", "M")]
    assert (result.records_removed, result.records_suppressed, result.suppressed_share) == (1, 0, 0.2)
    assert result.passed is False
    assert result.plain == ("to make every combination of district and sex shared by at least 2 records, "
                            "1 record was removed; that touches 20.0% of the records, more than the 10.0% allowed")


def test_suppressed_records_form_a_class_with_records_missing_that_value():
    # the lone (North, M) record joins the (North, missing) record once its sex is hidden
    con, result = example(PEOPLE, ["district", "sex"], k=2)
    assert classes(published_rows(con), list(PEOPLE), ["district", "sex"])[("North", None)] == \
        [(5, "North", None, 50), (6, "North", None, 60)]
    assert result.risk_after.classes == 3


def test_a_class_with_one_sensitive_value_is_suppressed_for_l_diversity():
    # North has three records but one diagnosis: hidden, they join the record missing a district
    columns = {"id": list(range(1, 10)),
               "district": ["North"] * 3 + ["South"] * 3 + ["East"] * 2 + [None],
               "diagnosis": ["flu", "flu", "flu", "flu", "cold", "cold", "flu", "cold", "cold"]}
    con, result = example(columns, ["district"], k=2, sensitive="diagnosis", l=2)
    assert published_rows(con) == [(1, None, "flu"), (2, None, "flu"), (3, None, "flu"), (4, "South", "flu"),
                                   (5, "South", "cold"), (6, "South", "cold"), (7, "East", "flu"),
                                   (8, "East", "cold"), (9, None, "cold")]
    assert result.l_achieved == 2 and result.k_achieved == 2
    assert result.records_suppressed == 3 and result.suppressed_share == 3 / 9


def test_a_class_that_stays_without_diversity_is_removed():
    columns = {"id": [1, 2, 3, 4, 5], "district": ["North"] * 3 + ["South"] * 2,
               "diagnosis": ["flu", "flu", "flu", "flu", "cold"]}
    con, result = example(columns, ["district"], k=2, sensitive="diagnosis", l=2)
    assert published_rows(con) == [(4, "South", "flu"), (5, "South", "cold")]
    assert (result.records_removed, result.records_suppressed, result.suppressed_share) == (3, 0, 0.6)


def test_the_plain_sentence_counts_values_records_and_names_the_columns():
    rows = ([("30-34", "F", "North")] * 6 + [("30-34", "M", "North")] * 5 + [("30-34", "M", "South")] * 2
            + [("30-34", "M", None)] * 3 + [("90+", "X", "East")])
    columns = {"id": list(range(len(rows))), "age_band": [r[0] for r in rows], "sex": [r[1] for r in rows],
               "district": [r[2] for r in rows]}
    _, result = example(columns, ["age_band", "sex", "district"], k=5, max_suppression=0.25)
    assert result.plain == ("to make every combination of age band, sex and district shared by at least 5 records, "
                            "2 values (11.8% of records) were hidden and 1 record removed")
    assert (result.records_suppressed, result.records_removed) == (2, 1)
    assert result.cells_suppressed == {"age_band": 0, "sex": 0, "district": 2}


def test_the_plain_sentence_when_nothing_needed_hiding():
    columns = {"id": [1, 2, 3, 4], "district": ["North"] * 4, "diagnosis": ["flu", "cold", "flu", "cold"]}
    _, result = example(columns, ["district"], k=2, sensitive="diagnosis", l=2)
    assert result.plain == ("every combination of district was already shared by at least 2 records "
                            "with at least 2 different values of diagnosis; nothing was hidden")


def test_an_empty_table_passes_with_nothing_to_report():
    con, result = example({"id": [], "district": []}, ["district"], types={"id": pa.int64(), "district": pa.string()})
    assert published_rows(con) == []
    assert (result.records_in, result.suppressed_share, result.passed, result.k_achieved) == (0, 0.0, True, None)
    assert result.risk_before.highest == 0.0 and result.risk_after.average == 0.0


def test_no_scratch_table_is_left_behind():
    con, _ = example(PEOPLE, ["district", "sex"])
    assert con.execute("SELECT table_name FROM duckdb_tables()").fetchall() == [("published",), ("source",)]


def test_column_names_are_quoted():
    columns = {"id": [1, 2, 3], 'who "we" are': ["a", "a", "b"], "select": [1, 1, 2]}
    con, result = example(columns, ['who "we" are', "select"], k=2)
    assert published_rows(con) == [(1, "a", 1), (2, "a", 1)]
    assert result.records_removed == 1


# --------------------------------------------------------------------------- input errors


@pytest.mark.parametrize("arguments, message", [
    ({"quasi_identifiers": ["district", "postcode"]}, "no column 'postcode'"),
    ({"quasi_identifiers": []}, "at least one quasi-identifier"),
    ({"quasi_identifiers": "district"}, "must be a list of column names"),
    ({"quasi_identifiers": ["district", "district"]}, "named twice"),
    ({"k": 1}, "k must be a whole number of at least 2"),
    ({"k": 2.5}, "k must be a whole number"),
    ({"k": True}, "k must be a whole number"),
    ({"max_suppression": 1.5}, "max_suppression must be a share between 0 and 1"),
    ({"max_suppression": -0.1}, "max_suppression must be a share between 0 and 1"),
    ({"max_suppression": float("nan")}, "max_suppression must be a share"),
    ({"l": 2}, "needs both a sensitive column and l"),
    ({"sensitive": "income"}, "needs both a sensitive column and l"),
    ({"sensitive": "income", "l": 1}, "l must be a whole number of at least 2"),
    ({"sensitive": "sex", "l": 2}, "cannot also be a quasi-identifier"),
    ({"sensitive": "salary", "l": 2}, "no column 'salary'"),
    ({"risk_threshold": 0}, "risk threshold must be a share above 0"),
    ({"risk_threshold": 2}, "risk threshold must be a share above 0"),
    ({"target": "source"}, "source and target must be different"),
])
def test_invalid_arguments_are_refused_with_a_clear_message(arguments, message):
    con = duckdb.connect()
    load(con, PEOPLE)
    call = {"source": "source", "target": "published", "quasi_identifiers": ["district", "sex"], "k": 2,
            "max_suppression": 0.05, **arguments}
    with pytest.raises(ValueError, match=message):
        enforce_k_anonymity(con, **call)
    assert ("published",) not in con.execute("SELECT table_name FROM duckdb_tables()").fetchall()


def test_a_column_called_rowid_is_refused():
    con = duckdb.connect()
    load(con, {"rowid": [1, 2], "district": ["a", "a"]})
    with pytest.raises(ValueError, match="rowid"):
        enforce_k_anonymity(con, "source", "published", ["district"], 2, 0.05)


def test_risk_refuses_unknown_columns_and_thresholds():
    con = duckdb.connect()
    load(con, PEOPLE)
    with pytest.raises(ValueError, match="no column 'postcode'"):
        risk(con, "source", ["postcode"], 0.2)
    with pytest.raises(ValueError, match="risk threshold"):
        risk(con, "source", ["district"], 1.5)
