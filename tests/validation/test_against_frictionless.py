"""govcat's validator and frictionless's, side by side on messy generated tables.

Each table mixes valid cells with the spellings where a fast validator is most likely to
disagree with frictionless (leading zeros, signs, spaces, exponents, impossible dates,
non-ASCII text under a pattern, repeated keys). The two reports must list the same
(type, row, field) triples, in the same order.
"""

from __future__ import annotations

import csv
import random

import pytest
from frictionless import Resource, Schema, system

from catalog.validation.run import validate

SCHEMA = {
    "fields": [
        {"name": "id", "type": "integer", "constraints": {"required": True, "unique": True}},
        {"name": "code", "type": "string", "constraints": {"pattern": "[A-Z]{2}-[0-9]{3}", "maxLength": 6}},
        {"name": "amount", "type": "number", "constraints": {"minimum": 0, "maximum": 1000}},
        {"name": "euro", "type": "number", "decimalChar": ",", "groupChar": "."},
        {"name": "day", "type": "date"},
        {"name": "uk_day", "type": "date", "format": "%d/%m/%Y"},
        {"name": "at", "type": "datetime"},
        {"name": "flag", "type": "boolean"},
        {"name": "year", "type": "year", "constraints": {"minimum": 2000}},
        {"name": "month", "type": "yearmonth"},
        {"name": "clock", "type": "time"},
        {"name": "mail", "type": "string", "format": "email"},
        {"name": "kind", "type": "string", "constraints": {"enum": ["a", "b", "c"], "required": True}},
        {"name": "count", "type": "integer", "constraints": {"enum": [1, 2, 3]}},
        {"name": "where", "type": "geopoint"},
        {"name": "ref", "type": "integer"},
    ],
    "primaryKey": ["id"],
    "foreignKeys": [{"fields": ["ref"], "reference": {"resource": "", "fields": ["id"]}}],
    "missingValues": ["", "NA"],
}

CHOICES = {
    "id": ["1", "2", "007", "+3", " 4", "1e3", "12.0", "x", "", "9" * 20, "٣"],
    "code": ["AB-123", "ab-123", "AB-1234", "ÀB-123", "AB-123\n", "", "NA"],
    "amount": ["1", "1.50", ".5", "5.", "-1", "1001", "1e2", "NaN", " 2 ", "1,5", "inf", "0"],
    "euro": ["1.234,5", "1234,5", "1.5", "12", "abc", ""],
    "day": ["2024-02-29", "2023-02-29", "2024-1-5", "2024/01/05", " 2024-01-05", "0999-01-01", ""],
    "uk_day": ["05/03/2024", "5/3/2024", "31/02/2024", "2024-03-05", ""],
    "at": ["2024-01-01T10:00:00", "2024-01-01 10:00:00", "2024-01-01T10:00:00Z", "2024-01-01T25:00:00",
           "2024-01-01T10:00:00+02:00", "2024-01-01T10:00", ""],
    "flag": ["true", "false", "True", "yes", "1", "0", "TRUE", "y", ""],
    "year": ["2024", "1999", "24", " 202", "20245", "abcd", ""],
    "month": ["2024-01", "2024-13", "2024-1", "24-01", ""],
    "clock": ["10:00:00", "25:00:00", "10:00", "10:00:00.5", ""],
    "mail": ["ann@example.org", "ann@@example.org", "ann.b@mail.example.co.uk", "no-at", "ä@example.org", ""],
    "kind": ["a", "b", "c", "d", "A", "", "NA"],
    "count": ["1", "2", "4", "01", "x", ""],
    "where": ["10.5, 20.1", "200, 10", "10,20", "abc", ""],
    "ref": ["1", "2", "3", "99", "", "x"],
}


def _messy_table(path, seed: int, rows: int = 250, line_breaks: bool = True) -> None:
    rng = random.Random(seed)
    names = [f["name"] for f in SCHEMA["fields"]]
    choices = {name: [c for c in values if line_breaks or "\n" not in c] for name, values in CHOICES.items()}
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(names)
        for number in range(1, rows + 1):
            roll = rng.random()
            if roll < 0.02:
                writer.writerow([""] * len(names))                     # a blank row
                continue
            row = []
            for name in names:
                if rng.random() < 0.85 and name != "id":
                    row.append(choices[name][0] if rng.random() < 0.7 else rng.choice(choices[name][:2]))
                else:
                    row.append(rng.choice(choices[name]))
            row[0] = str(number) if rng.random() < 0.9 else rng.choice(CHOICES["id"])
            if roll > 0.98:
                row = row + ["extra"]
            elif 0.96 < roll <= 0.98:
                row = row[:-3]
            writer.writerow(row)


def _triples(report) -> list[tuple]:
    return [(e.type, getattr(e, "row_number", None), getattr(e, "field_number", None))
            for task in report.tasks for e in task.errors]


def _frictionless(path) -> list[tuple]:
    with system.use_context(trusted=True):
        resource = Resource(path=path.name, basepath=str(path.parent), schema=Schema.from_descriptor(SCHEMA))
        return _triples(resource.validate(limit_errors=0))


@pytest.mark.parametrize("seed", range(6))
def test_same_errors_in_the_same_order_as_frictionless(tmp_path, seed):
    path = tmp_path / f"messy-{seed}.csv"
    _messy_table(path, seed)
    expected = _frictionless(path)
    assert len(expected) > 20, "the generated table should be messy enough to be a test"
    got = _triples(validate(path.name, schema=SCHEMA, basepath=str(tmp_path), limit_errors=0))
    assert got == expected


def test_the_fast_reader_and_the_stream_reader_agree(tmp_path):
    """A blank line sends the table to frictionless's row stream; the answers must not change."""
    path = tmp_path / "plain.csv"
    _messy_table(path, 99, line_breaks=False)
    lines = path.read_text(encoding="utf-8").split("\n")
    with_blank_line = tmp_path / "blank-line.csv"
    with_blank_line.write_text("\n".join(lines[:50] + [""] + lines[50:]), encoding="utf-8")
    fast = validate(path.name, schema=SCHEMA, basepath=str(tmp_path), limit_errors=0)
    slow = validate(with_blank_line.name, schema=SCHEMA, basepath=str(tmp_path), limit_errors=0)
    assert fast.tasks[0].custom["reader"] == "duckdb"
    assert slow.tasks[0].custom["reader"] == "stream"
    assert _triples(slow) == _frictionless(with_blank_line)
    shift = {(t, r, f) for t, r, f in _triples(fast) if r is None or r <= 50}
    assert shift <= set(_triples(slow))


def _descriptors(report) -> list[dict]:
    return [{k: v for k, v in e.to_descriptor().items() if k in ("type", "rowNumber", "fieldNumber", "cells", "note")}
            for task in report.tasks for e in task.errors]


@pytest.mark.parametrize("encoding, newline, final_newline", [
    ("utf-8", "\n", True), ("utf-8", "\r\n", False), ("cp1252", "\r\n", True), ("utf-8-sig", "\n", False)])
def test_repeated_keys_in_otherwise_valid_rows_carry_their_cells(tmp_path, monkeypatch, encoding, newline,
                                                                 final_newline):
    """Rows that pass every cell check but repeat a key are read back from their own line; small
    blocks put lines across block boundaries."""
    monkeypatch.setattr("catalog.validation.lines.BLOCK", 64)
    monkeypatch.setattr("catalog.validation.lines.READ_BYTES", 192)
    schema = {"fields": [{"name": "id", "type": "integer"}, {"name": "name", "type": "string"},
                         {"name": "note", "type": "string"}], "primaryKey": ["id"]}
    rows = [["id", "name", "note"]]
    for number in range(1, 121):
        rows.append([str(number), f"Crème brûlée à la française {number}", f'said "hi", then {number}' if number % 3 else ""])
    for copy in (5, 40, 77, 119, 120):
        rows.append(list(rows[copy]))
    rows.append(rows[1][:1] + ["last, unquoted?", "é"])
    path = tmp_path / "repeats.csv"
    with path.open("w", newline="", encoding=encoding) as handle:
        writer = csv.writer(handle, lineterminator=newline)
        writer.writerows(rows)
    if not final_newline:
        path.write_bytes(path.read_bytes().removesuffix(newline.encode()))
    report = validate(path.name, schema=schema, basepath=str(tmp_path), limit_errors=0)
    with system.use_context(trusted=True):
        expected = Resource(path=path.name, basepath=str(tmp_path), schema=Schema.from_descriptor(schema)).validate(
            limit_errors=0)
    assert report.tasks[0].custom["reader"] == "duckdb"
    assert len(_descriptors(expected)) == 6
    assert _descriptors(report) == _descriptors(expected)
