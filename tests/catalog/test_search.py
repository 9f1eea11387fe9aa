"""Search: ranked full text over titles, descriptions, keywords and columns, with facets."""

import pytest

from catalog import catalogue_db, flow
from catalog.search import search
from catalog.spec import load_declarations
from tests.conftest import GOOD_ROWS, TEST_KEY, Declarations


@pytest.fixture(scope="module")
def con(tmp_path_factory):
    root = tmp_path_factory.mktemp("search")
    declarations, home = Declarations(root / "datasets"), root / "home"
    declarations.agency()
    declarations.agency("health", name="Department of Health")
    declarations.dataset()
    declarations.dataset(folder="beds", agency="health", id="hospital_beds", title="Hospital beds",
                         description="Beds available in each hospital, counted every night.",
                         keywords=["hospitals", "capacity"], theme="health")
    declarations.dataset(folder="clinics", agency="health", id="clinic_waits", title="Clinic waiting times",
                         description="How long patients wait for a first appointment at community clinics.",
                         theme="health")
    declarations.dataset(folder="hidden", id="staff_salaries", title="Staff salaries",
                         description="Hospital staff pay.", access="non-public")
    loaded = load_declarations(declarations.root)
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("GOVCAT_PSEUDONYM_KEY", TEST_KEY)
        flow.publish_delivery(loaded, loaded.datasets["hospital_beds"], home)
    connection = catalogue_db.open_reader(home / "catalogue.duckdb")
    yield connection
    connection.close()


def ids(result):
    return result.hits["id"].tolist()


def test_a_word_from_the_description_finds_the_dataset(con):
    assert ids(search(con, "appointment")) == ["clinic_waits"]


def test_stemming_and_ranking(con):
    result = search(con, "hospital")
    assert ids(result)[0] == "hospital_beds" and set(ids(result)) == {"hospital_beds"}


def test_column_descriptions_are_searched(con):
    assert set(ids(search(con, "district"))) == {"grants", "clinic_waits", "hospital_beds"}
    assert set(ids(search(con, "amount"))) == set(ids(search(con, "district")))


def test_a_prefix_still_finds_by_title(con):
    assert ids(search(con, "clin")) == ["clinic_waits"]


def test_non_public_datasets_are_never_found(con):
    assert "staff_salaries" not in ids(search(con, "salaries staff hospital")) + ids(search(con, ""))


def test_empty_query_lists_everything_public_by_title_with_facets(con):
    result = search(con)
    assert ids(result) == ["clinic_waits", "grants", "hospital_beds"]
    assert result.facets["agency"] == [("health", "Department of Health", 2), ("city", "City of Testville", 1)]
    assert result.facets["theme"] == [("health", "Health", 2), ("government", "Government and public sector", 1)]


def test_facet_filter_narrows_results_but_keeps_its_own_counts(con):
    result = search(con, "", agencies=["city"])
    assert ids(result) == ["grants"] and result.total == 1
    assert result.facets["agency"] == [("health", "Department of Health", 2), ("city", "City of Testville", 1)]
    assert result.facets["theme"] == [("government", "Government and public sector", 1)]


def test_hostile_text_is_just_text(con):
    for text in ["'; DROP TABLE datasets; --", "%_\\", "a" * 10_000, "\x00"]:
        assert search(con, text).total == 0
    assert search(con, "").total == 3


def test_paging(con):
    assert ids(search(con, "", limit=2, offset=2)) == ["hospital_beds"]
