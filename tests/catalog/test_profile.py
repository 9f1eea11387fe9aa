"""Column profiles: exact counts, sensible bins, nothing shown that could single a record out."""

import json
import math

import duckdb
import numpy as np
import pandas as pd
import pytest

from catalog import browse, catalogue_db, flow
from catalog.profile import MIN_SHOWN, profile_parquet, pseudonymised_columns, withhold
from catalog.spec import load_declarations
from tests.conftest import GOOD_ROWS

SCHEMA = {"fields": [
    {"name": "amount", "type": "number", "description": "Amount paid, in pounds"},
    {"name": "year", "type": "year"},
    {"name": "paid_on", "type": "date"},
    {"name": "ward", "type": "string"},
    {"name": "name", "type": "string"},
    {"name": "token", "type": "string"},
    {"name": "urgent", "type": "boolean"},
]}
PSEUDONYMISED = {"rules": [{"rule": "pseudonymise", "columns": ["token"], "plain": "replaced 'token' with codes"}]}


def parquet_of(frame: pd.DataFrame, path) -> object:
    con = duckdb.connect()
    try:
        con.register("frame", frame)
        con.execute(f"COPY frame TO '{path}' (FORMAT parquet)")
    finally:
        con.close()
    return path


@pytest.fixture
def sample(tmp_path):
    rng = np.random.default_rng(7)
    rows = 1000
    amount = rng.gamma(2.0, 150.0, rows).round(2)
    amount[rng.choice(rows, 37, replace=False)] = np.nan
    frame = pd.DataFrame({
        "amount": amount,
        "year": rng.integers(1990, 2025, rows).astype("int32"),
        "paid_on": pd.to_datetime("2023-01-01") + pd.to_timedelta(rng.integers(0, 700, rows), unit="D"),
        "ward": rng.choice(["North", "South", "East", "West", "Harbour"], rows, p=[.4, .3, .2, .097, .003]),
        "name": [f"person {i}" for i in range(rows)],
        "token": [f"tok{i % 400:05d}" for i in range(rows)],
        "urgent": rng.random(rows) < 0.25,
    })
    frame["paid_on"] = frame["paid_on"].dt.date
    return frame, parquet_of(frame, tmp_path / "data.parquet")


def by_name(profile: dict) -> dict:
    return {c["name"]: c for c in profile["columns"]}


def test_counts_are_exact_and_bins_add_up(sample):
    frame, path = sample
    profile = profile_parquet(path, SCHEMA, PSEUDONYMISED)
    columns = by_name(profile)
    assert profile["rows"] == len(frame) and list(columns) == list(frame.columns)
    amount = columns["amount"]
    assert amount["missing"] == frame["amount"].isna().sum() == 37
    assert amount["distinct"] == frame["amount"].nunique() and amount["distinct_exact"]
    assert amount["min"] == frame["amount"].min() and amount["max"] == frame["amount"].max()
    assert amount["description"] == "Amount paid, in pounds"
    assert sum(b["count"] for b in amount["bins"]) == frame["amount"].notna().sum()
    assert 5 <= len(amount["bins"]) <= 20
    for b in amount["bins"]:
        inside = frame["amount"][(frame["amount"] >= b["from"]) & (frame["amount"] < b["to"])]
        assert b["count"] == len(inside), b
    assert columns["ward"]["distinct"] == frame["ward"].nunique()


def test_years_and_dates_are_binned_on_the_calendar(sample):
    frame, path = sample
    columns = by_name(profile_parquet(path, SCHEMA, PSEUDONYMISED))
    years = columns["year"]
    assert years["bins"][0]["label"].startswith("1990") and "," not in years["bins"][0]["label"]
    assert sum(b["count"] for b in years["bins"]) == len(frame)
    dates = columns["paid_on"]
    assert dates["min"] == min(frame["paid_on"]).isoformat() and dates["max"] == max(frame["paid_on"]).isoformat()
    assert [b["label"] for b in dates["bins"]][:2] == ["2023-01 to 2023-02", "2023-03 to 2023-04"]
    january = sum(1 for d in frame["paid_on"] if (d.year, d.month) in ((2023, 1), (2023, 2)))
    assert dates["bins"][0]["count"] == january


def test_common_values_are_listed_only_when_each_has_enough_records(sample):
    frame, path = sample
    ward = by_name(profile_parquet(path, SCHEMA, PSEUDONYMISED))["ward"]
    counts = frame["ward"].value_counts()
    expected = [(value, n) for value, n in counts.items() if n >= MIN_SHOWN]
    assert [(t["value"], t["count"]) for t in ward["top"]] == expected
    assert "Harbour" not in {t["value"] for t in ward["top"]} and counts["Harbour"] < MIN_SHOWN
    assert ward["small_values"] == 1 and ward["top_other"] == counts["Harbour"]


def test_values_seen_fewer_than_five_times_are_never_listed(sample):
    _, path = sample
    name = by_name(profile_parquet(path, SCHEMA, PSEUDONYMISED))["name"]
    assert name["top"] == [] and name["withheld"] == "small_counts"
    assert name["min"] is None and name["max"] is None, "the first and last name are single records"
    assert name["range"] == "lengths" and name["length"] == {"min": len("person 0"), "max": len("person 999")}


def test_a_pseudonymised_column_shows_no_value_at_all(sample):
    _, path = sample
    profile = profile_parquet(path, SCHEMA, PSEUDONYMISED)
    token = by_name(profile)["token"]
    assert token["withheld"] == "pseudonymised" and token["distinct"] == 400
    assert token["top"] is None and token["bins"] is None and token["min"] is None and token["max"] is None
    assert "tok0" not in json.dumps(profile)


def test_booleans_are_counted_by_value(sample):
    frame, path = sample
    urgent = by_name(profile_parquet(path, SCHEMA, PSEUDONYMISED))["urgent"]
    assert {t["value"]: t["count"] for t in urgent["top"]} == {"true": int(frame["urgent"].sum()),
                                                               "false": int((~frame["urgent"]).sum())}


def test_distinct_counts_of_very_long_releases_are_flagged_as_estimates(sample):
    _, path = sample
    columns = by_name(profile_parquet(path, SCHEMA, PSEUDONYMISED, exact_distinct_rows=10))
    assert not columns["amount"]["distinct_exact"] and not columns["ward"]["distinct_exact"]
    assert columns["amount"]["missing"] == 37, "missing counts stay exact"


def test_odd_columns_do_not_break_it(tmp_path):
    frame = pd.DataFrame({'odd "name", really': [1.5, math.inf, float("nan"), None, 2.5],
                          "empty": pd.Series([None] * 5, dtype="object"), "same": [3] * 5})
    columns = by_name(profile_parquet(parquet_of(frame, tmp_path / "odd.parquet")))
    odd = columns['odd "name", really']
    assert odd["min"] == 1.5 and odd["max"] == 2.5 and odd["not_a_number"] == 1
    assert columns["empty"]["missing"] == 5 and not columns["empty"]["top"] and columns["empty"]["min"] is None
    assert columns["same"]["bins"] == [{"label": "3", "from": 3, "to": 3, "count": 5}]
    json.dumps(columns)
    empty = profile_parquet(parquet_of(frame.iloc[:0], tmp_path / "none.parquet"))
    assert empty["rows"] == 0 and all(c["missing"] == 0 for c in empty["columns"])


def test_every_column_type_is_profiled_and_every_value_lands_in_one_bin(tmp_path):
    path = tmp_path / "types.parquet"
    con = duckdb.connect()
    con.execute(f"""COPY (SELECT (i / 7.0)::DECIMAL(10, 2) AS dec, TIME '06:00' + to_minutes(i * 9) AS clock,
        TIMESTAMPTZ '2024-03-01 10:00:00+00' + to_minutes(i * 7) AS zoned,
        TIMESTAMP '2024-03-01 08:00' + to_minutes(i) AS morning, -i::SMALLINT AS negative,
        [i, i + 1] AS list, {{'a': i}} AS struct FROM range(100) t(i)) TO '{path}' (FORMAT parquet)""")
    con.close()
    columns = by_name(profile_parquet(path))
    for name in ("dec", "clock", "zoned", "morning", "negative"):
        assert sum(b["count"] for b in columns[name]["bins"]) == 100, name
    assert [b["count"] for b in columns["morning"]["bins"]] == [60, 40], "08:00-08:59, then 09:00-09:39"
    assert columns["negative"]["min"] == -99 and columns["clock"]["max"] == "20:51:00"
    assert columns["list"]["distinct"] == 100 and columns["list"]["bins"] is None
    json.dumps(columns)


def test_rules_declared_later_still_hide_a_columns_values(sample):
    _, path = sample
    profile = profile_parquet(path, SCHEMA, {})
    assert by_name(profile)["ward"]["top"]
    hidden = by_name(withhold(profile, pseudonymised_columns({"pseudonymise": {"columns": ["ward"]}})))["ward"]
    assert hidden["top"] is None and hidden["min"] is None and hidden["withheld"] == "pseudonymised"


def publish_grants(declarations, home, rows=GOOD_ROWS):
    declarations.agency()
    declarations.dataset(files={"2024.csv": rows})
    loaded = load_declarations(declarations.root)
    return flow.publish_delivery(loaded, loaded.datasets["grants"], home, "2024.csv")


def test_publishing_stores_the_profile_with_the_release(declarations, home):
    publish_grants(declarations, home)
    con = catalogue_db.open_reader(home / "catalogue.duckdb")
    try:
        found = browse.release_profile(con, "grants", 1)
    finally:
        con.close()
    columns = by_name(found["profile"])
    assert found["profile"]["rows"] == 2 and list(columns) == ["id", "district", "email", "amount"]
    assert columns["email"]["withheld"] == "pseudonymised", "the demo rules pseudonymise email"
    assert columns["amount"]["min"] == 3 and columns["amount"]["max"] == 10.5
    manifest = json.loads((home / "releases" / "grants" / "1" / "release.json").read_text())
    assert manifest["profile"] == found["profile"]


def test_a_catalogue_from_before_profiles_is_upgraded_on_the_next_publish(declarations, home):
    publish_grants(declarations, home)
    con = duckdb.connect(str(home / "catalogue.duckdb"))
    con.execute("ALTER TABLE releases DROP COLUMN profile")
    con.close()
    reader = catalogue_db.open_reader(home / "catalogue.duckdb")
    try:
        old = browse.release_profile(reader, "grants", 1)
    finally:
        reader.close()
    assert old["profile"] is None and old["path"] == "releases/grants/1/data.parquet"
    publish_grants(declarations, home, GOOD_ROWS + "3,East,cy@example.org,7\n")
    reader = catalogue_db.open_reader(home / "catalogue.duckdb")
    try:
        first, second = browse.release_profile(reader, "grants", 1), browse.release_profile(reader, "grants", 2)
        assert browse.release_profile(reader, "grants", 3) is None
    finally:
        reader.close()
    assert first["profile"] is None, "an old release keeps no profile; the page computes it"
    assert second["profile"]["rows"] == 3


def test_a_restricted_release_profile_is_not_public(declarations, home):
    declarations.agency()
    declarations.agency("county", name="County Council")
    declarations.dataset(access="restricted", sharing={"agencies": ["county"], "legal_basis": "An agreement"})
    loaded = load_declarations(declarations.root)
    assert flow.publish_delivery(loaded, loaded.datasets["grants"], home).status == "published"
    reader = catalogue_db.open_reader(home / "catalogue.duckdb")
    try:
        assert browse.release_profile(reader, "grants", 1) is None
    finally:
        reader.close()
