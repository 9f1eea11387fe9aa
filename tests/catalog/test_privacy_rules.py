"""Generalisation rules and the declaration of every privacy rule."""

import datetime as dt

import duckdb
import pytest

from catalog.errors import SpecError
from catalog.privacy_rules import Generalisation
from catalog.spec import load_declarations

PEOPLE_SCHEMA = {"fields": [
    {"name": "id", "type": "integer", "constraints": {"required": True, "unique": True}},
    {"name": "admitted", "type": "date", "constraints": {"required": True}},
    {"name": "age", "type": "integer", "constraints": {"minimum": 0}},
    {"name": "postcode", "type": "string", "constraints": {"pattern": "[A-Z0-9 ]+"}},
    {"name": "income", "type": "number"},
    {"name": "comment", "type": "string"},
    {"name": "admissions", "type": "integer"},
], "primaryKey": ["id"]}
ROWS = "id,admitted,age,postcode,income,comment,admissions\n1,2024-03-05,34,LS1 4AB,31250.5,fine,3\n"


def generalised(rule: Generalisation, values: list, sql_type: str) -> list:
    con = duckdb.connect()
    con.execute(f"CREATE TABLE t (i INTEGER, x {sql_type})")
    con.executemany("INSERT INTO t VALUES (?, ?)", list(enumerate(values)))
    return [r[0] for r in con.execute(f"SELECT {rule.sql('x')} FROM t ORDER BY i").fetchall()]


def test_dates_to_month_or_year():
    days = [dt.date(2024, 3, 5), dt.date(1999, 12, 31), None]
    assert generalised(Generalisation("d", "date", to="month"), days, "DATE") == ["2024-03", "1999-12", None]
    assert generalised(Generalisation("d", "date", to="year"), days, "DATE") == [2024, 1999, None]


def test_ages_to_bands_with_a_top_code():
    rule = Generalisation("age", "integer", bands=5, top=90)
    assert generalised(rule, [0, 4, 5, 34, 89, 90, 104, None, -1], "BIGINT") == [
        "0-4", "0-4", "5-9", "30-34", "85-89", "90+", "90+", None, None]
    assert rule.plain() == "values grouped in bands of 5, 90 and over as '90+'"


def test_uk_postcodes_to_district_sector_area_or_any_code_to_a_prefix():
    codes = ["LS1 4AB", "sw1a 1aa", "M1 1AE", "not a postcode", None]
    assert generalised(Generalisation("p", "string", to="district"), codes, "VARCHAR") == ["LS1", "SW1A", "M1", None, None]
    assert generalised(Generalisation("p", "string", to="sector"), codes, "VARCHAR") == ["LS1 4", "SW1A 1", "M1 1", None, None]
    assert generalised(Generalisation("p", "string", to="area"), codes, "VARCHAR") == ["LS", "SW", "M", None, None]
    assert generalised(Generalisation("p", "string", prefix=2), codes, "VARCHAR") == ["LS", "SW", "M1", "NO", None]


def test_numbers_rounded_and_top_and_bottom_coded():
    rule = Generalisation("income", "number", round=1000, top=100000, bottom=5000)
    assert generalised(rule, [31250.5, 31750.0, 250000.0, 12.0, None], "DOUBLE") == [31000.0, 32000.0, 100000.0, 5000.0, None]
    whole = Generalisation("n", "integer", round=10)
    assert generalised(whole, [14, 15, 26], "BIGINT") == [10, 20, 30]


def declare(declarations, privacy: dict):
    declarations.agency()
    declarations.dataset(schema=PEOPLE_SCHEMA, files={"2024.csv": ROWS}, privacy=privacy)


def problems(declarations, privacy: dict) -> list[str]:
    declare(declarations, privacy)
    with pytest.raises(SpecError) as raised:
        load_declarations(declarations.root)
    return raised.value.problems


def test_rules_are_read_and_the_published_schema_says_what_changed(declarations):
    declare(declarations, {
        "generalise": {"admitted": {"to": "month"}, "age": {"bands": 10, "top": 80}, "postcode": "district",
                       "income": {"round": 1000}},
        "k_anonymity": {"quasi_identifiers": ["age", "postcode"], "k": 5, "max_suppression": 0.1},
        "scrub": ["comment"]})
    spec = load_declarations(declarations.root).datasets["grants"]
    assert spec.privacy.changed() == {"admitted", "age", "postcode", "income", "comment"}
    fields = {f["name"]: f for f in spec.published_schema()["fields"]}
    assert fields["admitted"]["type"] == "yearmonth" and fields["admitted"]["constraints"] == {"required": True}
    assert fields["age"]["type"] == "string" and "bands of 10" in fields["age"]["description"]
    assert fields["postcode"]["type"] == "string" and "constraints" not in fields["postcode"]
    assert fields["income"]["type"] == "number"
    assert fields["id"]["constraints"] == {"required": True, "unique": True}
    assert spec.privacy.as_dict()["k_anonymity"]["quasi_identifiers"] == ["age", "postcode"]


@pytest.mark.parametrize("privacy, expected", [
    ({"generalise": {"admitted": {"to": "week"}}}, "generalise.admitted: to: must be one of month, year"),
    ({"generalise": {"comment": {"bands": 5}}}, "a string column takes to, prefix, not bands"),
    ({"generalise": {"age": {"bands": 5, "round": 10}}}, "bands: must be a whole number from 1"),
    ({"generalise": {"nope": {"to": "year"}}}, "unknown or dropped column 'nope'"),
    ({"generalise": {"id": {"round": 10}}, "pseudonymise": ["id"]}, "also pseudonymised"),
    ({"k_anonymity": {"quasi_identifiers": ["age"], "k": 1}}, "k_anonymity.k: must be a whole number from 2"),
    ({"k_anonymity": {"quasi_identifiers": ["age"], "k": 5, "max_suppression": 2}}, "between 0 and 1"),
    ({"k_anonymity": {"quasi_identifiers": ["age"], "k": 5, "l_diversity": {"sensitive": "age", "l": 2}}},
     "not a quasi-identifier"),
    ({"small_cells": {"counts": ["comment"], "rule": "suppress"}}, "must be an integer column of counts"),
    ({"small_cells": {"counts": ["admissions"], "rule": "hide"}}, "small_cells.rule: must be one of"),
    ({"scrub": ["age"]}, "only text columns can be scrubbed"),
])
def test_a_rule_that_cannot_work_is_a_declaration_problem(declarations, privacy, expected):
    found = problems(declarations, privacy)
    assert any(expected in p for p in found), found
