"""Downloads of a release, and of a filtered selection, in CSV, Parquet, JSON, XLSX and a data package."""

import csv
import datetime as dt
import hashlib
import io
import json
import shutil
import subprocess
import sys
import zipfile

import duckdb
import frictionless
import openpyxl
import pandas as pd
import pytest

from catalog import downloads
from catalog import filters as flt
from catalog.query import Sandbox
from tests.api.ledger import copy_of, published_home
from tests.conftest import REPO

FORMULA_TEXT = {"=SUM(A1:A9)", "+Plus Ltd", "-minus, with a comma", "@handle", "\tstarts with a tab"}


@pytest.fixture(scope="module")
def published(tmp_path_factory):
    return published_home(tmp_path_factory)


@pytest.fixture
def ledger(published, tmp_path):
    return copy_of(published, tmp_path)


def csv_rows(path) -> list[dict]:
    return list(csv.DictReader(io.StringIO(path.read_text(encoding="utf-8"), newline="")))


def sha256(path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_csv_has_a_header_and_no_cell_a_spreadsheet_would_run_as_a_formula(ledger):
    export = downloads.export_release(ledger, "ledger", "csv", release=1)
    rows = csv_rows(export.path)
    assert list(rows[0]) == ["id", "payee", "note", "amount", "paid", "logged", "approved"]
    assert export.filename == "ledger-release-1.csv" and export.rows == len(rows) == 4
    cells = [value for row in rows for value in row.values()]
    assert not [c for c in cells if c[:1] in ("=", "+", "-", "@", "\t", "\r") and c != "-12.5"]
    assert {c[1:] for c in cells if c.startswith("'")} == FORMULA_TEXT
    assert rows[0]["amount"] == "-12.5", "a negative number stays a number"
    assert rows[0]["payee"] == "Café Nord" and rows[3]["payee"] == 'Quote "Co"' and rows[3]["note"] == "two\nlines"
    assert rows[0]["paid"] == "2024-01-31" and rows[0]["logged"] == "2024-01-31T09:15:00"


def test_json_is_an_array_of_objects_with_iso_dates_and_exact_values(ledger):
    rows = json.loads(downloads.export_release(ledger, "ledger", "json", release=1).path.read_text("utf-8"))
    assert [r["id"] for r in rows] == [1, 2, 3, 4]
    assert rows[0] == {"id": 1, "payee": "Café Nord", "note": "=SUM(A1:A9)", "amount": -12.5, "paid": "2024-01-31",
                       "logged": "2024-01-31T09:15:00", "approved": True}
    assert rows[2]["logged"] is None and rows[3]["approved"] is None
    assert {r["payee"] for r in rows} | {r["note"] for r in rows} >= FORMULA_TEXT


def test_xlsx_is_one_sheet_with_typed_cells_and_no_formulas(ledger):
    export = downloads.export_release(ledger, "ledger", "xlsx", release=1)
    book = openpyxl.load_workbook(export.path)
    assert len(book.worksheets) == 1
    sheet = book.worksheets[0]
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0] == ("id", "payee", "note", "amount", "paid", "logged", "approved")
    assert rows[1] == (1, "Café Nord", "'=SUM(A1:A9)", -12.5, dt.datetime(2024, 1, 31), dt.datetime(2024, 1, 31, 9, 15),
                       True)
    assert rows[3][5] is None and rows[4][6] is None and rows[4][1] == 'Quote "Co"' and rows[4][2] == "two\nlines"
    assert not [c for row in sheet.iter_rows() for c in row if c.data_type == "f"]
    assert sheet.cell(2, 5).number_format == "yyyy\\-mm\\-dd"
    assert list(pd.read_excel(export.path)["amount"]) == [-12.5, 3, 0.1, 1_000_000]


def test_an_excel_download_of_more_rows_than_a_sheet_holds_is_refused_clearly(ledger, monkeypatch):
    monkeypatch.setattr(downloads, "EXCEL_MAX_ROWS", 5)  # release 2 has 5 rows: one more than fits under a header
    with pytest.raises(downloads.DownloadError, match="an Excel sheet holds at most 4 below its header row: "
                                                      "download CSV or Parquet instead"):
        downloads.export_release(ledger, "ledger", "xlsx")
    assert downloads.export_release(ledger, "ledger", "xlsx", release=1).rows == 4


def test_the_data_package_passes_frictionless_validate_with_metadata_licence_and_schema(ledger):
    export = downloads.export_release(ledger, "ledger", "zip")
    report = frictionless.validate(str(export.path))
    assert report.valid, report.flatten(["type", "note"])
    assert report.tasks[0].stats["rows"] == 5
    with zipfile.ZipFile(export.path) as package:
        descriptor = json.loads(package.read("datapackage.json"))
        data = package.read("ledger-release-2.csv")
    assert descriptor["title"] == "Payments ledger" and descriptor["version"] == "2.0.0"
    assert descriptor["licenses"][0]["name"] == "CC-BY-4.0"
    (resource,) = descriptor["resources"]
    assert resource["hash"] == "sha256:" + hashlib.sha256(data).hexdigest()
    assert [f["name"] for f in resource["schema"]["fields"]][:3] == ["id", "payee", "note"]
    assert resource["schema"]["fields"][1]["title"] == "Who was paid" and resource["schema"]["primaryKey"] == ["id"]
    assert b"=SUM(A1:A9)" in data and b"'=SUM" not in data, "the package's CSV holds the values as published"


def test_a_tampered_data_package_fails_validation(ledger, tmp_path):
    export = downloads.export_release(ledger, "ledger", "zip")
    with zipfile.ZipFile(export.path) as package:
        descriptor, data = package.read("datapackage.json"), package.read("ledger-release-2.csv")
    tampered = tmp_path / "tampered.zip"
    with zipfile.ZipFile(tampered, "w") as package:
        package.writestr("datapackage.json", descriptor)
        package.writestr("ledger-release-2.csv", data.replace(b"-12.5", b"-12.6"))
    assert not frictionless.validate(str(tampered)).valid


@pytest.mark.parametrize("dataset_id", ["service_requests_311", "road_collisions", "hospital_admissions"])
def test_demo_data_packages_validate_against_their_published_schemas(demo, dataset_id):
    report = frictionless.validate(str(downloads.export_release(demo.home, dataset_id, "zip").path))
    assert report.valid, report.flatten(["rowNumber", "fieldName", "type", "note"])[:5]


def test_every_checksum_is_of_the_bytes_handed_over_and_a_rebuild_gives_the_same_bytes(ledger):
    first = {fmt: downloads.export_release(ledger, "ledger", fmt) for fmt in downloads.FORMATS}
    for export in first.values():
        assert sha256(export.path) == export.sha256 and export.path.stat().st_size == export.size
    assert first["parquet"].sha256 == downloads.public_release(ledger, "ledger").data_sha256
    shutil.rmtree(ledger / "exports")
    again = {fmt: downloads.export_release(ledger, "ledger", fmt) for fmt in downloads.FORMATS}
    assert {f: e.sha256 for f, e in again.items()} == {f: e.sha256 for f, e in first.items()}


def test_an_export_is_built_once_and_then_served_as_it_is(ledger, monkeypatch):
    made = downloads.export_release(ledger, "ledger", "csv")

    def refuse(*args, **kwargs):
        raise AssertionError("rebuilt an export that was ready")

    monkeypatch.setattr(downloads, "_write", refuse)
    assert downloads.export_release(ledger, "ledger", "csv") == made
    assert downloads.ready_export(ledger, downloads.public_release(ledger, "ledger"), "csv") == made
    assert downloads.ready_export(ledger, downloads.public_release(ledger, "ledger"), "json") is None


def test_releases_are_kept_apart_and_the_current_one_is_the_latest(ledger):
    assert downloads.export_release(ledger, "ledger", "csv").rows == 5
    assert downloads.export_release(ledger, "ledger", "csv", release=1).rows == 4
    assert downloads.public_release(ledger, "ledger", 1).current == 2


@pytest.mark.parametrize("dataset_id,release", [
    ("casefiles", None), ("casefiles", 1), ("nothing", None), ("ledger", 3), ("../ledger", None), ("ledger", 0)])
def test_restricted_unknown_and_odd_requests_are_all_simply_not_found(ledger, dataset_id, release):
    with pytest.raises(downloads.NotPublished, match="there is no (release .* of a )?published public dataset"):
        downloads.export_release(ledger, dataset_id, "csv", release=release)
    assert not (ledger / "exports" / "v1" / "casefiles").exists()


def test_an_unknown_format_is_refused():
    with pytest.raises(downloads.DownloadError, match="choose one of csv, parquet, json, xlsx, zip"):
        downloads.export_release(REPO, "ledger", "exe")


def test_a_filtered_selection_holds_just_the_rows_the_filter_keeps(ledger):
    sandbox = Sandbox(ledger)
    try:
        kinds = flt.column_kinds(sandbox.query('SELECT * FROM "ledger@2" LIMIT 0').table.schema)
        pieces = ['SELECT * FROM "ledger@2"', *flt.where(flt.compile_filters([flt.Filter("amount", "gt", ("1",))],
                                                                             kinds))]
        sql, params = flt.render(pieces)
        about = downloads.public_release(ledger, "ledger", 2)
        made = {fmt: downloads.export_selection(ledger, sandbox, about, sql, params, fmt) for fmt in downloads.FORMATS}
    finally:
        sandbox.close()
    assert [r["id"] for r in csv_rows(made["csv"].path)] == ["2", "4", "5"]
    assert made["csv"].filename == "ledger-release-2-filtered.csv" and not made["csv"].truncated
    assert list(pd.read_parquet(made["parquet"].path)["id"]) == [2, 4, 5]
    assert [r["id"] for r in json.loads(made["json"].path.read_text("utf-8"))] == [2, 4, 5]
    assert [r[0] for r in openpyxl.load_workbook(made["xlsx"].path).active.iter_rows(values_only=True)] == \
        ["id", 2, 4, 5]
    assert frictionless.validate(str(made["zip"].path)).valid
    assert all(sha256(e.path) == e.sha256 for e in made.values())


def test_a_selection_past_the_row_limit_says_it_was_cut(ledger, tmp_path):
    sandbox = Sandbox(ledger)
    try:
        export = downloads.export_query(sandbox, 'SELECT * FROM ledger ORDER BY id', [], "csv", tmp_path, row_limit=2)
    finally:
        sandbox.close()
    assert export.truncated and [r["id"] for r in csv_rows(export.path)] == ["1", "2"]


def test_old_helpers_still_work(ledger):
    parquet = downloads.release_parquet(ledger, "releases/ledger/1/data.parquet")
    assert downloads.csv_bytes(parquet).decode("utf-8").startswith("id,payee,note,")
    with pytest.raises(downloads.StoreError):
        downloads.release_parquet(ledger, "releases/../catalogue.duckdb")


MEMORY_PROBE = """
import resource, sys
from pathlib import Path
from catalog import downloads
home, formats = Path(sys.argv[1]), ("csv", "json", "xlsx")
for fmt in formats:  # warm up on the small release: DuckDB, the catalogue, the writers
    downloads.export_release(home, "ledger", fmt, release=2)
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
sizes = [downloads.export_release(home, "ledger", fmt, release=1).size for fmt in formats]
grown = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) // 1024
print(grown, max(sizes) // 2**20)
"""


def test_a_large_release_is_written_in_order_without_being_held_in_memory(ledger):
    rows = 400_000
    parquet = ledger / "releases" / "ledger" / "1" / "data.parquet"
    duckdb.execute(f"""COPY (SELECT i AS id, 'payee ' || i AS payee, CASE WHEN i % 1000 = 0 THEN '=1+1'
        ELSE 'note ' || i END AS note, i / 7.0 AS amount, DATE '2024-01-01' + CAST(i % 365 AS INTEGER) AS paid,
        TIMESTAMP '2024-01-01' + to_seconds(i) AS logged, i % 2 = 0 AS approved FROM range({rows}) t(i))
        TO '{parquet}' (FORMAT parquet)""")
    done = subprocess.run([sys.executable, "-c", MEMORY_PROBE, str(ledger)], capture_output=True, text=True,
                          cwd=REPO, timeout=120)
    assert done.returncode == 0, done.stderr
    grown_mib, largest_mib = map(int, done.stdout.splitlines()[-1].split())
    assert largest_mib > 50 and grown_mib * 2 < largest_mib, (grown_mib, largest_mib)
    export = downloads.export_release(ledger, "ledger", "csv", release=1)
    with export.path.open(encoding="utf-8") as text:
        next(text)
        assert all(line.startswith(f"{number},") for number, line in enumerate(text)), "rows keep their order"
    sheet = openpyxl.load_workbook(downloads.export_release(ledger, "ledger", "xlsx", release=1).path,
                                   read_only=True).active
    assert sheet.max_row == rows + 1
