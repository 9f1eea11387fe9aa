"""The rule that keeps govcat exact: a cell the SQL test calls surely valid is one frictionless
accepts, with the same key. Thousands of near-miss cells per field are thrown at both."""

from __future__ import annotations

import random

import duckdb
import pytest
from frictionless import Field

from catalog.validation.fields import field_sql
from catalog.validation.literals import insert_rows

FIELDS = [
    ({"name": "f", "type": "integer"}, ["0", "42", "-7", "+3", "007", "123456789012345678"]),
    ({"name": "f", "type": "integer", "constraints": {"minimum": 1, "maximum": 50}}, ["1", "50", "51", "0"]),
    ({"name": "f", "type": "integer", "constraints": {"enum": [1, 2, 3]}}, ["1", "3", "4"]),
    ({"name": "f", "type": "number"}, ["1.5", "-0.25", ".5", "5.", "1e3", "100"]),
    ({"name": "f", "type": "number", "bareNumber": False}, ["1.5", "€1.5", "1.5%"]),
    ({"name": "f", "type": "number", "decimalChar": ",", "groupChar": "."}, ["1.234,5", "12,0", "1.5"]),
    ({"name": "f", "type": "number", "constraints": {"exclusiveMinimum": 0, "maximum": 10}}, ["0", "10", "0.1"]),
    ({"name": "f", "type": "year"}, ["2024", "0999", "24"]),
    ({"name": "f", "type": "boolean", "trueValues": ["yes", "Y"], "falseValues": ["no"]}, ["yes", "Y", "no", "n"]),
    ({"name": "f", "type": "date"}, ["2024-02-29", "2023-02-29", "2024-1-5", "0999-01-01"]),
    ({"name": "f", "type": "date", "format": "%d/%m/%Y"}, ["05/03/2024", "31/02/2024", "5/3/2024"]),
    ({"name": "f", "type": "date", "constraints": {"minimum": "2020-01-01"}}, ["2020-01-01", "2019-12-31"]),
    ({"name": "f", "type": "datetime"}, ["2024-01-01T10:00:00", "2024-01-01T10:00:00Z", "2024-01-01 10:00:00"]),
    ({"name": "f", "type": "datetime", "format": "%d/%m/%Y %H:%M"}, ["05/03/2024 10:30", "05/03/2024 25:30"]),
    ({"name": "f", "type": "time"}, ["10:00:00", "23:59:59", "24:00:00"]),
    ({"name": "f", "type": "yearmonth"}, ["2024-01", "2024-13"]),
    ({"name": "f", "type": "string", "format": "email"},
     ["ann@example.org", "a.b+c@mail.example.co.uk", "x@y.z", "ann@@example.org", "a-b@ex-ample.org"]),
    ({"name": "f", "type": "string", "format": "uuid"}, ["123e4567-e89b-12d3-a456-426614174000"]),
    ({"name": "f", "type": "string", "format": "uri"}, ["https://example.org/a/b", "http://x"]),
    ({"name": "f", "type": "string", "format": "binary"}, ["aGVsbG8=", "aGk="]),
    ({"name": "f", "type": "string", "constraints": {"pattern": "PAY-[0-9]{4}-[0-9]{8}"}}, ["PAY-2024-00000001"]),
    ({"name": "f", "type": "string", "constraints": {"pattern": r"[A-Z]{1,2}\d[0-9A-Z]? \d[A-Z]{2}"}},
     ["LS1 4AB", "S14 2NQ"]),
    ({"name": "f", "type": "string", "constraints": {"pattern": r"\S+ \w+"}}, ["ab cd", "ab  cd"]),
    ({"name": "f", "type": "string", "constraints": {"pattern": r"[^\d]+"}}, ["abc", "a1"]),
    ({"name": "f", "type": "string", "constraints": {"pattern": "a{,3}"}}, ["aa", "a{,3}"]),
    ({"name": "f", "type": "string", "constraints": {"minLength": 2, "maxLength": 5, "enum": ["ab", "abcdef", "é"]}},
     ["ab", "abcdef", "é"]),
]
NOISE = list("0123456789+-.,:/ TZeE@_aAbzéÀ٣\t\n") + ["\v", "\u00a0", "{", "}", "%"]


def _near_misses(seeds: list[str], rng: random.Random, count: int) -> list[str]:
    """The seeds, and cells a character or two away from them, and some random text."""
    cells = set(seeds)
    while len(cells) < count:
        cell = list(rng.choice(seeds))
        for _ in range(rng.choice([1, 1, 2])):
            where = rng.randrange(len(cell) + 1)
            edit = rng.random()
            if edit < 0.4 and cell:
                cell[min(where, len(cell) - 1)] = rng.choice(NOISE)
            elif edit < 0.7:
                cell.insert(where, rng.choice(NOISE))
            elif cell:
                del cell[min(where, len(cell) - 1)]
        cells.add("".join(cell))
        if rng.random() < 0.05:
            cells.add("".join(rng.choice(NOISE) for _ in range(rng.randrange(1, 12))))
    return sorted(cells)


@pytest.mark.parametrize("descriptor, seeds", FIELDS, ids=lambda d: str(d) if isinstance(d, dict) else "")
def test_surely_valid_cells_are_valid_for_frictionless_with_the_same_key(descriptor, seeds):
    field = Field.from_descriptor(descriptor)
    spec = field_sql(field, [""])
    cells = _near_misses(seeds, random.Random(str(descriptor)), 1500)
    con = duckdb.connect()
    con.execute("CREATE TABLE cells (i BIGINT, x VARCHAR)")
    insert_rows(con, "cells", ["BIGINT", "VARCHAR"], enumerate(cells))
    sql_key = f"CAST({spec.key_sql('x')} AS {spec.key_type})"
    accepted = [i for i, ok in con.execute(f"SELECT i, {spec.surely_valid_sql('x')} FROM cells WHERE x <> '' "
                                             f"ORDER BY i").fetchall() if ok]
    con.execute(f"CREATE TABLE python_keys (i BIGINT, k {spec.key_type})")
    parsed = []
    for i in accepted:
        value, notes = field.read_cell(cells[i])
        assert not notes, f"SQL accepts {cells[i]!r}, frictionless says {notes}"
        parsed.append((i, spec.python_key(value)))
    insert_rows(con, "python_keys", ["BIGINT", spec.key_type], parsed)
    differing = con.execute(f"SELECT x FROM cells JOIN python_keys USING (i) WHERE k IS DISTINCT FROM {sql_key}").fetchall()
    assert not differing, "frictionless's value and the SQL key differ"
    if spec.ok is not None:
        assert accepted, "the valid seeds should pass the SQL test"
