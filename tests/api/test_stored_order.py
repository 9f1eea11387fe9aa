"""Pages of a release read from its serving copy, whose rows are stored in primary-key order: the
data API leaves the ORDER BY out and must still give exactly the rows the ordered query gives."""

import pytest
from fastapi.testclient import TestClient

from catalog import flow, serving
from catalog.api import create_app
from catalog.spec import load_declarations
from tests.conftest import TEST_KEY, Declarations

ROWS = 2000
SCHEMA = {"fields": [{"name": "id", "type": "integer"}, {"name": "district", "type": "string"},
                     {"name": "amount", "type": "number"}], "primaryKey": ["id"]}


@pytest.fixture(scope="module")
def client(tmp_path_factory):
    root = tmp_path_factory.mktemp("stored-order")
    declarations = Declarations(root / "datasets")
    declarations.agency()
    rows = "id,district,amount\n" + "".join(f"{(i * 37) % ROWS},{('North', 'South', 'East')[i % 3]},{i % 50}.5\n"
                                            for i in range(ROWS))
    declarations.dataset(schema=SCHEMA, files={"2024.csv": rows}, privacy=None)
    loaded = load_declarations(declarations.root)
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("GOVCAT_PSEUDONYM_KEY", TEST_KEY)
        patch.setenv("GOVCAT_API_RATE", "0")
        patch.setattr(serving, "MIN_ROWS", 1000)
        assert flow.publish_delivery(loaded, loaded.datasets["grants"], root / "home").status == "published"
        with TestClient(create_app(root / "home")) as test_client:
            test_client.get("/api/data/grants?_size=1")  # the sandbox is made, and reads the copy
            yield test_client


def walked(client, url: str) -> tuple[list[dict], list[str]]:
    rows, queries, totals = [], [], set()
    while url:
        body = client.get(url).json()
        rows += body["rows"]
        queries.append(body["sql"])
        totals.add(body["total"])
        url = (body["next_url"] or "").removeprefix("http://testserver")
    assert totals == {len(rows)}
    return rows, queries


@pytest.mark.parametrize(("filters", "where"), [("", ""), ("district=South", "WHERE district = 'South'"),
                                                ("amount__gt=40&district__not=East",
                                                 "WHERE amount > 40 AND district <> 'East'")])
def test_pages_in_stored_order_are_the_rows_in_key_order(client, filters, where):
    rows, queries = walked(client, f"/api/data/grants?{filters}&_size=150")
    expected = client.get("/api/sql", params={"sql": f"SELECT * FROM grants {where} ORDER BY id",
                                              "_size": ROWS}).json()["rows"]
    assert rows == expected and len(rows) > 150
    assert all("ORDER BY" not in sql for sql in queries), "the copy is stored in key order"
    first = client.get(f"/api/data/grants?{filters}&_size=150").json()
    assert first["total"] == len(expected)


def test_a_sort_on_another_column_is_still_ordered(client):
    rows, queries = walked(client, "/api/data/grants?_sort_desc=amount&_size=400")
    expected = client.get("/api/sql", params={"sql": "SELECT * FROM grants ORDER BY amount DESC, id",
                                              "_size": ROWS}).json()["rows"]
    assert rows == expected
    assert all("ORDER BY" in sql for sql in queries)


def test_a_row_by_its_key_is_answered_without_a_thread_and_all_else_with_one(client, monkeypatch):
    """A look-up by the whole primary key of an open, indexed copy runs on the event loop; a
    request that could take longer never does."""
    from catalog.api import data as data_api

    async def no_threads(function, *args):
        raise AssertionError("handed to a thread")

    expected = client.get("/api/sql", params={"sql": "SELECT * FROM grants WHERE id = 1234"}).json()["rows"]
    monkeypatch.setattr(data_api, "in_thread", no_threads)
    for query, rows in (("id=1234", expected), ("id=1234&_col=amount", [{"amount": expected[0]["amount"]}]),
                        ("id=99999", []), ("id=1234.0", expected)):
        body = client.get(f"/api/data/grants?{query}").json()
        assert body["rows"] == rows and body["total"] == len(rows), query
    assert client.get("/api/data/grants?id=abc").status_code == 400
    for query in ("id__gt=1990", "district=North", "id=5&district=North", "id=5&_stream=1&_format=csv"):
        with pytest.raises(AssertionError, match="handed to a thread"):
            client.get(f"/api/data/grants?{query}")
