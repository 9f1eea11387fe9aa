"""``govcat validate`` on hostile input: a clear report or message, never a traceback."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import frictionless
import openpyxl
import pytest

GOVCAT = Path(sys.executable).with_name("govcat")
SCHEMA = {"fields": [{"name": "id", "type": "integer"}, {"name": "name", "type": "string"}]}


def _run(*args: str, cwd: Path) -> tuple[int, dict | str, str]:
    done = subprocess.run([str(GOVCAT), "validate", *args], cwd=cwd, capture_output=True, text=True, timeout=120)
    assert "Traceback" not in done.stderr + done.stdout
    output = json.loads(done.stdout) if "--json" in args else done.stdout
    return done.returncode, output, done.stderr


def _types(report: dict) -> list[str]:
    return [e["type"] for e in report.get("errors", [])] + [e["type"] for t in report["tasks"] for e in t["errors"]]


@pytest.fixture
def schema(tmp_path) -> Path:
    path = tmp_path / "schema.json"
    path.write_text(json.dumps(SCHEMA))
    return path


def test_an_empty_file_is_reported_as_empty(tmp_path, schema):
    (tmp_path / "empty.csv").write_bytes(b"")
    code, report, _ = _run("--json", "--schema", "schema.json", "empty.csv", cwd=tmp_path)
    assert code == 1 and "source-error" in _types(report)


def test_a_header_only_file_is_valid_with_no_rows(tmp_path, schema):
    (tmp_path / "header.csv").write_text("id,name\n")
    code, text, _ = _run("--schema", "schema.json", "header.csv", cwd=tmp_path)
    assert code == 0 and "valid: header.csv (0 rows" in text


def test_binary_garbage_is_refused_in_words(tmp_path, schema):
    (tmp_path / "garbage.csv").write_bytes(bytes(range(256)) * 64)
    code, report, _ = _run("--json", "--schema", "schema.json", "garbage.csv", cwd=tmp_path)
    assert code == 1 and not report["valid"]
    assert all(e["message"] for t in report["tasks"] for e in t["errors"])


def test_a_wrong_declared_encoding_is_an_encoding_error(tmp_path):
    (tmp_path / "latin.csv").write_bytes("id,name\n1,Zoë\n2,Ångström\n".encode("latin-1"))
    (tmp_path / "resource.json").write_text(json.dumps(
        {"name": "latin", "path": "latin.csv", "encoding": "utf-8", "schema": SCHEMA}))
    code, report, _ = _run("--json", "resource.json", cwd=tmp_path)
    assert code == 1 and "encoding-error" in _types(report)


def test_a_detected_encoding_is_recorded_and_the_values_read(tmp_path, schema):
    names = ["Société Générale", "Café de la Gare", "Müller & Söhne", "Crème brûlée SARL", "Hôtel Réal"]
    text = "id,name\n" + "".join(f"{i},{names[i % 5]} “n°{i}” €\n" for i in range(200))
    (tmp_path / "windows.csv").write_bytes(text.encode("cp1252"))
    code, report, _ = _run("--json", "--schema", "schema.json", "windows.csv", cwd=tmp_path)
    detected = frictionless.describe(str(tmp_path / "windows.csv")).encoding
    assert code == 0 and report["tasks"][0]["encoding"] == detected != "utf-8"
    assert report["tasks"][0]["stats"]["rows"] == 200


def test_ragged_rows_are_missing_and_extra_cells(tmp_path, schema):
    (tmp_path / "ragged.csv").write_text("id,name\n1\n2,b,c,d\n3,c\n")
    code, report, _ = _run("--json", "--schema", "schema.json", "ragged.csv", cwd=tmp_path)
    found = [(e["type"], e["rowNumber"], e["fieldNumber"]) for e in report["tasks"][0]["errors"]]
    assert code == 1 and found == [("missing-cell", 2, 2), ("extra-cell", 3, 3), ("extra-cell", 3, 4)]


def test_merged_header_cells_in_a_workbook(tmp_path):
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(["id", "name", None])
    sheet.merge_cells("B1:C1")
    sheet.append([1, "a", "x"])
    book.save(tmp_path / "merged.xlsx")
    code, report, _ = _run("--json", "merged.xlsx", cwd=tmp_path)
    assert code == 1 and "blank-label" in _types(report)


def test_the_error_cap_stops_and_still_rejects(tmp_path, schema):
    rows = "".join(f"x{i},name\n" for i in range(30))
    (tmp_path / "bad.csv").write_text("id,name\n" + rows)
    code, report, _ = _run("--json", "--limit-errors", "5", "--schema", "schema.json", "bad.csv", cwd=tmp_path)
    task = report["tasks"][0]
    assert code == 1 and not report["valid"]
    assert len(task["errors"]) == 5 and task["warnings"] == ["reached error limit: 5"]


def test_a_missing_file_and_a_bad_option_are_plain_messages(tmp_path):
    code, text, _ = _run("nowhere.csv", cwd=tmp_path)
    assert code == 1 and "No such file" in text
    done = subprocess.run([str(GOVCAT), "validate", "--limit-errors", "-1", "x.csv"], cwd=tmp_path,
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 1 and "--limit-errors" in done.stderr and "Traceback" not in done.stderr
