"""The whole flow on the bundled demo agencies: `govcat publish --all` into a temporary home."""

import csv
import json
import shutil
import subprocess
import sys

import duckdb
import pytest

from catalog import downloads, flow
from catalog.query import Sandbox
from catalog.sources import pull
from catalog.spec import load_declarations
from tests.conftest import DEMO_DATASETS, REPO, TEST_KEY

QUARANTINED = "road_collisions"
GUARDED = "planning_comments"      # stopped by the privacy guard until its declaration is fixed


@pytest.fixture(scope="module")
def declared():
    return load_declarations(DEMO_DATASETS)


def test_demo_has_enough_to_explore(declared):
    assert len(declared.agencies) >= 4 and len(declared.datasets) >= 12
    formats = {spec.source.format for spec in declared.datasets.values()}
    assert formats == {"csv", "xlsx", "json", "xml"}
    assert any(spec.source.encoding not in (None, "utf-8") for spec in declared.datasets.values())
    assert sum(spec.source.origin is not None for spec in declared.datasets.values()) >= 4


def test_every_dataset_is_published_and_the_bad_delivery_quarantined(demo, declared):
    assert demo.returncode == 3, demo.stderr
    lines = demo.stdout.splitlines()
    for dataset_id in declared.datasets:
        if dataset_id != GUARDED:
            assert f"{dataset_id}: published release 1 (" in demo.stdout, dataset_id
    quarantined = {line.split(":")[0]: line for line in lines if "quarantined" in line}
    assert sorted(quarantined) == sorted([QUARANTINED, GUARDED])
    assert quarantined[QUARANTINED].startswith(f"{QUARANTINED}: quarantined collisions-2024-h2.csv: ")
    assert "row 59, field 'severity': the value is not one of: slight, serious, fatal" in quarantined[QUARANTINED]
    assert quarantined[GUARDED].startswith(f"{GUARDED}: quarantined comments-2024.csv: column 'comment' looks personal (")


def test_the_guarded_demo_dataset_publishes_once_its_declaration_covers_the_column(declared, tmp_path, monkeypatch):
    """The demo's planning comments are stopped by the guard; the one-line fix its declaration
    names (``scrub: [comment]``) lets them through with the contact details taken out."""
    monkeypatch.setenv("GOVCAT_PSEUDONYM_KEY", TEST_KEY)
    fixed = tmp_path / "datasets"
    shutil.copytree(DEMO_DATASETS / "riverton" / "planning_comments", fixed / "riverton" / "planning_comments")
    shutil.copy(DEMO_DATASETS / "riverton" / "agency.yaml", fixed / "riverton" / "agency.yaml")
    declaration = fixed / "riverton" / "planning_comments" / "dataset.yaml"
    assert "#   scrub: [comment]" in declaration.read_text()
    declaration.write_text(declaration.read_text().replace("privacy: {}", "privacy: {scrub: [comment]}"))
    loaded = load_declarations(fixed)
    outcome = flow.publish_delivery(loaded, loaded.datasets[GUARDED], tmp_path / "home")
    assert outcome.status == "published", outcome.reason
    comments = [c for (c,) in duckdb.connect().execute(
        f"SELECT comment FROM read_parquet('{tmp_path}/home/releases/{GUARDED}/1/data.parquet')").fetchall()]
    assert len(comments) == 240 and any("[email]" in c for c in comments)
    assert not any("@" in c for c in comments)


def test_republishing_unchanged_sources_creates_no_release(demo, declared):
    env = {"GOVCAT_PSEUDONYM_KEY": TEST_KEY, "PATH": "/usr/bin:/bin"}
    again = subprocess.run([sys.executable, "-m", "catalog.cli", "publish", "--all", "--home", str(demo.home),
                            "--datasets", str(DEMO_DATASETS)], capture_output=True, text=True, env=env, cwd=REPO)
    assert again.returncode == 0, again.stderr
    assert len(again.stdout.splitlines()) == len(declared.datasets)
    assert all(": unchanged (release 1 is current" in line for line in again.stdout.splitlines()
               if not line.startswith(GUARDED))
    assert f"{GUARDED}: unchanged (nothing published yet; comments-2024.csv stays quarantined)" in again.stdout
    assert f"{QUARANTINED}: unchanged (release 1 is current; collisions-2024-h2.csv stays quarantined)" in again.stdout
    assert not list(demo.home.glob("releases/*/2"))


def test_list_reports_every_dataset_with_its_release(demo, declared):
    done = subprocess.run([sys.executable, "-m", "catalog.cli", "list", "--json", "--home", str(demo.home)],
                          capture_output=True, text=True, cwd=REPO)
    records = {r["id"]: r for r in json.loads(done.stdout)}
    assert set(records) == set(declared.datasets)
    guarded = records.pop(GUARDED)
    assert (guarded["release"], guarded["status"]) == (None, "quarantined")
    assert guarded["status_reason"].startswith("column 'comment' looks personal")
    for record in records.values():
        assert record["release"] == 1 and record["rows"] > 0
        assert record["status"] == ("quarantined" if record["id"] == QUARANTINED else "published")


def test_sql_sees_every_public_release(demo, declared):
    sandbox = Sandbox(demo.home)
    current = {t for t in sandbox.tables if "@" not in t}
    assert current == set(declared.datasets) - {GUARDED}
    assert {t for t in sandbox.tables if "@" in t} == {f"{t}@1" for t in current}
    counts = sandbox.query("SELECT count(*) AS n FROM world_population").table.to_pylist()
    assert counts[0]["n"] > 10_000


def _strings(value) -> list[str]:
    """Every string inside a JSON value, as text."""
    if isinstance(value, dict):
        return [s for v in value.values() for s in _strings(v)]
    if isinstance(value, list):
        return [s for v in value for s in _strings(v)]
    return [str(value)] if value is not None else []


def _personal_values(spec, tmp_path) -> set[str]:
    """Every value the source holds in columns that must never be published as they are."""
    columns = set(spec.privacy.drop) | set(spec.privacy.pseudonymise)
    values: set[str] = set()
    for delivery in spec.source.deliveries(spec.folder):
        pulled = pull(spec, delivery, tmp_path / spec.id / delivery.name)
        with pulled.path.open(encoding="utf-8", newline="") as handle:
            for row in csv.DictReader(handle, delimiter=pulled.delimiter):
                values.update(v for k, v in row.items() if k in columns and v and len(v) >= 4)
    return values


def test_no_personal_value_is_published_anywhere(demo, declared, tmp_path):
    protected = [s for s in declared.datasets.values() if s.privacy.drop or s.privacy.pseudonymise]
    assert len(protected) >= 3
    con = duckdb.connect()
    catalogue_bytes = (demo.home / "catalogue.duckdb").read_bytes()
    for spec in protected:
        personal = _personal_values(spec, tmp_path)
        assert personal, spec.id
        table = con.execute(f"SELECT * FROM read_parquet('{demo.home}/releases/{spec.id}/1/data.parquet')").to_arrow_table()
        published = {str(v) for column in table.columns for v in column.to_pylist() if v is not None}
        assert not personal & published, f"{spec.id} publishes personal values"
        for value in list(personal)[:200]:
            assert value.encode() not in catalogue_bytes, f"{spec.id}: {value!r} is in the catalogue"


def test_no_dropped_or_pseudonymised_value_reaches_downloads_sql_search_or_logs(demo, declared, tmp_path):
    """Everywhere a user can reach: the CSV and Parquet downloads, `govcat sql`, the search index and
    the catalogue's tables, and what publishing printed."""
    protected = [s for s in declared.datasets.values() if s.privacy.drop or s.privacy.pseudonymise]
    sandbox = Sandbox(demo.home)
    catalogue = duckdb.connect(str(demo.home / "catalogue.duckdb"), read_only=True)
    logs = demo.stdout + demo.stderr
    try:
        # Column profiles are checked per dataset below: a profile's histogram edges are calendar dates
        # (1979-12-31 ends a bin) that may equal someone's date of birth in another dataset by chance.
        profiled = {f"{schema}.{table}" for schema, table in catalogue.execute(
            "SELECT table_schema, table_name FROM information_schema.columns WHERE column_name = 'profile'").fetchall()}
        catalogue_text = "\n".join(
            str(row) for (table,) in catalogue.execute(
                "SELECT table_schema || '.' || table_name FROM information_schema.tables").fetchall()
            for row in catalogue.execute(f"SELECT * EXCLUDE (profile) FROM {table}" if table in profiled
                                         else f"SELECT * FROM {table}").fetchall())
        for spec in protected:
            personal = _personal_values(spec, tmp_path)
            profiles = catalogue.execute("SELECT profile FROM releases WHERE dataset_id = ?", [spec.id]).fetchall()
            shown = {text for (profile,) in profiles if profile for text in _strings(json.loads(profile))}
            assert personal.isdisjoint(shown), f"{spec.id}: a personal value is in its column profile"
            parquet = downloads.release_parquet(demo.home, f"releases/{spec.id}/1/data.parquet")
            csv_text = downloads.csv_bytes(parquet).decode("utf-8")
            sql_text = str(sandbox.query(f'SELECT * FROM "{spec.id}"', row_limit=10**7).table.to_pylist())
            for value in personal:
                for where, text in (("the CSV download", csv_text), ("govcat sql", sql_text),
                                    ("the catalogue or search index", catalogue_text), ("the publish log", logs)):
                    assert value not in text, f"{spec.id}: a personal value is in {where}"
    finally:
        sandbox.close()
        catalogue.close()
