"""The data API: rows of a public release filtered, sorted and paged the way Datasette does it, in
four formats, streamed whole in bounded memory; and SQL through the one sandbox."""

from __future__ import annotations

import base64
import io
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.parse

import duckdb
import httpx
import pandas as pd
import pyarrow.parquet as pq
import pytest
from fastapi.testclient import TestClient

from catalog import flow
from catalog.api import create_app
from catalog.api import data as data_api
from catalog.errors import QueryError
from catalog.spec import load_declarations
from tests.api.ledger import ROWS, publish_ledger
from tests.conftest import REPO, TEST_KEY, Declarations

VISITS = {"fields": [{"name": "day", "type": "date"}, {"name": "place", "type": "string"},
                     {"name": "visitors", "type": "integer"}]}  # no primary key: pages go by offset
VISIT_ROWS = ("day,place,visitors\n2024-05-01,Library,12\n2024-05-01,Museum,12\n2024-05-02,Library,7\n"
              "2024-05-02,Library,7\n2024-05-03,Park,\n2024-05-03,Museum,30\n2024-05-04,Park,12\n")


def publish_visits(declarations: Declarations, home, rows: str = VISIT_ROWS) -> None:
    declarations.dataset(folder="visits", id="visits", title="Visits", schema=VISITS, files={"2024.csv": rows},
                         privacy=None)
    loaded = load_declarations(declarations.root)
    assert flow.publish_delivery(loaded, loaded.datasets["visits"], home).status == "published"


@pytest.fixture(scope="module")
def root(tmp_path_factory):
    """The ledger (two releases), the restricted case files and the visits, published once."""
    root = tmp_path_factory.mktemp("data-api")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("GOVCAT_PSEUDONYM_KEY", TEST_KEY)
        declarations = Declarations(root / "datasets")
        publish_ledger(declarations, root / "home", second_release=True)
        publish_visits(declarations, root / "home")
    return root


@pytest.fixture(scope="module")
def home(root):
    return root / "home"


@pytest.fixture(scope="module")
def client(home):
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("GOVCAT_API_RATE", "0")
        return TestClient(create_app(home))


def ids(answer) -> list[int]:
    assert answer.status_code == 200, answer.text
    return [row["id"] for row in answer.json()["rows"]]


def sql_rows(client, sql: str) -> list[dict]:
    answer = client.get("/api/sql", params={"sql": sql})
    assert answer.status_code == 200, answer.text
    return answer.json()["rows"]


# ---------------------------------------------------------------------------------------- pages


def test_a_page_gives_rows_total_columns_and_sql_that_reruns_in_the_console(client):
    answer = client.get("/api/data/ledger")
    body = answer.json()
    assert answer.status_code == 200 and answer.headers["content-type"].startswith("application/json")
    assert body["total"] == 5 and body["release"] == 2 and body["next"] is None and body["next_url"] is None
    assert body["columns"] == ["id", "payee", "note", "amount", "paid", "logged", "approved"]
    assert body["types"]["amount"] == "number" and body["types"]["paid"] == "date"
    assert body["rows"][0] == {"id": 1, "payee": "Café Nord", "note": "=SUM(A1:A9)", "amount": -12.5,
                               "paid": "2024-01-31", "logged": "2024-01-31T09:15:00", "approved": True}
    assert body["rows"][3]["approved"] is None and body["rows"][2]["logged"] is None
    assert sql_rows(client, body["sql"]) == body["rows"]
    assert answer.headers["x-total-count"] == "5"


def test_an_earlier_release_is_served_by_its_number(client):
    body = client.get("/api/data/ledger@1").json()
    assert body["release"] == 1 and body["current_release"] == 2 and body["total"] == 4
    assert '"ledger@1"' in body["sql"]


@pytest.mark.parametrize("query,expected", [
    ("payee=Late Ltd", [5]), ("payee__exact=Late Ltd", [5]), ("payee__not=Late Ltd", [1, 2, 3, 4]),
    ("payee__contains=LTD", [2, 5]), ("payee__notcontains=ltd", [1, 3, 4]), ("payee__startswith=quote", [4]),
    ("payee__endswith=NORD", [1]), ("payee__in=Late Ltd,@handle", [3, 5]),
    ('payee__in=["Late Ltd","+Plus Ltd"]', [2, 5]), ("payee__notin=Late Ltd,@handle", [1, 2, 4]),
    ("payee__like=%ltd", [2, 5]), ("payee__notlike=%ltd", [1, 3, 4]), ("payee__glob=*Co*", [4]),
    ("payee__gt=Late", [4, 5]),
    ("amount__gt=3", [4, 5]), ("amount__gte=3", [2, 4, 5]), ("amount__lt=0.1", [1]), ("amount__lte=0.1", [1, 3]),
    ("amount__not=3", [1, 3, 4, 5]), ("amount__in=3,7", [2, 5]), ("amount__notin=3,7", [1, 3, 4]),
    ("id__in=[1,3]", [1, 3]),
    ("paid=2024-03-01", [4]), ("paid__gte=2024-02-29", [3, 4, 5]), ("paid__gt=2024-02-29", [4, 5]),
    ("paid__lt=2024-02-01", [1]), ("paid__lte=2024-02-01", [1, 2]), ("paid__in=2024-01-31,2024-04-01", [1, 5]),
    ("logged__date=2024-02-01", [2]), ("logged__lte=2024-02-01", [1, 2]), ("logged__gt=2024-02-01", [4, 5]),
    ("logged__gte=2024-03-01", [4, 5]), ("logged__lt=2024-03-01T00:00:00", [1, 2]),
    ("logged__isnull=1", [3]), ("logged__notnull=1", [1, 2, 4, 5]), ("logged__isblank=1", [3]),
    ("approved=true", [1, 3, 5]), ("approved__exact=0", [2]), ("approved__not=true", [2]),
    ("approved__isnull=1", [4]), ("approved__in=true,false", [1, 2, 3, 5]),
    ("amount__gt=0&approved=true", [3, 5]), ("amount__gte=0&amount__lte=7", [2, 3, 5]),
])
def test_datasette_filters_choose_the_rows(client, query, expected):
    answer = client.get(f"/api/data/ledger?{urllib.parse.quote(query, safe='=&')}")
    assert ids(answer) == expected
    assert answer.json()["total"] == len(expected)
    assert [row["id"] for row in sql_rows(client, answer.json()["sql"])] == expected  # the SQL shown is the SQL run


def test_columns_are_chosen_and_ordered_with_col_and_left_out_with_nocol(client):
    body = client.get("/api/data/ledger?_col=amount&_col=payee&_sort=amount").json()
    assert body["columns"] == ["amount", "payee"] and body["rows"][0] == {"amount": -12.5, "payee": "Café Nord"}
    body = client.get("/api/data/ledger?_nocol=note&_nocol=logged").json()
    assert body["columns"] == ["id", "payee", "amount", "paid", "approved"]


def test_sorting_puts_missing_values_last_either_way(client):
    assert ids(client.get("/api/data/ledger?_sort=logged")) == [1, 2, 4, 5, 3]
    assert ids(client.get("/api/data/ledger?_sort_desc=logged")) == [5, 4, 2, 1, 3]
    assert ids(client.get("/api/data/ledger?_sort_desc=amount")) == [4, 5, 2, 3, 1]


def walk(client, url: str) -> tuple[list[dict], int]:
    """Every row, following next_url from the first page; and how many pages it took."""
    rows, pages, totals = [], 0, set()
    while url:
        answer = client.get(url)
        assert answer.status_code == 200, answer.text
        body = answer.json()
        rows += body["rows"]
        pages += 1
        totals.add(body["total"])
        url = body["next_url"]
        if url:
            assert answer.headers["link"] == f'<{url}>; rel="next"'
            url = url.removeprefix("http://testserver")
    assert totals == {len(rows)}, "every page gives the same total: the rows there are in all"
    return rows, pages


@pytest.mark.parametrize("sort", ["", "&_sort=approved", "&_sort_desc=approved", "&_sort=logged",
                                  "&_sort_desc=payee", "&_sort=paid"])
def test_pages_by_keyset_neither_skip_nor_repeat_rows_with_ties_and_gaps(client, sort):
    everything = client.get(f"/api/data/ledger?_size=1000{sort}").json()["rows"]
    rows, pages = walk(client, f"/api/data/ledger?_size=2{sort}")
    assert rows == everything and pages == 3
    first = client.get(f"/api/data/ledger?_size=2{sort}").json()
    assert "OFFSET" not in client.get(first["next_url"]).json()["sql"], "a keyset page, not an offset"


@pytest.mark.parametrize("sort", ["", "&_sort=visitors", "&_sort_desc=place"])
def test_a_release_without_a_primary_key_pages_by_offset_in_a_stable_order(client, sort):
    everything = client.get(f"/api/data/visits?_size=1000{sort}").json()["rows"]
    assert len(everything) == 7
    rows, pages = walk(client, f"/api/data/visits?_size=3{sort}")
    assert rows == everything and pages == 3
    second = client.get(client.get(f"/api/data/visits?_size=3{sort}").json()["next_url"]).json()
    assert second["sql"].endswith("LIMIT 4 OFFSET 3"), "a row beyond the page tells whether another follows"


@pytest.mark.parametrize(("query", "matching"), [("place=Library", 3), ("visitors__gte=12", 4),
                                                 ("place=Park&visitors__isnull=1", 1), ("place=Zoo", 0)])
@pytest.mark.parametrize("size", [1, 2, 3, 4])
def test_every_page_of_a_filtered_walk_gives_the_whole_total(client, query, matching, size):
    """Full pages, the last page, a page that is the only one: each tells the same total."""
    rows, pages = walk(client, f"/api/data/visits?{query}&_size={size}")
    assert len(rows) == matching and pages == max(1, -(-matching // size))


def test_page_size_is_capped_and_zero_gives_only_the_total(client):
    body = client.get("/api/data/ledger?_size=5000").json()
    assert body["size"] == data_api.MAX_PAGE_SIZE and len(body["rows"]) == 5
    body = client.get("/api/data/ledger?_size=0&amount__gt=0").json()
    assert body["rows"] == [] and body["total"] == 4 and body["next"] is None
    assert len(client.get("/api/data/ledger?_size=max").json()["rows"]) == 5


# ---------------------------------------------------------------------------------------- tokens


def first_token(client, query: str = "_size=2&_sort=amount") -> str:
    token = client.get(f"/api/data/ledger?{query}").json()["next"]
    assert token
    return token


def test_a_forged_or_borrowed_next_token_is_a_clear_400(client):
    token = first_token(client)
    payload, signature = token.split(".")
    body = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    body["n"], body["k"] = 0, [["f", "-1000"], ["i", "0"]]
    forged = base64.urlsafe_b64encode(json.dumps(body).encode()).decode().rstrip("=") + "." + signature
    for bad in (forged, token[:-3], token + "x", "garbage", ".", "a.b", token.replace(".", ""), "é.ü" + token):
        answer = client.get("/api/data/ledger", params={"_size": "2", "_sort": "amount", "_next": bad})
        assert answer.status_code == 400 and "_next token is not one this server gave" in answer.json()["error"]
    for other in ("_size=2&_sort_desc=amount", "_size=2&_sort=amount&approved=true", "_size=2&_sort=payee"):
        answer = client.get(f"/api/data/ledger?{other}&_next={token}")
        assert answer.status_code == 400, "a token only continues the query it came from"
    assert client.get(f"/api/data/ledger?_size=2&_sort=amount&_next={token}").status_code == 200
    assert client.get(f"/api/data/ledger.csv?_size=2&_sort=amount&_next={token}").status_code == 200


def test_a_token_keeps_paging_the_release_it_started_on(root, tmp_path, monkeypatch):
    import shutil

    shutil.copytree(root, tmp_path / "copy")
    home = tmp_path / "copy" / "home"
    monkeypatch.setenv("GOVCAT_API_RATE", "0")
    monkeypatch.setenv("GOVCAT_PSEUDONYM_KEY", TEST_KEY)
    client = TestClient(create_app(home))
    first = client.get("/api/data/ledger?_size=3").json()
    assert first["release"] == 2
    declarations = Declarations(tmp_path / "copy" / "datasets")
    (declarations.root / "city" / "ledger" / "data" / "2024.csv").write_text(
        ROWS + "5,Late Ltd,added later,7,2024-04-01,2024-04-01T08:00:00,true\n6,New,row,1,2024-05-01,,false\n")
    loaded = load_declarations(declarations.root)
    assert flow.publish_delivery(loaded, loaded.datasets["ledger"], home).status == "published"
    assert client.get("/api/data/ledger").json()["release"] == 3
    second = client.get(first["next_url"].removeprefix("http://testserver"))
    assert second.json()["release"] == 2 and second.headers["x-release"] == "ledger@2"
    assert [row["id"] for row in second.json()["rows"]] == [4, 5] and second.json()["next"] is None


# ---------------------------------------------------------------------------------------- formats


def test_a_csv_stream_is_byte_for_byte_the_download_file(client):
    streamed = client.get("/api/data/ledger@1.csv?_stream=1")
    assert streamed.status_code == 200 and streamed.headers["content-type"].startswith("text/csv")
    assert streamed.content == client.get("/downloads/ledger@1.csv").content
    assert streamed.headers["x-total-count"] == "4"
    assert urllib.parse.unquote(streamed.headers["x-query"]) == 'SELECT "id", "payee", "note", "amount", "paid", ' \
                                                                '"logged", "approved" FROM "ledger@1"'
    assert 'filename="ledger-release-1-rows.csv"' in streamed.headers["content-disposition"]
    assert client.get("/api/data/ledger@1?_format=csv&_size=max").content == streamed.content


def test_every_format_carries_the_same_rows_total_and_query(client):
    query = "amount__gt=0&_sort=paid&_size=2"
    page = client.get(f"/api/data/ledger?{query}").json()
    for fmt in ("csv", "ndjson", "parquet"):
        answer = client.get(f"/api/data/ledger.{fmt}?{query}")
        assert answer.status_code == 200 and answer.headers["x-total-count"] == str(page["total"]) == "4"
        assert urllib.parse.unquote(answer.headers["x-query"]) == page["sql"]
        assert answer.headers["link"] == f'<{page["next_url"].replace("/ledger?", f"/ledger.{fmt}?")}>; rel="next"'
    ndjson = client.get(f"/api/data/ledger.ndjson?{query}").text.splitlines()
    assert [json.loads(line) for line in ndjson] == page["rows"]
    typed = pq.read_table(io.BytesIO(client.get(f"/api/data/ledger.parquet?{query}").content))
    assert typed.column("id").to_pylist() == [row["id"] for row in page["rows"]]
    assert str(typed.schema.field("paid").type) == "date32[day]" and str(typed.schema.field("amount").type) == "double"
    table = pd.read_csv(io.StringIO(client.get(f"/api/data/ledger.csv?{query}").text))
    assert list(table["id"]) == [row["id"] for row in page["rows"]]


def test_streams_carry_every_matching_row_in_each_format(client):
    everything = client.get("/api/data/ledger?amount__gte=0&_size=1000").json()["rows"]
    ndjson = client.get("/api/data/ledger.ndjson?amount__gte=0&_stream=1")
    assert [json.loads(line) for line in ndjson.text.splitlines()] == everything
    assert ndjson.headers["content-type"] == "application/x-ndjson"
    parquet = pq.read_table(io.BytesIO(client.get("/api/data/ledger.parquet?amount__gte=0&_stream=1").content))
    assert parquet.column("id").to_pylist() == [row["id"] for row in everything]
    nothing = client.get("/api/data/ledger.parquet?amount__gt=1e12&_stream=1")
    assert nothing.headers["x-total-count"] == "0" and pq.read_table(io.BytesIO(nothing.content)).num_rows == 0
    assert client.get("/api/data/ledger.csv?amount__gt=1e12&_stream=1").text == \
        "id,payee,note,amount,paid,logged,approved\n"


# ---------------------------------------------------------------------------------------- errors


@pytest.mark.parametrize("query,message", [
    ("nope=1", "there is no column “nope” in this release; its columns are: id, payee"),
    ("amount__foo=1", "“foo” is not an operator; after “amount__” use one of: exact, not,"),
    ("amount__contains=1", "“contains” does not apply to the number column “amount”; use one of: exact"),
    ("amount__gt=ten", "“ten” is not a number"), ("paid__gt=31/01/2024", "is not a date written 2024-03-31"),
    ("paid__gt=2024-02-30", "is not a date written 2024-03-31"),
    ("approved=maybe", "“maybe” is not true or false"), ("logged__date=2024-02", "takes a day written"),
    ('payee__in=[1,{"a":2}]', "is not a JSON list of values"),
    ("_sort=amount&_sort_desc=id", "give _sort or _sort_desc, not both"), ("_sort=amount&_sort=id", "give _sort once"),
    ("_sort=nope", "no column “nope” to sort by"), ("_size=lots", "_size is a number of rows"),
    ("_col=nope", "there is no column “nope”"), ("_nocol=id&_nocol=payee&_nocol=note&_nocol=amount&_nocol=paid"
                                                 "&_nocol=logged&_nocol=approved", "no column is left"),
    ("_shape=arrays", "“_shape” is not a parameter here"), ("_format=xlsx", "“xlsx” is not a format here"),
    ("_stream=1", "a stream of every row comes as csv, ndjson or parquet"), ("_stream=maybe", "_stream is 1"),
    ("&".join(f"amount__gt={n}" for n in range(21)), "at most 20 filters"),
])
def test_bad_requests_get_a_clear_400(client, query, message):
    answer = client.get(f"/api/data/ledger?{urllib.parse.quote(query, safe='=&')}")
    assert answer.status_code == 400 and message in answer.json()["error"], answer.text


def test_a_format_asked_twice_differently_and_a_stream_with_next_are_refused(client):
    assert "asks for csv and _format for json" in client.get("/api/data/ledger.csv?_format=json").json()["error"]
    assert client.get("/api/data/ledger.xlsx").status_code == 400
    token = first_token(client)
    answer = client.get(f"/api/data/ledger.csv?_size=2&_sort=amount&_stream=1&_next={token}")
    assert answer.status_code == 400 and "already sends them all" in answer.json()["error"]


@pytest.mark.parametrize("path", ["/api/data/casefiles", "/api/data/casefiles@1", "/api/data/casefiles.csv?_stream=1",
                                  "/api/data/nosuch", "/api/data/ledger@3", "/api/data/Ledger", "/api/data/x"])
def test_restricted_unknown_and_missing_releases_are_the_same_404(client, path):
    answer = client.get(path)
    assert answer.status_code == 404 and answer.headers["content-type"] == "application/json"
    assert answer.json()["error"].startswith(("there is no published public dataset", "there is no release"))
    assert "Case files" not in answer.text and "county" not in answer.text


def test_restricted_datasets_are_no_table_in_sql_either(client):
    for sql in ("SELECT * FROM casefiles", 'SELECT * FROM "casefiles@1"'):
        answer = client.get("/api/sql", params={"sql": sql})
        assert answer.status_code == 400 and "published tables: ledger, visits" in answer.json()["error"]


# ---------------------------------------------------------------------------------------- SQL


def test_sql_answers_json_with_rows_columns_truncated_sql_and_seconds(client):
    body = client.get("/api/sql", params={"sql": "SELECT payee, amount FROM ledger ORDER BY amount DESC"}).json()
    assert body["columns"] == ["payee", "amount"] and body["truncated"] is False and body["seconds"] >= 0
    assert body["rows"][0] == {"payee": 'Quote "Co"', "amount": 1000000.0} and len(body["rows"]) == 5
    assert body["sql"] == "SELECT payee, amount FROM ledger ORDER BY amount DESC"
    cut = client.get("/api/sql", params={"sql": "SELECT * FROM range(50)", "_size": "10"})
    assert cut.json()["truncated"] is True and len(cut.json()["rows"]) == 10 and cut.headers["x-truncated"] == "1"
    odd = client.get("/api/sql", params={"sql": "SELECT 1 AS a, 2 AS a, DATE '2024-01-02' AS d, 'nan'::DOUBLE AS f, "
                                               "[1, 2] AS l, {'k': 1.5} AS s, 12345678901234567890::HUGEINT AS h"})
    assert odd.json()["rows"] == [{"a": 1, "a_2": 2, "d": "2024-01-02", "f": None, "l": [1, 2], "s": {"k": 1.5},
                                   "h": 12345678901234567890}]


def test_sql_as_csv_and_by_post(client):
    answer = client.get("/api/sql.csv", params={"sql": "SELECT id, note FROM ledger WHERE id <= 2 ORDER BY id"})
    assert answer.headers["content-type"].startswith("text/csv")
    assert answer.text == "id,note\n1,'=SUM(A1:A9)\n2,\"'-minus, with a comma\"\n"
    assert client.post("/api/sql", json={"sql": "SELECT count(*) AS n FROM visits"}).json()["rows"] == [{"n": 7}]
    assert client.post("/api/sql", data={"sql": "SELECT 2 AS x", "_format": "csv"}).text == "x\n2\n"
    assert client.post("/api/sql", content=b"SELECT 1", headers={"content-type": "text/plain"}).status_code == 415
    assert client.post("/api/sql", content=b"{nope", headers={"content-type": "application/json"}).status_code == 400


def test_a_long_query_is_cut_short_in_its_header_and_says_so(client):
    sql = "SELECT '" + "é" * 3000 + "' AS long_text"
    answer = client.post("/api/sql.csv", json={"sql": sql})
    assert answer.status_code == 200 and answer.headers["x-query-truncated"] == "1"
    assert len(answer.headers["x-query"]) <= data_api.MAX_HEADER_SQL
    assert sql.startswith(urllib.parse.unquote(answer.headers["x-query"]))
    assert "x-query-truncated" not in client.get("/api/sql.csv", params={"sql": "SELECT 1"}).headers


@pytest.mark.parametrize("sql,message", [
    ("DELETE FROM ledger", "only SELECT queries are allowed"), ("", "send the query as sql=SELECT"),
    ("SELECT * FROM read_csv('/etc/passwd')", "files, URLs and extensions are out of reach"),
    ("SELECT * FROM nowhere", "there is no published table 'nowhere'"), ("SELEKT 1", "syntax error"),
])
def test_sql_errors_are_clear_and_name_no_server_path(client, home, sql, message):
    answer = client.get("/api/sql", params={"sql": sql})
    assert answer.status_code == 400 and message in answer.json()["error"]
    assert str(home) not in answer.text and "Traceback" not in answer.text


# ---------------------------------------------------------------------------------------- the sandbox's streams


def test_a_stream_keeps_the_sandbox_checks_and_does_not_hold_its_lock(home):
    sandbox = data_api.published(home).sandbox
    rows = iter(sandbox.stream('SELECT * FROM "ledger@2"', batch_rows=2))
    assert next(rows).num_rows == 2
    done = []
    reader = threading.Thread(target=lambda: done.append(sandbox.query("SELECT count(*) FROM visits").table))
    reader.start()
    reader.join(timeout=5)
    assert done and done[0].column(0)[0].as_py() == 7, "a query ran while the stream was open"
    assert sum(batch.num_rows for batch in rows) == 3
    for refused in ("SELECT * FROM read_csv('/etc/passwd')", "SELECT * FROM casefiles", "DELETE FROM ledger"):
        with pytest.raises(QueryError):
            sandbox.stream(refused)
    with pytest.raises(QueryError, match="longer than 0.5 seconds"):
        list(sandbox.stream("SELECT count(*) FROM range(1000000000000) a", time_limit=0.5))


# ---------------------------------------------------------------------------------------- a million rows


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def memory(pid: int, key: str) -> int:
    """VmRSS or VmHWM (the peak since the last reset) of a process, in bytes."""
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith(key + ":"):
                return int(line.split()[1]) * 1024
    raise AssertionError(f"no {key} for process {pid}")


def test_a_million_row_release_streams_in_every_format_in_bounded_server_memory(root, tmp_path):
    """The server is a real `govcat serve` process; its peak resident memory is reset after a warm-up
    and read after each whole download."""
    import shutil

    shutil.copytree(root / "home", tmp_path / "home")
    home = tmp_path / "home"
    parquet = home / "releases" / "ledger" / "1" / "data.parquet"  # release 1 becomes a million rows
    duckdb.execute(f"""COPY (SELECT i AS id, 'Payee ' || (i % 997) AS payee, 'note for row ' || i AS note,
                        (i % 100000) / 100.0 AS amount, DATE '2020-01-01' + CAST(i % 2000 AS INTEGER) AS paid,
                        TIMESTAMP '2020-01-01' + to_seconds(i) AS logged, i % 3 = 0 AS approved
                        FROM range(1, 1000001) r(i)) TO '{parquet}' (FORMAT parquet)""")
    port = free_port()
    env = {**os.environ, "GOVCAT_API_RATE": "0", "GOVCAT_PSEUDONYM_KEY": TEST_KEY}
    server = subprocess.Popen([sys.executable, "-m", "catalog.cli", "serve", "--home", str(home), "--port", str(port)],
                              cwd=REPO, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.time() + 60
        while True:
            try:
                if httpx.get(f"{url}/healthz", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                assert server.poll() is None and time.time() < deadline, "the server did not start"
                time.sleep(0.1)

        def download(path: str) -> tuple[int, int, dict]:
            lines = size = 0
            with httpx.stream("GET", url + path, timeout=60) as answer:
                assert answer.status_code == 200
                for chunk in answer.iter_bytes():
                    lines += chunk.count(b"\n")
                    size += len(chunk)
                return lines, size, dict(answer.headers)

        for fmt in ("csv", "ndjson", "parquet"):  # warm up: the sandbox, the imports, the writers
            download(f"/api/data/ledger@1.{fmt}?_stream=1&id__lte=50000")
        growth = {}
        for fmt in ("csv", "ndjson", "parquet"):
            with open(f"/proc/{server.pid}/clear_refs", "w") as clear:
                clear.write("5")  # VmHWM starts again from the current resident size
            before = memory(server.pid, "VmRSS")
            lines, size, headers = download(f"/api/data/ledger@1.{fmt}?_stream=1")
            growth[fmt] = (memory(server.pid, "VmHWM") - before) / 2**20
            assert headers["x-total-count"] == "1000000"
            if fmt == "csv":
                assert lines == 1_000_001 and size > 60 * 2**20
            elif fmt == "ndjson":
                assert lines == 1_000_000 and size > 100 * 2**20
        print(f"server memory growth while streaming a million rows, MB: {growth}")
        assert all(mb < 40 for mb in growth.values()), f"the server grew by {growth} MB"
        with open(tmp_path / "all.parquet", "wb") as out, httpx.stream(
                "GET", f"{url}/api/data/ledger@1.parquet?_size=max&approved=true") as answer:
            for chunk in answer.iter_bytes():
                out.write(chunk)
        assert pq.ParquetFile(tmp_path / "all.parquet").metadata.num_rows == 333_333
    finally:
        server.send_signal(signal.SIGTERM)
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
