"""Search: ranked full text over titles, descriptions, keywords and columns, with facets."""

import datetime as dt

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
                         theme="health", licence="CC0-1.0", update_frequency="weekly",
                         source={"path": "data/*.json", "format": "json"},
                         files={"2024.json": '[{"id": 1, "district": "North", "email": "a@b.org", "amount": 2}]'})
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


def facet(result, name):
    return {value: count for value, _, count in result.facets[name]}


def test_licence_format_and_frequency_facets(con):
    result = search(con)
    assert facet(result, "licence") == {"CC-BY-4.0": 2, "CC0-1.0": 1}
    assert result.facets["format"] == [("csv", "CSV", 2), ("json", "JSON", 1)]
    assert [value for value, _, _ in result.facets["frequency"]] == ["weekly", "monthly"], "in the vocabulary's order"
    narrowed = search(con, filters={"format": ["json"]})
    assert ids(narrowed) == ["clinic_waits"] and facet(narrowed, "format") == {"csv": 2, "json": 1}
    assert facet(narrowed, "licence") == {"CC0-1.0": 1}
    assert search(con, filters={"licence": ["CC-BY-4.0"], "frequency": ["weekly"]}).total == 0
    assert search(con, filters={"format": [], "nonsense": ["x"]}).total == 3, "nothing ticked filters nothing"
    assert search(con, filters={"licence": ["no-such-licence"]}).total == 0


def test_last_updated_buckets_follow_the_clock(con):
    soon = dt.datetime.now(dt.timezone.utc)
    assert facet(search(con, now=soon), "updated") == {"week": 1, "never": 2}
    for days, bucket in [(20, "month"), (200, "year"), (400, "older")]:
        later = search(con, now=soon + dt.timedelta(days=days), filters={"updated": [bucket]})
        assert ids(later) == ["hospital_beds"] and later.hits["updated"].tolist() == [bucket]
    assert ids(search(con, filters={"updated": ["never"]})) == ["clinic_waits", "grants"]


def test_sorting(con):
    assert ids(search(con, sort="updated"))[0] == "hospital_beds", "the only published dataset comes first"
    assert ids(search(con, "district", sort="name")) == ["clinic_waits", "grants", "hospital_beds"]
    words = "hospital beds capacity clinics"
    assert ids(search(con, words)) == ["hospital_beds", "clinic_waits"], "three of the words beat one"
    assert ids(search(con, words, sort="name")) == ["clinic_waits", "hospital_beds"]
    with pytest.raises(ValueError, match="unknown sort"):
        search(con, sort="random")


def test_relevance_puts_the_dataset_that_says_it_most_first(con):
    assert ids(search(con, "beds hospital capacity")) == ["hospital_beds"]
    scores = search(con, "district").hits["score"]
    assert (scores > 0).all()


def test_did_you_mean_corrects_misspelt_words_from_public_datasets(con):
    result = search(con, "hosptal bedz")
    assert result.total == 0 and result.suggestion == "hospital beds"
    assert search(con, result.suggestion).total == 1
    assert search(con, "comunity grnts").suggestion == "community grants"


def test_no_suggestion_for_known_words_prefixes_or_what_would_find_nothing(con):
    for text in ["hospital", "hospitals", "clin", ""]:
        assert search(con, text).suggestion is None
    assert search(con, "hosptal", agencies=["city"]).suggestion is None, "the correction finds nothing in the city"


def test_words_of_non_public_datasets_are_never_suggested(con):
    assert search(con, "salries").suggestion is None
    assert search(con, "salaries").total == 0


def test_a_new_catalogue_is_searched_at_once(tmp_path, monkeypatch):
    declarations, home = Declarations(tmp_path / "datasets"), tmp_path / "home"
    monkeypatch.setenv("GOVCAT_PSEUDONYM_KEY", TEST_KEY)
    declarations.agency()
    declarations.dataset()
    loaded = load_declarations(declarations.root)
    flow.publish_delivery(loaded, loaded.datasets["grants"], home)
    first = catalogue_db.open_reader(home / "catalogue.duckdb")
    assert ids(search(first, "")) == ["grants"]
    declarations.dataset(folder="permits", id="permits", title="Street permits", description="Permits to dig.")
    loaded = load_declarations(declarations.root)
    flow.publish_delivery(loaded, loaded.datasets["permits"], home)
    second = catalogue_db.open_reader(home / "catalogue.duckdb")
    assert ids(search(second, "permits")) == ["permits"] and ids(search(first, "permits")) == []
    first.close()
    second.close()
