"""The HTTP API's downloads: every format, pinned or current, checksummed; everything else a JSON 404."""

import base64
import csv
import hashlib
import io
import json
import zipfile

import openpyxl
import pandas as pd
import pytest
from fastapi.testclient import TestClient

from catalog import downloads, flow
from catalog.api import create_app
from catalog.spec import load_declarations
from tests.api.ledger import ROWS, copy_of, publish_ledger, published_home
from tests.conftest import TEST_KEY


@pytest.fixture(scope="module")
def published(tmp_path_factory):
    return published_home(tmp_path_factory)


@pytest.fixture
def home(published, tmp_path):
    return copy_of(published, tmp_path)


@pytest.fixture
def client(home):
    return TestClient(create_app(home))


def test_health(client):
    answer = client.get("/healthz")
    assert answer.status_code == 200 and answer.json() == {"status": "ok"}


@pytest.mark.parametrize("fmt", list(downloads.FORMATS))
def test_each_format_comes_whole_with_its_checksum_and_name(client, fmt):
    answer = client.get(f"/downloads/ledger@1.{fmt}")
    assert answer.status_code == 200
    body = answer.content
    digest = hashlib.sha256(body).digest()
    assert answer.headers["etag"] == f'"{digest.hex()}"' and answer.headers["x-checksum-sha256"] == digest.hex()
    assert answer.headers["digest"] == "sha-256=" + base64.b64encode(digest).decode()
    assert answer.headers["repr-digest"] == f"sha-256=:{base64.b64encode(digest).decode()}:"
    assert answer.headers["content-disposition"] == f'attachment; filename="ledger-release-1.{fmt}"'
    assert answer.headers["content-type"].split(";")[0] == downloads.FORMATS[fmt].media_type.split(";")[0]
    assert answer.headers["cache-control"] == "public, max-age=31536000, immutable"
    rows = {
        "csv": lambda: list(csv.DictReader(io.StringIO(body.decode("utf-8"), newline=""))),
        "parquet": lambda: pd.read_parquet(io.BytesIO(body)).to_dict("records"),
        "json": lambda: json.loads(body),
        "xlsx": lambda: list(openpyxl.load_workbook(io.BytesIO(body)).active.iter_rows(values_only=True))[1:],
        "zip": lambda: list(csv.DictReader(io.StringIO(
            zipfile.ZipFile(io.BytesIO(body)).read("ledger-release-1.csv").decode("utf-8"), newline=""))),
    }[fmt]()
    assert len(rows) == 4


def test_without_a_release_number_the_current_release_comes_and_says_which_it_is(client):
    answer = client.get("/downloads/ledger.csv")
    assert answer.status_code == 200
    assert answer.headers["content-location"] == "/downloads/ledger@2.csv"
    assert answer.headers["cache-control"] == "public, max-age=60"
    assert len(list(csv.DictReader(io.StringIO(answer.text, newline="")))) == 5


def test_the_checksum_alone_reads_as_sha256sum_expects(client):
    answer = client.get("/downloads/ledger@1.csv.sha256")
    body = client.get("/downloads/ledger@1.csv").content
    assert answer.text == f"{hashlib.sha256(body).hexdigest()}  ledger-release-1.csv\n"


def test_a_client_holding_the_file_gets_not_modified_and_head_sends_no_body(client):
    etag = client.get("/downloads/ledger@1.parquet").headers["etag"]
    again = client.get("/downloads/ledger@1.parquet", headers={"If-None-Match": etag})
    assert again.status_code == 304 and again.content == b""
    head = client.head("/downloads/ledger@1.parquet")
    assert head.status_code == 200 and head.content == b"" and head.headers["etag"] == etag


@pytest.mark.parametrize("path", [
    "/downloads/nothing.csv", "/downloads/ledger@3.csv", "/downloads/ledger@0.csv", "/downloads/ledger.exe",
    "/downloads/ledger", "/downloads/LEDGER.csv", "/downloads/casefiles.csv", "/downloads/casefiles@1.parquet",
    "/downloads/..%2Fcatalogue.duckdb", "/downloads/%2e%2e%2f%2e%2e%2fetc%2fpasswd", "/downloads/ledger@1.csv%00.txt",
    "/downloads/../catalogue.duckdb", "/downloads/releases/ledger/1/data.parquet", "/catalogue.duckdb", "/nowhere",
])
def test_unknown_restricted_and_crafted_paths_get_the_same_json_404(client, home, path):
    answer = client.get(path)
    assert answer.status_code == 404
    assert answer.headers["content-type"] == "application/json"
    message = answer.json()["error"]
    assert "Case files" not in message and str(home) not in message and "Traceback" not in message


def test_a_restricted_dataset_cannot_be_told_from_one_that_does_not_exist(client):
    assert client.get("/downloads/casefiles.csv").json()["error"].replace("casefiles", "X") == \
        client.get("/downloads/nosuchdata.csv").json()["error"].replace("nosuchdata", "X")


def test_too_many_rows_for_excel_is_a_clear_json_error(client, monkeypatch):
    monkeypatch.setattr(downloads, "EXCEL_MAX_ROWS", 5)
    answer = client.get("/downloads/ledger.xlsx")
    assert answer.status_code == 422
    assert "an Excel sheet holds at most 4" in answer.json()["error"]


def test_a_failure_inside_answers_500_without_details(home, monkeypatch):
    def broken(*args, **kwargs):
        raise RuntimeError(f"disk trouble under {home}")

    monkeypatch.setattr(downloads, "export_release", broken)
    answer = TestClient(create_app(home), raise_server_exceptions=False).get("/downloads/ledger.csv")
    assert answer.status_code == 500 and answer.json() == {"error": "internal error"}


def test_a_new_release_shows_without_a_restart(declarations, tmp_path, monkeypatch):
    monkeypatch.setenv("GOVCAT_PSEUDONYM_KEY", TEST_KEY)
    home = publish_ledger(declarations, tmp_path / "fresh")
    client = TestClient(create_app(home))
    assert client.get("/downloads/ledger.json").headers["content-location"] == "/downloads/ledger@1.json"
    loaded = load_declarations(declarations.root)
    (loaded.datasets["ledger"].folder / "data" / "2024.csv").write_text(ROWS + "5,Late Ltd,later,7,2024-04-01,,\n")
    assert flow.publish_delivery(loaded, loaded.datasets["ledger"], home).status == "published"
    answer = client.get("/downloads/ledger.json")
    assert answer.headers["content-location"] == "/downloads/ledger@2.json" and len(answer.json()) == 5
