"""Restricted datasets: shared only with the agencies the declaration names, never with the public."""

import pytest

from catalog import browse, catalogue_db, feeds, flow, search
from catalog.errors import CatalogError, QueryError, SpecError
from catalog.query import Sandbox
from catalog.spec import load_declarations
from tests.conftest import GOOD_ROWS

SHARING = {"agencies": ["county"], "legal_basis": "Data sharing agreement DSA-2026-04 under the Digital Economy Act 2017"}


@pytest.fixture
def published(declarations, home):
    declarations.agency()
    declarations.agency("county", name="County Council")
    declarations.agency("state", name="State Office")
    declarations.dataset(access="restricted", sharing=SHARING, title="Case files shared with the county")
    declarations.dataset(folder="permits", id="permits", title="Street permits")
    loaded = load_declarations(declarations.root)
    for spec in loaded.datasets.values():
        assert flow.publish_delivery(loaded, spec, home).status == "published"
    return home


def test_the_public_never_sees_a_restricted_dataset(published):
    con = catalogue_db.open_reader(published / "catalogue.duckdb")
    assert list(search.search(con, "").hits["id"]) == ["permits"]
    assert search.search(con, "case files shared county").hits.empty
    assert browse.dataset(con, "grants") is None
    assert list(browse.list_datasets(con, public_only=True)["id"]) == ["permits"]
    with pytest.raises(QueryError, match="published tables: permits"):
        Sandbox(published).query("SELECT * FROM grants")
    with pytest.raises(QueryError):
        Sandbox(published).query('SELECT * FROM "grants@1"')
    everything = feeds.feed_xml(published / "catalogue.duckdb").decode()
    assert "Street permits" in everything and "Case files" not in everything
    with pytest.raises(CatalogError, match="there is no public dataset 'grants'"):
        feeds.feed_xml(published / "catalogue.duckdb", scope="dataset", value="grants")


@pytest.mark.parametrize("agency,readable", [("county", True), ("city", True), ("state", False), (None, False)])
def test_only_the_owner_and_the_named_agencies_can_read_it(published, agency, readable):
    sandbox = Sandbox(published, agency=agency)
    assert ("grants" in sandbox.tables) is readable
    assert sandbox.restricted == (["grants"] if readable else [])
    if readable:
        assert sandbox.query("SELECT count(*) AS n FROM grants").table.to_pylist() == [{"n": 2}]


def test_a_restricted_declaration_needs_its_agreement(declarations):
    declarations.agency()
    declarations.dataset(access="restricted")
    with pytest.raises(SpecError, match="a restricted dataset needs sharing: with agencies"):
        load_declarations(declarations.root)
    declarations.dataset(access="restricted", sharing={"agencies": ["nowhere"], "legal_basis": "x"})
    with pytest.raises(SpecError, match="unknown agency 'nowhere'"):
        load_declarations(declarations.root)
    declarations.dataset(sharing=SHARING)
    with pytest.raises(SpecError, match="only a dataset with access: restricted is shared"):
        load_declarations(declarations.root)
