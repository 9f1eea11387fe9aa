"""Privacy rules: dropped columns never published, keyed pseudonyms, the guard, the key."""

import datetime as dt
import json
import os

import duckdb
import pytest

from catalog import flow, privacy
from catalog.errors import PrivacyError
from catalog.spec import load_declarations
from catalog.store import Store
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
    assert "scrub free text" in outcome.reason
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


def nhs_number(stem: str) -> str:
    """A 10-digit NHS number with a valid modulus-11 check digit, from a 9-digit stem."""
    check = 11 - sum(int(d) * w for d, w in zip(stem, range(10, 1, -1))) % 11
    return stem + ("0" if check == 11 else str(check)) if check != 10 else nhs_number(str(int(stem) + 1))


def test_guard_finds_a_column_of_nhs_numbers(declarations, home):
    rows = "".join(f"{i},{nhs_number(str(401023000 + 37 * i))},x,1\n" for i in range(1, 30))
    _, outcome = publish(declarations, home, text="id,district,email,amount\n" + rows)
    assert outcome.status == "quarantined"
    assert outcome.reason.startswith("column 'district' looks personal (") and "NHS numbers" in outcome.reason


def test_guard_finds_dates_of_birth_by_their_values(declarations, home):
    days = [(i * 7919) % 29000 for i in range(1, 120)]     # 120 people born over some 80 years
    rows = "".join(f"{i},{dt.date(1940, 1, 1) + dt.timedelta(days=d)},x,1\n" for i, d in enumerate(days, 1))
    _, outcome = publish(declarations, home, text="id,district,email,amount\n" + rows)
    assert outcome.status == "quarantined"
    assert outcome.reason.startswith("column 'district' looks personal (its values look like dates of birth")
    assert "1940-" not in outcome.reason and "privacy.waivers" in outcome.reason


PATIENTS_SCHEMA = {"fields": [
    {"name": "id", "type": "integer", "constraints": {"required": True, "unique": True}},
    {"name": "sex", "type": "string"},
    {"name": "age", "type": "integer"},
    {"name": "district", "type": "string"},
    {"name": "admitted", "type": "date"},
    {"name": "note", "type": "string"},
], "primaryKey": ["id"]}


def patients(rare: int) -> str:
    """40 patients in four common groups of ten, and ``rare`` ones each alone in their group."""
    lines = ["id,sex,age,district,admitted,note"]
    for i in range(40):
        lines.append(f"{i + 1},{'FM'[i % 2]},{30 + (i // 2) % 2},North,2024-03-{1 + i % 28:02d},"
                     f"call {i}@example.org")
    for j in range(rare):
        lines.append(f"{41 + j},F,{60 + 10 * j},South {j},2024-04-01,ok")
    return "\n".join(lines) + "\n"


def test_generalised_scrubbed_and_k_anonymous_release(declarations, home):
    rules = {"generalise": {"age": {"bands": 10, "top": 80}, "admitted": {"to": "month"}},
             "scrub": ["note"],
             "k_anonymity": {"quasi_identifiers": ["sex", "age", "district"], "k": 5, "max_suppression": 0.1}}
    _, outcome = publish(declarations, home, text=patients(3), schema=PATIENTS_SCHEMA, privacy=rules)
    assert outcome.status == "published", outcome.reason
    rows = duckdb.connect().execute(
        f"SELECT sex, age, district, admitted, note FROM read_parquet('{home}/releases/grants/1/data.parquet') "
        f"ORDER BY id").fetchall()
    assert rows[0] == ("F", "30-39", "North", "2024-03", "call [email]")
    classes = duckdb.connect().execute(
        f"SELECT count(*) FROM read_parquet('{home}/releases/grants/1/data.parquet') GROUP BY sex, age, district"
    ).fetchall()
    assert min(c for (c,) in classes) >= 5
    report = json.loads(duckdb.connect(str(home / "catalogue.duckdb"), read_only=True).execute(
        "SELECT privacy FROM releases WHERE dataset_id = 'grants'").fetchone()[0])
    assert report["measures"]["scrub"]["cells_changed"] == {"note": 40}
    measure = report["measures"]["k_anonymity"]
    assert measure["k_achieved"] >= 5 and measure["passed"]
    assert "the rarest combination is now shared by" in measure["plain"] and "Information lost: " in measure["plain"]
    assert measure["risk_before"]["highest"] == 1.0 and measure["risk_after"]["highest"] <= 0.2
    assert "example.org" not in json.dumps(report) and "South" not in json.dumps(report)


def test_k_anonymity_needing_too_much_suppression_stops_the_release(declarations, home):
    rules = {"k_anonymity": {"quasi_identifiers": ["sex", "age", "district"], "k": 5, "max_suppression": 0.02}}
    _, outcome = publish(declarations, home, text=patients(3).replace("@example.org", ""), schema=PATIENTS_SCHEMA,
                         privacy=rules)
    assert outcome.status == "quarantined"
    assert Store(home).history("grants")[-1].stage == "privacy"
    assert outcome.reason.startswith("k-anonymity: making every combination of 'sex', 'age' and 'district' shared")
    assert "more than the 2.0% declared" in outcome.reason and "privacy.generalise" in outcome.reason


COUNTS_SCHEMA = {"fields": [
    {"name": "region", "type": "string"}, {"name": "month", "type": "string"},
    {"name": "admissions", "type": "integer"}]}


def test_small_counts_are_hidden_and_cannot_be_worked_out_from_the_totals(declarations, home):
    counts = {("North", "Jan"): 23, ("North", "Feb"): 3, ("North", "Mar"): 31,
              ("South", "Jan"): 40, ("South", "Feb"): 27, ("South", "Mar"): 18}
    text = "region,month,admissions\n" + "".join(f"{r},{m},{n}\n" for (r, m), n in counts.items())
    rules = {"small_cells": {"counts": ["admissions"], "rule": "suppress", "k": 5}}
    _, outcome = publish(declarations, home, text=text, schema=COUNTS_SCHEMA, privacy=rules)
    assert outcome.status == "published", outcome.reason
    published = dict(((r, m), n) for r, m, n in duckdb.connect().execute(
        f"SELECT region, month, admissions FROM read_parquet('{home}/releases/grants/1/data.parquet')").fetchall())
    assert published[("North", "Feb")] is None
    hidden = [cell for cell, n in published.items() if n is None]
    assert len(hidden) >= 4, "one more in its row, its column, and the cell closing the rectangle"
    assert all(published[cell] == counts[cell] for cell in counts if cell not in hidden)
