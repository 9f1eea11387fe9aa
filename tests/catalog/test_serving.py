"""Serving copies: a large release's rows in DuckDB's own storage, read by the sandbox in its place."""

import json

import duckdb
import pytest

from catalog import flow, serving
from catalog.errors import QueryError
from catalog.query import Sandbox
from catalog.spec import load_declarations
from tests.conftest import TEST_KEY, Declarations

ROWS = 300_000  # three of DuckDB's row groups, so a scan runs on more than one thread


def shuffled_release(folder, key) -> "object":
    """A release folder whose Parquet file holds ``ROWS`` rows in no particular order."""
    folder.mkdir(parents=True)
    parquet = folder / "data.parquet"
    duckdb.execute(f"COPY (SELECT (i * 7919) % {ROWS} AS id, i % 13 AS ward, 'row ' || i AS label FROM range({ROWS}) "
                   f"t(i)) TO '{parquet}' (FORMAT parquet, ROW_GROUP_SIZE 16384)")
    schema = {"fields": [{"name": "id", "type": "integer"}, {"name": "ward", "type": "integer"},
                         {"name": "label", "type": "string"}], **({"primaryKey": key} if key else {})}
    (folder / "release.json").write_text(json.dumps({"schema": schema}))
    return parquet


def test_a_copy_holds_every_row_in_primary_key_order_and_scans_give_it(tmp_path):
    parquet = shuffled_release(tmp_path / "release", ["id"])
    copy = tmp_path / "serving" / "rows.duckdb"
    assert serving.ensure_copy(parquet, copy)
    con = duckdb.connect(config={"threads": 2})
    con.execute(f"ATTACH '{copy}' AS c (READ_ONLY)")
    assert serving.sorted_by(con, "c") == ("id",)
    assert [r[0] for r in con.execute("SELECT id FROM c.rows").fetchall()] == list(range(ROWS))
    # What the data API relies on: a filtered scan with a limit gives the first matching rows in key order.
    for after in (0, 150_000, 299_000):
        expected = con.execute("SELECT id, label FROM c.rows WHERE ward = 5 AND id > ? ORDER BY id LIMIT 700",
                               [after]).fetchall()
        assert con.execute("SELECT id, label FROM c.rows WHERE ward = 5 AND id > ? LIMIT 700",
                           [after]).fetchall() == expected
    assert sorted(con.execute("SELECT * FROM c.rows").fetchall()) == sorted(
        con.execute(f"SELECT * FROM read_parquet('{parquet}')").fetchall())
    assert not list(copy.parent.glob(".*.tmp-*")), "no temporary file is left behind"


def test_without_a_primary_key_the_copy_claims_no_order(tmp_path):
    parquet = shuffled_release(tmp_path / "release", None)
    copy = tmp_path / "rows.duckdb"
    assert serving.ensure_copy(parquet, copy)
    con = duckdb.connect()
    con.execute(f"ATTACH '{copy}' AS c (READ_ONLY)")
    assert serving.sorted_by(con, "c") == ()


def test_a_copy_that_cannot_be_made_leaves_nothing_behind(tmp_path):
    release = tmp_path / "release"
    release.mkdir()
    (release / "data.parquet").write_text("not parquet")
    copy = tmp_path / "serving" / "rows.duckdb"
    assert not serving.ensure_copy(release / "data.parquet", copy)
    assert not copy.exists() and not [p for p in copy.parent.iterdir() if p.name != ".lock"]


@pytest.fixture(scope="module")
def home(tmp_path_factory):
    """A dataset published with its rows delivered out of key order, large enough for a copy."""
    root = tmp_path_factory.mktemp("serving")
    declarations = Declarations(root / "datasets")
    declarations.agency()
    schema = {"fields": [{"name": "id", "type": "integer"}, {"name": "district", "type": "string"},
                         {"name": "amount", "type": "number"}], "primaryKey": ["id"]}
    rows = "id,district,amount\n" + "".join(f"{(i * 37) % 2000},{'North' if i % 3 else 'South'},{i % 50}.5\n"
                                            for i in range(2000))
    declarations.dataset(schema=schema, files={"2024.csv": rows}, privacy=None)
    loaded = load_declarations(declarations.root)
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("GOVCAT_PSEUDONYM_KEY", TEST_KEY)
        assert flow.publish_delivery(loaded, loaded.datasets["grants"], root / "home").status == "published"
    return root / "home"


@pytest.fixture
def large_from(monkeypatch):
    monkeypatch.setattr(serving, "MIN_ROWS", 1000)


def answers(sandbox: Sandbox) -> list:
    return [sandbox.query(sql).table.to_pylist() for sql in (
        "SELECT count(*) AS n, sum(amount) AS total FROM grants",
        "SELECT district, count(*) AS n FROM grants GROUP BY district ORDER BY district",
        "SELECT * FROM grants WHERE id = 1234",
        'SELECT * FROM "grants@1" WHERE district = \'South\' ORDER BY id LIMIT 5')]


def test_the_sandbox_answers_the_same_from_a_copy_as_from_the_parquet_file(home, large_from, monkeypatch):
    copied = Sandbox(home)
    try:
        from_copy = answers(copied)
        assert copied.storage_order("grants") == ("id",)
    finally:
        copied.close()
    assert len(list((home / serving.FOLDER).rglob("rows.duckdb"))) == 1, "one copy, for the release both names read"
    monkeypatch.setattr(serving, "MIN_ROWS", 10_000)
    plain = Sandbox(home)
    try:
        assert answers(plain) == from_copy
        assert plain.storage_order("grants") == (), "a Parquet view claims no order"
    finally:
        plain.close()


def test_the_copy_is_out_of_reach_of_a_query(home, large_from):
    sandbox = Sandbox(home)
    try:
        sandbox.query("SELECT count(*) FROM grants")
        for sql in ("SELECT * FROM copy_1.rows", "SELECT * FROM copy_1.about", "SELECT * FROM copy_1.main.rows",
                    "SELECT * FROM duckdb_databases()", "SELECT * FROM read_parquet('x')"):
            with pytest.raises(QueryError) as caught:
                sandbox.query(sql)
            assert str(home) not in str(caught.value) and "serving" not in str(caught.value)
    finally:
        sandbox.close()


def test_a_damaged_copy_is_read_around_then_made_again(home, large_from):
    sandbox = Sandbox(home)
    try:
        expected = answers(sandbox)
    finally:
        sandbox.close()
    copy = next((home / serving.FOLDER).rglob("rows.duckdb"))
    saved = copy.read_bytes()
    try:
        copy.write_bytes(b"this is not a DuckDB file" * 100)
        damaged = Sandbox(home)
        try:
            assert answers(damaged) == expected
            assert damaged.storage_order("grants") == ()
        finally:
            damaged.close()
        mended = Sandbox(home)
        try:
            assert answers(mended) == expected
            assert mended.storage_order("grants") == ("id",), "the next reader makes the copy again"
        finally:
            mended.close()
    finally:
        if not copy.exists():
            copy.write_bytes(saved)
