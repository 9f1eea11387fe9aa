"""Releases: what each one records, the diff from the one before, and reading any earlier one."""

import json

import pytest

from catalog import catalogue_db, flow
from catalog.errors import QueryError
from catalog.query import Sandbox
from catalog.spec import load_declarations
from tests.conftest import GOOD_ROWS, SCHEMA

THREE = GOOD_ROWS + "3,East,cy@example.org,7\n"


def publish(declarations, home, rows, schema=SCHEMA, note=""):
    declarations.agency()
    declarations.dataset(files={"2024.csv": rows}, schema=schema)
    loaded = load_declarations(declarations.root)
    return flow.publish_delivery(loaded, loaded.datasets["grants"], home, "2024.csv", note=note)


def release_record(home, number):
    con = catalogue_db.open_reader(home / "catalogue.duckdb")
    try:
        cursor = con.execute("SELECT * FROM releases WHERE dataset_id = 'grants' AND release = ?", [number])
        names = [d[0] for d in cursor.description]
        return dict(zip(names, cursor.fetchone()))
    finally:
        con.close()


def test_a_release_records_what_a_citation_needs(declarations, home):
    publish(declarations, home, GOOD_ROWS, note="First monthly file")
    record = release_record(home, 1)
    assert record["release"] == 1 and record["rows"] == 2 and record["note"] == "First monthly file"
    assert len(record["source_sha256"]) == 64 and len(record["data_sha256"]) == 64
    assert len(record["schema_fingerprint"]) == 16 and record["published_at"] is not None
    assert record["path"] == "releases/grants/1/data.parquet"
    manifest = json.loads((home / "releases" / "grants" / "1" / "release.json").read_text())
    assert manifest["note"] == "First monthly file" and manifest["schema_fingerprint"] == record["schema_fingerprint"]
    assert json.loads(record["diff"])["summary"] == "first release: 2 rows"


def test_the_diff_counts_rows_added_removed_and_changed_by_primary_key(declarations, home):
    publish(declarations, home, THREE)
    changed = "id,district,email,amount\n1,North,ann@example.org,10.5\n3,East,cy@example.org,8\n4,West,d@example.org,1\n5,West,e@example.org,2\n"
    publish(declarations, home, changed)
    diff = json.loads(release_record(home, 2)["diff"])
    assert (diff["rows_added"], diff["rows_removed"], diff["rows_changed"]) == (2, 1, 1)
    assert diff["key"] == ["id"] and not diff["breaking"]
    assert diff["summary"] == "2 rows added, 1 removed, 1 changed (by primary key)"


def test_a_silent_correction_shows_as_changed_rows(declarations, home):
    publish(declarations, home, THREE)
    publish(declarations, home, THREE.replace("cy@example.org,7", "cy@example.org,70"))
    diff = json.loads(release_record(home, 2)["diff"])
    assert (diff["rows_added"], diff["rows_removed"], diff["rows_changed"]) == (0, 0, 1)


def test_a_removed_or_retyped_column_is_flagged_as_breaking(declarations, home):
    publish(declarations, home, THREE)
    schema = {**SCHEMA, "fields": [f if f["name"] != "amount" else {"name": "amount", "type": "string"}
                                   for f in SCHEMA["fields"] if f["name"] != "district"]}
    rows = "id,email,amount\n1,ann@example.org,10.5\n2,bob@example.org,3\n3,cy@example.org,7\n"
    publish(declarations, home, rows, schema=schema)
    record = release_record(home, 2)
    diff = json.loads(record["diff"])
    assert record["breaking"] is True and diff["columns_removed"] == ["district"]
    assert diff["columns_retyped"] == [{"column": "amount", "from": "number", "to": "string"}]
    assert "BREAKING: column 'district' removed; column 'amount' changed type from number to string" in diff["summary"]


def test_an_added_column_is_not_breaking(declarations, home):
    publish(declarations, home, THREE)
    schema = {**SCHEMA, "fields": [*SCHEMA["fields"], {"name": "ward", "type": "string"}]}
    publish(declarations, home, "id,district,email,amount,ward\n" +
            "".join(line + ",W1\n" for line in THREE.splitlines()[1:]), schema=schema)
    diff = json.loads(release_record(home, 2)["diff"])
    assert diff["columns_added"] == ["ward"] and not diff["breaking"] and diff["rows_changed"] == 0


def test_without_a_primary_key_whole_rows_are_compared(declarations, home):
    schema = {k: v for k, v in SCHEMA.items() if k != "primaryKey"}
    publish(declarations, home, THREE, schema=schema)
    publish(declarations, home, THREE.replace("cy@example.org,7", "cy@example.org,70"), schema=schema)
    diff = json.loads(release_record(home, 2)["diff"])
    assert (diff["rows_added"], diff["rows_removed"]) == (1, 1) and "comparing whole rows" in diff["summary"]


def test_any_earlier_release_stays_readable_as_of_its_number(declarations, home):
    publish(declarations, home, GOOD_ROWS)
    publish(declarations, home, THREE)
    sandbox = Sandbox(home)
    assert sandbox.query("SELECT count(*) AS n FROM grants").table.to_pylist() == [{"n": 3}]
    assert sandbox.query('SELECT count(*) AS n FROM "grants@1"').table.to_pylist() == [{"n": 2}]
    pinned = Sandbox(home, as_of={"grants": 1})
    assert pinned.query("SELECT count(*) AS n FROM grants").table.to_pylist() == [{"n": 2}]
    with pytest.raises(QueryError, match="grants has no release 9; its releases are 1 to 2"):
        Sandbox(home, as_of={"grants": 9})


def test_govcat_sql_reads_as_of_a_release(declarations, home, capsys):
    from catalog.cli import main
    publish(declarations, home, GOOD_ROWS)
    publish(declarations, home, THREE)
    assert main(["sql", "SELECT count(*) AS n FROM grants", "--home", str(home), "--as-of", "grants=1", "--json"]) == 0
    assert json.loads(capsys.readouterr().out) == [{"n": 2}]
    assert main(["sql", "SELECT 1", "--home", str(home), "--as-of", "grants"]) == 1
    assert "write it as DATASET=N" in capsys.readouterr().err
    assert main(["sql", "SELECT 1", "--home", str(home), "--as-of", "grants=5"]) == 1
    assert "grants has no release 5" in capsys.readouterr().err
