"""Turning an agency's file (CSV, XLSX, JSON, XML) into one UTF-8 CSV of text cells.

Every later step (validation, typing, privacy, publishing) reads that staged CSV, so each
source format has exactly one job here: get its cells out faithfully, as text, with the
header first. Nothing is typed or cleaned; a problem in the data is left for validation
to report, with its row number.
"""

from __future__ import annotations

import codecs
import csv
import datetime as dt
import json
from pathlib import Path
from typing import Any, Iterable, Iterator

from defusedxml import ElementTree
from defusedxml.common import DefusedXmlException

from catalog.errors import SourceError

CHUNK = 1 << 20
FALLBACK_ENCODINGS = ("utf-8", "cp1252", "latin-1")


def stage_csv(source: Path, target: Path, encoding: str | None) -> str:
    """Copy a CSV as UTF-8 (BOM removed), decoding it with ``encoding`` or the first that fits.

    Returns the encoding that was used.
    """
    candidates = (encoding,) if encoding else FALLBACK_ENCODINGS
    last_error: UnicodeDecodeError | None = None
    for candidate in candidates:
        try:
            _recode(source, target, candidate)
            return candidate
        except UnicodeDecodeError as exc:
            last_error = exc
    offset = last_error.start if last_error else 0
    raise SourceError(f"{source.name}: cannot be decoded as {', '.join(candidates)} "
                      f"(first undecodable byte at offset {offset}); declare source.encoding")


def _recode(source: Path, target: Path, encoding: str) -> None:
    name = "utf-8-sig" if codecs.lookup(encoding).name == "utf-8" else encoding
    decoder = codecs.getincrementaldecoder(name)(errors="strict")
    consumed = 0
    with source.open("rb") as raw, target.open("w", encoding="utf-8", newline="") as out:
        while chunk := raw.read(CHUNK):
            try:
                out.write(decoder.decode(chunk))
            except UnicodeDecodeError as exc:
                raise UnicodeDecodeError(exc.encoding, exc.object, consumed + exc.start, consumed + exc.end,
                                         exc.reason) from None
            consumed += len(chunk)
        out.write(decoder.decode(b"", final=True))


def stage_xlsx(source: Path, target: Path, sheet: str | None) -> str:
    """Write one worksheet (the named one, else the first) as CSV. Returns the sheet's name."""
    from openpyxl import load_workbook
    from openpyxl.utils.exceptions import InvalidFileException

    try:
        book = load_workbook(source, read_only=True, data_only=True)
    except (InvalidFileException, KeyError, OSError, ValueError) as exc:
        raise SourceError(f"{source.name}: not a readable XLSX workbook ({exc})") from None
    try:
        if sheet is not None and sheet not in book.sheetnames:
            raise SourceError(f"{source.name}: no sheet named {sheet!r}; the workbook has {book.sheetnames}")
        worksheet = book[sheet] if sheet else book.worksheets[0]
        rows = [[_xlsx_text(v) for v in row] for row in worksheet.iter_rows(values_only=True)]
        name = worksheet.title
    finally:
        book.close()
    while rows and not any(rows[-1]):          # formatting often leaves empty rows at the end
        rows.pop()
    width = max((len(r) for r in rows), default=0)
    while width and not any(len(r) >= width and r[width - 1] for r in rows):
        width -= 1                              # and empty columns at the right
    _write_csv(target, (r[:width] for r in rows))
    return name


def _xlsx_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dt.datetime):
        if value.time() == dt.time(0):
            return value.date().isoformat()
        return value.isoformat(timespec="seconds")
    if isinstance(value, (dt.date, dt.time)):
        return value.isoformat()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def stage_json(source: Path, target: Path, records_path: str | None) -> int:
    """Write a JSON array of records (objects, or lists after a header list) as CSV."""
    try:
        with source.open("rb") as handle:
            document = json.load(handle)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise SourceError(f"{source.name}: not valid JSON ({exc})") from None
    records = document
    for step in (records_path.split(".") if records_path else []):
        if not isinstance(records, dict) or step not in records:
            raise SourceError(f"{source.name}: no key {step!r} on the way to the records ({records_path!r})")
        records = records[step]
    if not isinstance(records, list):
        hint = "" if records_path else "; name the key that holds them with source.records"
        raise SourceError(f"{source.name}: the records must be a JSON array{hint}")
    if records and all(isinstance(r, list) for r in records):
        _write_csv(target, ([_json_text(v) for v in r] for r in records))
        return len(records) - 1
    if not all(isinstance(r, dict) for r in records):
        raise SourceError(f"{source.name}: every record must be an object (or every record a list)")
    header = _ordered_keys(records)
    _write_csv(target, _keyed_rows(header, records, _json_text))
    return len(records)


def _json_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (dict, list)):
        return json.dumps(value, ensure_ascii=False, separators=(",", ":"))
    return str(value)


def stage_xml(source: Path, target: Path, record_tag: str | None) -> int:
    """Write XML records as CSV: each record element's children (and attributes) are its cells."""
    try:
        root = ElementTree.parse(source).getroot()
    except (ElementTree.ParseError, DefusedXmlException) as exc:
        raise SourceError(f"{source.name}: not well-formed or unsafe XML ({exc})") from None
    elements = list(root.iter(record_tag)) if record_tag else list(root)
    if record_tag and not elements:
        raise SourceError(f"{source.name}: no <{record_tag}> elements found")
    records = [_xml_record(e) for e in elements]
    header = _ordered_keys(records)
    _write_csv(target, _keyed_rows(header, records, lambda v: v))
    return len(records)


def _xml_record(element) -> dict[str, str]:
    record = {_local(k): v for k, v in element.attrib.items()}
    for child in element:
        record[_local(child.tag)] = (child.text or "").strip()
    return record


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def _ordered_keys(records: list[dict]) -> list[str]:
    seen: dict[str, None] = {}
    for record in records:
        for key in record:
            seen.setdefault(str(key), None)
    return list(seen)


def _keyed_rows(header: list[str], records: list[dict], to_text) -> Iterator[list[str]]:
    yield header
    for record in records:
        yield [to_text(record.get(key)) for key in header]


def _write_csv(target: Path, rows: Iterable[list[str]]) -> None:
    with target.open("w", encoding="utf-8", newline="") as out:
        writer = csv.writer(out, lineterminator="\n")
        writer.writerows(rows)
