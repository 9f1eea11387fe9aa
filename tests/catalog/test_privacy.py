"""Privacy rules: dropped columns never published, keyed pseudonyms, the guard, the key."""

import json
import os

import duckdb
import pytest

from catalog import flow, privacy
from catalog.errors import PrivacyError
from catalog.spec import load_declarations
from tests.conftest import TEST_KEY

PEOPLE = ("id,district,email,amount\n"
          "1,North,ann@example.org,10\n"
          "2,South,bob@example.org,3\n"
          "3,North,,7\n")


def publish(declarations, home, text=PEOPLE, **overrides):
    if not (declarations.root / "city" / "agency.yaml").exists():
        declarations.agency()
    declarations.dataset(files={"2024.csv": text}, **overrides)
    loaded = load_declarations(declarations.root)
    return loaded, flow.publish_delivery(loaded, loaded.datasets["grants"], home)


def release_rows(home, release=1):
    return duckdb.connect().execute(
        f"SELECT * FROM read_parquet('{home}/releases/grants/{release}/data.parquet') ORDER BY id").fetchall()


def test_pseudonymised_column_carries_keyed_codes_only(declarations, home):
    _, outcome = publish(declarations, home)
    assert outcome.status == "published"
    rows = release_rows(home)
    assert [r[2] for r in rows] == [privacy.pseudonym(TEST_KEY.encode(), "grants", "ann@example.org"),
                                    privacy.pseudonym(TEST_KEY.encode(), "grants", "bob@example.org"), None]
    published = (home / "releases" / "grants" / "1" / "data.parquet").read_bytes()
    assert b"ann@example.org" not in published and TEST_KEY.encode() not in published


def test_dropped_column_is_absent_from_release_and_catalogue(declarations, home):
    publish(declarations, home, privacy={"drop": ["email"]})
    columns = duckdb.connect().execute(
        f"SELECT name FROM parquet_schema('{home}/releases/grants/1/data.parquet') WHERE name <> 'duckdb_schema'"
    ).fetchall()
    assert [c[0] for c in columns] == ["id", "district", "amount"]
    report = json.loads((home / "releases" / "grants" / "1" / "release.json").read_text())
    assert [f["name"] for f in report["schema"]["fields"]] == ["id", "district", "amount"]


def test_series_scope_keeps_codes_across_releases_and_release_scope_changes_them(declarations, home):
    publish(declarations, home)
    first = release_rows(home)[0][2]
    declarations.dataset(files={"2025.csv": PEOPLE.replace("10\n", "11\n")})
    loaded = load_declarations(declarations.root)
    assert flow.publish_delivery(loaded, loaded.datasets["grants"], home, "2025.csv").release == 2
    assert release_rows(home, 2)[0][2] == first
    declarations.dataset(privacy={"pseudonymise": {"columns": ["email"], "scope": "release"}},
                         files={"2026.csv": PEOPLE.replace("10\n", "12\n")})
    loaded = load_declarations(declarations.root)
    assert flow.publish_delivery(loaded, loaded.datasets["grants"], home, "2026.csv").release == 3
    assert release_rows(home, 3)[0][2] != first


def test_missing_key_fails_with_a_clear_message_and_publishes_nothing(declarations, home, monkeypatch):
    monkeypatch.delenv("GOVCAT_PSEUDONYM_KEY")
    with pytest.raises(PrivacyError, match="a pseudonymisation key is needed and none is set"):
        publish(declarations, home)
    assert not (home / "releases" / "grants" / "1").exists()


def test_key_from_a_file_named_in_the_environment(declarations, home, monkeypatch, tmp_path):
    key_file = tmp_path / "key"
    key_file.write_text("another-key-0123456789abcdef\n")
    monkeypatch.delenv("GOVCAT_PSEUDONYM_KEY")
    monkeypatch.setenv("GOVCAT_PSEUDONYM_KEY_FILE", str(key_file))
    publish(declarations, home)
    assert release_rows(home)[0][2] == privacy.pseudonym(b"another-key-0123456789abcdef", "grants", "ann@example.org")


def test_new_key_is_private_and_never_overwritten(tmp_path):
    path = privacy.write_new_key(tmp_path)
    assert oct(os.stat(path).st_mode)[-3:] == "600" and len(path.read_text().strip()) == 64
    with pytest.raises(FileExistsError):
        privacy.write_new_key(tmp_path)


def test_guard_blocks_an_uncovered_email_column_and_says_what_to_do(declarations, home):
    loaded, outcome = publish(declarations, home, privacy=None)
    assert outcome.status == "quarantined"
    assert "column 'email' looks personal (its name suggests an email address)" in outcome.reason
    assert "privacy.waivers" in outcome.reason and "drop or pseudonymise" in outcome.reason
    assert not (home / "releases" / "grants").exists() or not any((home / "releases" / "grants").glob("[0-9]*"))


def test_guard_finds_emails_by_value_in_an_innocent_looking_column(declarations, home):
    text = "id,district,email,amount\n1,North,x,1\n2,ask jo.smith@mail.example.org for keys,y,1\n"
    _, outcome = publish(declarations, home, text=text)
    assert outcome.status == "quarantined"
    assert outcome.reason.startswith("column 'district' looks personal (1 of its values contain an email address)")


def test_guard_finds_a_column_of_phone_numbers(declarations, home):
    text = "id,district,email,amount\n1,+44 20 7946 0958,x,1\n2,020 7946 0018,y,1\n3,North,z,1\n"
    _, outcome = publish(declarations, home, text=text)
    assert outcome.reason.startswith("column 'district' looks personal (2 of its 3 values look like phone numbers)")


def test_a_reviewed_waiver_lets_a_column_through(declarations, home):
    _, outcome = publish(declarations, home, privacy={"waivers": {"email": "shared office addresses, reviewed"}})
    assert outcome.status == "published"


@pytest.mark.parametrize("name,expected", [
    ("patient_name", "a person's name"), ("OwnerName", "a person's name"), ("name", "a person's name"),
    ("Country Name", None), ("business_name", None), ("date_of_birth", "a date of birth"),
    ("reporter_email", "an email address"), ("postcode", "a postcode"), ("nhs_number", "a national identifier"),
    ("amount", None), ("street", "an address"),
])
def test_column_name_heuristics(name, expected):
    assert privacy.name_suggests(name) == expected


def test_reference_numbers_are_not_taken_for_phone_numbers(declarations, home):
    text = "id,district,email,amount\n1,2024-000123,x,1\n2,2024-000124,y,1\n"
    _, outcome = publish(declarations, home, text=text)
    assert outcome.status == "published"
