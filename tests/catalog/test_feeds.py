"""Atom feeds of new releases: valid Atom a real reader accepts, the right releases in each
scope, release notes intact, and never a dataset that is not public."""

from __future__ import annotations

import calendar
import shutil
from pathlib import Path

import duckdb
import feedparser
import pytest

from catalog import catalogue_db, feeds, flow
from catalog.cli import main
from catalog.errors import CatalogError, StoreError
from catalog.spec import load_declarations
from catalog.store import Store
from tests.conftest import GOOD_ROWS, Declarations

NOTE = 'Totals fixed: <b>bold</b> & "double" \'single\' — café, 東京, 𝔘 ]]> &amp;'
SECRET_TITLE = "Secret permits register"
SECRET_NOTE = "names of permit holders"
HIDDEN_TITLE = "Internal audit findings"
DROP_EMAIL = {"drop": ["email"]}
SHARED_WITH_HEALTH = {"agencies": ["health"], "legal_basis": "Public Health Act, section 12"}


def build_catalogue(root: Path) -> tuple[Declarations, Path]:
    """Two agencies; grants (2 releases) and clinics public, permits restricted, audits non-public."""
    declared = Declarations(root / "datasets")
    declared.agency()
    declared.agency("health", name="Health Board")
    declared.dataset(privacy=DROP_EMAIL)
    declared.dataset("clinics", agency="health", id="clinics", title="Clinic waiting times", theme="health",
                     privacy=DROP_EMAIL)
    declared.dataset("permits", id="permits", title=SECRET_TITLE, theme="transport", access="restricted",
                     sharing=SHARED_WITH_HEALTH, privacy=DROP_EMAIL)
    declared.dataset("audits", id="audits", title=HIDDEN_TITLE, theme="transport", access="non-public",
                     privacy=DROP_EMAIL)
    home = root / "home"
    loaded = load_declarations(declared.root)
    specs = loaded.datasets
    assert flow.publish_delivery(loaded, specs["grants"], home, note="First release").status == "published"
    assert flow.publish_delivery(loaded, specs["clinics"], home).status == "published"
    assert flow.publish_delivery(loaded, specs["permits"], home, note=SECRET_NOTE).status == "published"
    assert flow.publish_delivery(loaded, specs["audits"], home, note=SECRET_NOTE).status == "published"
    (specs["grants"].folder / "data" / "2024-01.csv").write_text(GOOD_ROWS + "3,East,cy@example.org,1\n")
    assert flow.publish_delivery(loaded, specs["grants"], home, note=NOTE).release == 2
    return declared, home


@pytest.fixture(scope="module")
def published(tmp_path_factory) -> Path:
    """A home to read only; tests that change it build their own."""
    return build_catalogue(tmp_path_factory.mktemp("feeds"))[1]


@pytest.fixture
def catalogue(published, tmp_path) -> Path:
    """A private copy of the published catalogue, free to alter."""
    copy = tmp_path / "catalogue.duckdb"
    shutil.copyfile(published / "catalogue.duckdb", copy)
    return copy


def parse(document: bytes):
    parsed = feedparser.parse(document)
    assert parsed.bozo == 0, parsed.get("bozo_exception")
    return parsed


def published_at(catalogue: Path) -> dict[str, int]:
    con = catalogue_db.open_reader(catalogue)
    try:
        rows = con.execute("SELECT dataset_id, release, epoch(published_at) FROM releases").fetchall()
    finally:
        con.close()
    return {f"{d}:{r}": int(seconds) for d, r, seconds in rows}


def set_diff(catalogue: Path, summaries: dict[tuple[str, int], str]) -> None:
    con = duckdb.connect(str(catalogue))
    try:
        con.execute("ALTER TABLE releases ADD COLUMN IF NOT EXISTS diff VARCHAR")
        con.execute("UPDATE releases SET diff = NULL")
        for (dataset_id, release), raw in summaries.items():
            con.execute("UPDATE releases SET diff = ? WHERE dataset_id = ? AND release = ?", [raw, dataset_id, release])
    finally:
        con.close()


def test_the_all_feed_lists_every_public_release_newest_first(published):
    catalogue = published / "catalogue.duckdb"
    parsed = parse(feeds.feed_xml(catalogue, base_url="https://data.example.gov/"))
    assert parsed.version == "atom10"
    assert parsed.feed.title == "New releases of open government data"
    assert [e.title for e in parsed.entries] == [
        "Community grants: release 2", "Clinic waiting times: release 1", "Community grants: release 1"]
    assert [e.link for e in parsed.entries] == [
        "https://data.example.gov/dataset?id=grants&release=2",
        "https://data.example.gov/dataset?id=clinics&release=1",
        "https://data.example.gov/dataset?id=grants&release=1"]
    assert [e.author for e in parsed.entries] == ["City of Testville", "Health Board", "City of Testville"]
    times = published_at(catalogue)
    assert [calendar.timegm(e.updated_parsed) for e in parsed.entries] == [
        times["grants:2"], times["clinics:1"], times["grants:1"]]
    assert calendar.timegm(parsed.feed.updated_parsed) == times["grants:2"]
    self_link = next(link for link in parsed.feed.links if link.rel == "self")
    assert self_link.href == "https://data.example.gov/feeds/all.atom"


def test_a_release_note_with_markup_quotes_and_non_ascii_comes_back_intact(published):
    parsed = parse(feeds.feed_xml(published / "catalogue.duckdb", scope="dataset", value="grants"))
    newest, oldest = parsed.entries
    assert newest.summary.splitlines()[0] == NOTE
    assert oldest.summary.splitlines()[0] == "First release"
    assert "3 rows." in newest.summary


def test_characters_xml_cannot_hold_are_dropped_not_fatal(tmp_path):
    declared, home = Declarations(tmp_path / "datasets"), tmp_path / "home"
    declared.agency()
    declared.dataset(privacy=DROP_EMAIL)
    loaded = load_declarations(declared.root)
    flow.publish_delivery(loaded, loaded.datasets["grants"], home, note="bell\x07 and nul\x00 inside")
    parsed = parse(feeds.feed_xml(home / "catalogue.duckdb"))
    assert parsed.entries[0].summary.splitlines()[0] == "bell and nul inside"


def test_a_restricted_dataset_is_in_no_feed(published, tmp_path):
    catalogue = published / "catalogue.duckdb"
    documents = [feeds.feed_xml(catalogue), feeds.feed_xml(catalogue, scope="agency", value="city"),
                 feeds.feed_xml(catalogue, scope="theme", value="transport")]
    written = feeds.write_feeds(catalogue, tmp_path / "feeds")
    documents += [path.read_bytes() for path in written]
    assert {"dataset-permits.atom", "dataset-audits.atom"}.isdisjoint(path.name for path in written)
    for document in documents:
        parse(document)
        for secret in (b"permits", b"audits", SECRET_TITLE.encode(), HIDDEN_TITLE.encode(), SECRET_NOTE.encode()):
            assert secret not in document
    assert parse(feeds.feed_xml(catalogue, scope="theme", value="transport")).entries == []


def test_a_restricted_dataset_is_refused_exactly_like_an_unknown_one(published):
    catalogue = published / "catalogue.duckdb"
    with pytest.raises(CatalogError) as restricted:
        feeds.feed_xml(catalogue, scope="dataset", value="permits")
    with pytest.raises(CatalogError) as unknown:
        feeds.feed_xml(catalogue, scope="dataset", value="nothing-here")
    assert str(restricted.value) == "there is no public dataset 'permits'"
    assert str(unknown.value) == "there is no public dataset 'nothing-here'"


@pytest.mark.parametrize("scope, value, title, entries", [
    ("agency", "health", "New releases from Health Board", ["Clinic waiting times: release 1"]),
    ("agency", "city", "New releases from City of Testville",
     ["Community grants: release 2", "Community grants: release 1"]),
    ("theme", "health", "New releases in Health", ["Clinic waiting times: release 1"]),
    ("dataset", "grants", "New releases of Community grants",
     ["Community grants: release 2", "Community grants: release 1"]),
])
def test_each_scope_holds_only_its_releases(published, scope, value, title, entries):
    parsed = parse(feeds.feed_xml(published / "catalogue.duckdb", scope=scope, value=value))
    assert parsed.feed.title == title
    assert [e.title for e in parsed.entries] == entries
    self_link = next(link for link in parsed.feed.links if link.rel == "self")
    assert self_link.href == f"http://localhost:8501/feeds/{scope}-{value}.atom"


@pytest.mark.parametrize("scope, value, message", [
    ("agency", "nowhere", "unknown agency 'nowhere': use one of city, health"),
    ("theme", "sport", "unknown theme 'sport': use one of agriculture, economy,"),
    ("region", "north", "unknown feed scope 'region': use one of all, agency, theme, dataset"),
    ("agency", None, "the 'agency' scope needs a value (the agency slug)"),
])
def test_unknown_scopes_and_values_are_refused_clearly(published, scope, value, message):
    with pytest.raises(CatalogError, match="^" + message.replace("(", r"\(").replace(")", r"\)")):
        feeds.feed_xml(published / "catalogue.duckdb", scope=scope, value=value)


def test_an_empty_feed_is_valid_and_dated_by_the_catalogue(published):
    catalogue = published / "catalogue.duckdb"
    parsed = parse(feeds.feed_xml(catalogue, scope="theme", value="energy"))
    assert parsed.entries == []
    con = catalogue_db.open_reader(catalogue)
    built = con.execute("SELECT epoch(built_at) FROM meta").fetchone()[0]
    con.close()
    assert calendar.timegm(parsed.feed.updated_parsed) == int(built)


def test_ids_are_stable_and_one_per_release_and_feed(published):
    catalogue = published / "catalogue.duckdb"
    first = parse(feeds.feed_xml(catalogue))
    again = parse(feeds.feed_xml(catalogue))
    assert [e.id for e in first.entries] == [e.id for e in again.entries]
    assert len({e.id for e in first.entries}) == 3
    assert all(e.id.startswith("tag:localhost,") for e in first.entries)
    agency = parse(feeds.feed_xml(catalogue, scope="agency", value="city"))
    assert agency.feed.id != first.feed.id == again.feed.id
    assert {e.id for e in agency.entries} <= {e.id for e in first.entries}


def test_the_diff_summary_is_shown_when_the_catalogue_records_one(catalogue):
    set_diff(catalogue, {("grants", 2): '{"summary": "1 row added, 0 removed, 0 changed"}',
                         ("clinics", 1): "not json at all"})
    parsed = parse(feeds.feed_xml(catalogue))
    grants_2, clinics_1, grants_1 = parsed.entries
    assert grants_2.summary.splitlines() == [NOTE, "Changes: 1 row added, 0 removed, 0 changed", "3 rows."]
    assert clinics_1.summary.splitlines() == ["No release note.", "2 rows."]
    assert grants_1.summary.splitlines() == ["First release", "2 rows."]


def test_a_catalogue_without_the_diff_column_still_makes_feeds(catalogue):
    con = duckdb.connect(str(catalogue))
    con.execute("ALTER TABLE releases DROP COLUMN IF EXISTS diff")
    con.close()
    parsed = parse(feeds.feed_xml(catalogue))
    assert not any("Changes:" in e.summary for e in parsed.entries)


def test_the_limit_keeps_the_newest_releases(published):
    parsed = parse(feeds.feed_xml(published / "catalogue.duckdb", limit=1))
    assert [e.title for e in parsed.entries] == ["Community grants: release 2"]
    with pytest.raises(CatalogError, match="at least 1"):
        feeds.feed_xml(published / "catalogue.duckdb", limit=0)


def test_no_catalogue_yet_gives_a_clear_error(tmp_path):
    with pytest.raises(StoreError, match="publish a dataset first"):
        feeds.feed_xml(tmp_path / "catalogue.duckdb")


def test_write_feeds_writes_each_scope_and_drops_a_dataset_that_stops_being_public(tmp_path):
    declared, home = build_catalogue(tmp_path)
    out = tmp_path / "feeds"
    written = feeds.write_feeds(home / "catalogue.duckdb", out)
    names = sorted(path.name for path in out.iterdir())
    assert names == sorted(path.name for path in written)
    assert {"all.atom", "agency-city.atom", "agency-health.atom", "theme-health.atom", "theme-energy.atom",
            "dataset-grants.atom", "dataset-clinics.atom"} <= set(names)
    assert all(name.endswith(".atom") and not name.startswith(".") for name in names)
    assert (out / "all.atom").read_bytes() == feeds.feed_xml(home / "catalogue.duckdb")

    declared.dataset(access="restricted", sharing=SHARED_WITH_HEALTH, privacy=DROP_EMAIL, files={})
    Store(home).refresh(load_declarations(declared.root))
    feeds.write_feeds(home / "catalogue.duckdb", out)
    assert not (out / "dataset-grants.atom").exists()
    everything = parse((out / "all.atom").read_bytes())
    assert [e.title for e in everything.entries] == ["Clinic waiting times: release 1"]
    assert b"grants" not in (out / "agency-city.atom").read_bytes()


def test_govcat_feed_prints_the_feed_and_refuses_unknown_values(published, capsysbinary):
    code = main(["feed", "--agency", "health", "--home", str(published), "--base-url", "https://data.example.gov"])
    out, _ = capsysbinary.readouterr()
    assert code == 0
    assert [e.link for e in parse(out).entries] == ["https://data.example.gov/dataset?id=clinics&release=1"]
    code = main(["feed", "--dataset", "permits", "--home", str(published)])
    out, err = capsysbinary.readouterr()
    assert (code, out) == (1, b"")
    assert err.decode() == "govcat: there is no public dataset 'permits'\n"


def test_govcat_feed_write_fills_the_homes_feeds_folder(catalogue, capsys):
    home = catalogue.parent
    assert main(["feed", "--write", "--home", str(home)]) == 0
    assert capsys.readouterr().out.startswith("wrote ")
    assert parse((home / "feeds" / "dataset-clinics.atom").read_bytes()).entries[0].title == \
        "Clinic waiting times: release 1"
