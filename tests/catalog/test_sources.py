"""Pulling deliveries in every source format into one staged UTF-8 CSV."""

import csv
import datetime as dt
import json

import pytest
from openpyxl import Workbook

from catalog.errors import SourceError
from catalog.sources import load_pulled, pull
from catalog.spec import load_declarations


def staged_rows(pulled) -> list[list[str]]:
    with pulled.path.open(encoding="utf-8", newline="") as handle:
        return list(csv.reader(handle, delimiter=pulled.delimiter))


def delivered(declarations, source: dict, name: str, content) -> tuple:
    """Declare a dataset whose one delivery is ``name``; ``content`` is bytes, text, or a writer."""
    declarations.agency()
    declarations.dataset(source=source, files={}, privacy=None)
    path = declarations.root / "city" / "grants" / "data" / name
    if callable(content):
        content(path)
    elif isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content, encoding="utf-8")
    return load_declarations(declarations.root).datasets["grants"], path


def test_windows_1252_csv_is_detected_and_recorded(declarations, tmp_path):
    spec, delivery = delivered(declarations, {"path": "data/*.csv"}, "2024.csv",
                               "id,district,email,amount\n1,Café Lumière,x@example.org,5\n".encode("cp1252"))
    pulled = pull(spec, delivery, tmp_path / "stage")
    assert pulled.encoding == "cp1252"
    assert staged_rows(pulled)[1][1] == "Café Lumière"
    assert load_pulled(tmp_path / "stage") == pulled


def test_declared_encoding_that_does_not_fit_names_the_byte(declarations, tmp_path):
    spec, delivery = delivered(declarations, {"path": "data/*.csv", "encoding": "utf-8"}, "2024.csv",
                               "id\n1 Café\n".encode("cp1252"))
    with pytest.raises(SourceError, match=r"cannot be decoded as utf-8 \(first undecodable byte at offset 8\)"):
        pull(spec, delivery, tmp_path / "stage")


def test_utf8_bom_and_crlf_and_semicolons(declarations, tmp_path):
    spec, delivery = delivered(declarations, {"path": "data/*.csv", "delimiter": ";"}, "2024.csv",
                               "\ufeffid;district\r\n1;Nörth\r\n".encode("utf-8"))
    pulled = pull(spec, delivery, tmp_path / "stage")
    assert pulled.encoding == "utf-8" and pulled.delimiter == ";"
    assert staged_rows(pulled) == [["id", "district"], ["1", "Nörth"]]


def test_xlsx_named_sheet_with_dates_and_integral_numbers(declarations, tmp_path):
    book = Workbook()
    book.active.title = "Cover"
    sheet = book.create_sheet("Grants")
    sheet.append(["id", "paid", "amount", "approved"])
    sheet.append([1, dt.datetime(2024, 3, 1), 12.0, True])
    sheet.append([2, dt.datetime(2024, 3, 2, 14, 30), 7.25, False])
    sheet.append([None, None, None, None])
    spec, delivery = delivered(declarations, {"path": "data/*.xlsx", "sheet": "Grants"}, "grants.xlsx", book.save)
    pulled = pull(spec, delivery, tmp_path / "stage")
    assert pulled.sheet == "Grants"
    assert staged_rows(pulled) == [["id", "paid", "amount", "approved"], ["1", "2024-03-01", "12", "true"],
                                   ["2", "2024-03-02T14:30:00", "7.25", "false"]]


def test_xlsx_unknown_sheet_is_a_source_error(declarations, tmp_path):
    spec, delivery = delivered(declarations, {"path": "data/*.xlsx", "sheet": "Missing"}, "grants.xlsx",
                               Workbook().save)
    with pytest.raises(SourceError, match="no sheet named 'Missing'"):
        pull(spec, delivery, tmp_path / "stage")


def test_json_records_under_a_key_keep_first_seen_column_order(declarations, tmp_path):
    spec, delivery = delivered(declarations, {"path": "data/*.json", "records": "export.items"}, "grants.json",
                               json.dumps({"export": {"items": [
                                   {"id": 1, "district": "North", "paid": True},
                                   {"id": 2, "district": None, "extra": {"a": 1}},
                               ]}}))
    pulled = pull(spec, delivery, tmp_path / "stage")
    assert staged_rows(pulled) == [["id", "district", "paid", "extra"], ["1", "North", "true", ""],
                                   ["2", "", "", '{"a":1}']]


def test_json_that_is_not_an_array_says_where_to_look(declarations, tmp_path):
    spec, delivery = delivered(declarations, {"path": "data/*.json"}, "grants.json", '{"items": []}')
    with pytest.raises(SourceError, match="name the key that holds them with source.records"):
        pull(spec, delivery, tmp_path / "stage")


def test_xml_records_from_children_and_attributes(declarations, tmp_path):
    spec, delivery = delivered(declarations, {"path": "data/*.xml", "record": "grant"}, "grants.xml",
                               '<export><grant id="1"><district>North</district><amount>5</amount></grant>'
                               '<grant id="2"><district> South </district></grant></export>')
    pulled = pull(spec, delivery, tmp_path / "stage")
    assert staged_rows(pulled) == [["id", "district", "amount"], ["1", "North", "5"], ["2", "South", ""]]


def test_xml_entity_expansion_is_refused(declarations, tmp_path):
    spec, delivery = delivered(declarations, {"path": "data/*.xml"}, "bomb.xml",
                               '<?xml version="1.0"?><!DOCTYPE r [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;">]>'
                               '<r><row><v>&b;</v></row></r>')
    with pytest.raises(SourceError, match="unsafe XML"):
        pull(spec, delivery, tmp_path / "stage")
