"""The transparency pages (ranking, scorecards, methodology) through Streamlit's AppTest: on the published
demo, whose late, incomplete-metadata and quarantined agencies must show as such, and on a small home
built here with an overdue dataset and a restricted one."""

import datetime as dt
import json

import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest

from catalog import catalogue_db, metric_history, metrics
from catalog.spec import load_declarations
from tests.conftest import DEMO_DATASETS, REPO

APP = str(REPO / "dashboards" / "app.py")
TODAY = dt.datetime.now(dt.timezone.utc).date()


def open_page(page: str, **params) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=30)
    at.switch_page(page)
    for key, value in params.items():
        at.query_params[key] = value
    return at.run()


TABLES = {"ranking": ("Rank", "Agency", "Score"), "overdue": ("Days overdue", "Why"), "excluded": ("Left out of",),
          "datasets": ("Missing metadata",), "trend_table": ("agency_name", "numerator", "denominator"),
          "measures": ("JSON key", "Formula"), "weights": ("JSON key", "Weight")}


def frame(at: AppTest, name: str):
    """The one table of the page that has the columns of ``name``."""
    (found,) = [d.value for d in at.dataframe if set(TABLES[name]) <= set(d.value.columns)]
    return found


def shown(at: AppTest) -> str:
    """Every word the page shows: text elements, link labels and table cells."""
    parts = [e.value for kind in (at.title, at.header, at.subheader, at.markdown, at.caption, at.error, at.warning,
                                  at.info, at.success) for e in kind]
    parts += [link.proto.label for link in at.get("page_link")]
    parts += [d.value.to_string() for d in at.dataframe]
    return "\n".join(str(p) for p in parts)


def scorecard_links(at: AppTest) -> list[str]:
    return [link.proto.query_string for link in at.get("page_link") if link.proto.page == "scorecard"]


def measure_value(at: AppTest, group: str, label: str) -> str:
    """The value a scorecard shows for one measure, from the table under the group's heading."""
    assert group in [h.value for h in at.subheader]
    (value,) = [d.value.loc[d.value["Measure"] == label, "Value"].item() for d in at.dataframe
                if {"Measure", "Value"} <= set(d.value.columns) and (d.value["Measure"] == label).any()]
    return value


# --------------------------------------------------------------------------- on the demo


@pytest.fixture
def demo_home(demo, monkeypatch):
    monkeypatch.setenv("GOVCAT_HOME", str(demo.home))
    monkeypatch.setenv("GOVCAT_DATASETS", str(DEMO_DATASETS))
    st.cache_data.clear()
    st.cache_resource.clear()
    return demo


def outcomes(demo, agency: str) -> tuple[int, int]:
    """(published, quarantined) deliveries of one demo agency, as `govcat publish` reported them."""
    ids = {spec.id for spec in load_declarations(DEMO_DATASETS).datasets.values() if spec.agency == agency}
    lines = [line for line in demo.stdout.splitlines() if line.split(":")[0] in ids]
    return sum(": published release" in line for line in lines), sum(": quarantined" in line for line in lines)


def test_the_ranking_lists_every_agency_links_its_scorecard_and_publishes_its_weights(demo_home):
    at = open_page("views/transparency.py")
    assert not at.exception
    ranking = frame(at, "ranking")
    declared = load_declarations(DEMO_DATASETS).agencies
    assert sorted(ranking["Agency"]) == sorted(a.name for a in declared.values())
    assert list(ranking["Score"]) == sorted(ranking["Score"], reverse=True)
    assert sorted(scorecard_links(at)) == sorted(f"agency={slug}" for slug in declared)
    weights = next(c.value for c in at.caption if c.value.startswith("Score (0-100)"))
    assert all(f"{name.replace('_', ' ')} {weight}" in weights for name, weight in metrics.WEIGHTS.items())
    labels = [b.proto.label for b in at.get("download_button")]
    assert labels.count("Download CSV") >= 4 and labels.count("Download JSON") >= 4
    assert any(link.proto.page == "methodology" for link in at.get("page_link"))


def test_the_demo_ministry_missed_its_announced_release_date(demo_home):
    spending = load_declarations(DEMO_DATASETS).datasets["public_spending"]
    past = [d for d in spending.calendar if d < TODAY]
    assert past, "the demo announces a date in the past"
    ranking = frame(open_page("views/transparency.py"), "ranking")
    treasury = ranking[ranking["Agency"] == "Ministry of Finance"].iloc[0]
    assert treasury["Announced dates met"] == f"0/{len(past)} (0%)"
    card = open_page("views/scorecard.py", agency="treasury")
    assert not card.exception
    assert measure_value(card, "Timeliness", "Announced dates met") == f"0/{len(past)} (0%)"
    delay = float(measure_value(card, "Timeliness", "Median delay on announced dates (days)").split()[0])
    assert delay >= (TODAY - past[-1]).days - 1            # published by the demo run, long after the date
    datasets = frame(card, "datasets")
    row = datasets[datasets["id"] == "public_spending"].iloc[0]
    assert row["Announced dates met"] == f"0/{len(past)}"


def test_the_demo_environment_agency_has_incomplete_metadata(demo_home):
    ranking = frame(open_page("views/transparency.py"), "ranking")
    environment = ranking[ranking["Agency"] == "Environment Agency"].iloc[0]
    declared = [s for s in load_declarations(DEMO_DATASETS).datasets.values() if s.agency == "environment"]
    present = sum(7 - (not s.spatial) - (not s.temporal_start) - (not s.keywords) for s in declared)
    assert present < 7 * len(declared)
    assert environment["Recommended metadata"].startswith(f"{present}/{7 * len(declared)} (")
    card = open_page("views/scorecard.py", agency="environment")
    datasets = frame(card, "datasets")
    glacier = datasets[datasets["id"] == "glacier_mass_balance"].iloc[0]
    assert (glacier["Missing metadata"], glacier["Recommended metadata"]) == ("spatial, temporal", "5/7")


def test_the_demo_city_has_quarantined_deliveries_not_fixed_yet(demo_home):
    published, quarantined = outcomes(demo_home, "riverton")
    assert quarantined >= 1
    ranking = frame(open_page("views/transparency.py"), "ranking")
    riverton = ranking[ranking["Agency"] == "City of Riverton"].iloc[0]
    total = published + quarantined
    assert riverton["Deliveries passed"] == f"{published}/{total} ({published / total:.0%})"
    card = open_page("views/scorecard.py", agency="riverton")
    assert measure_value(card, "Quality", "Quarantined deliveries") == str(quarantined)
    assert measure_value(card, "Quality", "Quarantines not fixed yet") == str(quarantined)
    assert measure_value(card, "Quality", "Median time to fix (days)") == "—"
    left_out = frame(card, "excluded")
    assert list(left_out["Dataset"]) == ["Residents' comments on planning applications in Riverton, 2024"]
    assert list(left_out["Why"]) == ["no release yet"]


def test_the_trend_of_a_measure_has_a_table_alternative_and_follows_the_url(demo_home):
    at = open_page("views/transparency.py", measure="validation_pass_rate")
    assert not at.exception
    assert at.selectbox(key="trend").value == "validation_pass_rate"
    table = frame(at, "trend_table")
    assert set(table["agency_name"]) == {a.name for a in load_declarations(DEMO_DATASETS).agencies.values()}
    riverton = table[table["agency_name"] == "City of Riverton"].iloc[-1]
    published, quarantined = outcomes(demo_home, "riverton")
    assert (riverton["numerator"], riverton["denominator"]) == (published, published + quarantined)
    (said,) = [c.value for c in at.caption if c.value.startswith("In words:")]
    assert f"City of Riverton: {riverton['value']:.3g} at the latest snapshot" in said
    at.selectbox(key="trend").set_value("score").run()
    assert "measure" not in at.query_params


def test_the_methodology_prints_every_measure_and_the_weights_from_the_code(demo_home):
    at = open_page("views/methodology.py")
    assert not at.exception
    assert list(frame(at, "measures")["JSON key"]) == [m.name for m in metrics.METRICS]
    weights = frame(at, "weights")
    assert dict(zip(weights["JSON key"], weights["Weight"])) == metrics.WEIGHTS
    text = shown(at)
    assert f"{metrics.GRACE_DAYS} day" in text and f"{metrics.WINDOW_DAYS} days" in text
    assert all(f"(`{m.name}`): {m.formula}." in text for m in metrics.METRICS)     # every formula, in full


def test_an_unknown_agency_is_a_clear_message_with_the_way_back(demo_home):
    at = open_page("views/scorecard.py", agency="<script>nobody")
    assert not at.exception
    assert at.error[0].value.startswith("There is no agency")
    assert len(scorecard_links(at)) == len(load_declarations(DEMO_DATASETS).agencies)


# --------------------------------------------------------------------------- on a home built here


@pytest.fixture
def small_home(declarations, home, monkeypatch):
    """City's monthly grants last released 60 days ago (so 29 days overdue); the county's restricted case
    files; two daily snapshots."""
    declarations.agency()
    declarations.agency("county", name="County Council")
    declarations.dataset()
    declarations.dataset(folder="cases", agency="county", id="case_files", title="Case files of the county",
                         access="restricted", sharing={"agencies": ["city"], "legal_basis": "Agreement DSA-1"})
    loaded = load_declarations(declarations.root)
    last = dt.datetime.now(dt.timezone.utc) - dt.timedelta(days=60)

    def releases(con):
        for dataset_id in ("grants", "case_files"):
            con.execute("INSERT INTO releases (dataset_id, release, published_at, privacy) VALUES (?, 1, ?, ?)",
                        [dataset_id, last, json.dumps({"rules": [], "passed": True})])

    home.mkdir(parents=True)
    catalogue_db.build(home / "catalogue.duckdb", loaded, None, releases)
    for days in (2, 1):
        metric_history.take(home, loaded, trigger="daily", at=dt.datetime.now(dt.timezone.utc) - dt.timedelta(days=days))
    monkeypatch.setenv("GOVCAT_HOME", str(home))
    monkeypatch.setenv("GOVCAT_DATASETS", str(declarations.root))
    st.cache_data.clear()
    st.cache_resource.clear()
    return home


def test_an_overdue_dataset_is_listed_with_why_and_links_to_its_page(small_home):
    at = open_page("views/transparency.py")
    assert not at.exception
    overdue = frame(at, "overdue")
    assert list(overdue["id"]) == ["grants"] and list(overdue["Days overdue"]) == [29]
    due = (dt.datetime.now(dt.timezone.utc) - dt.timedelta(days=60)).date() + dt.timedelta(days=31)
    assert list(overdue["Why"]) == [f"monthly release due {due.isoformat()}"]
    assert any(link.proto.page == "dataset" and link.proto.query_string == "id=grants"
               for link in at.get("page_link"))
    assert frame(at, "ranking")["Overdue datasets"].tolist()[0] == 1


def test_a_restricted_dataset_is_counted_for_its_agency_but_never_named(small_home):
    for page, params in (("views/transparency.py", {}), ("views/scorecard.py", {"agency": "county"}),
                         ("views/scorecard.py", {"agency": "city"})):
        at = open_page(page, **params)
        assert not at.exception
        text = shown(at)
        assert "case_files" not in text and "Case files" not in text, page
    ranking = frame(open_page("views/transparency.py"), "ranking")
    county = ranking[ranking["Agency"] == "County Council"].iloc[0]
    assert (county["Public datasets"], county["Not public (not scored)"]) == (0, 1)
    left_out = frame(open_page("views/transparency.py"), "excluded")
    assert "1 not named" in left_out["Dataset"].tolist()


def test_measuring_as_of_a_past_day_comes_from_the_history(small_home):
    before = (TODAY - dt.timedelta(days=45)).isoformat()         # 15 days after the release: on time then
    at = open_page("views/transparency.py", at=before)
    assert not at.exception
    assert at.date_input(key="as_of").value == dt.date.fromisoformat(before)
    assert any(s.value == "No public dataset is overdue." for s in at.success)
    at.date_input(key="as_of").set_value(TODAY).run()
    assert "at" not in at.query_params and frame(at, "overdue")["id"].tolist() == ["grants"]
    odd = open_page("views/transparency.py", at="last tuesday")
    assert not odd.exception and "is not a date" in odd.warning[0].value


def test_the_scorecard_trend_is_the_agency_alone(small_home):
    at = open_page("views/scorecard.py", agency="city", measure="timeliness")
    assert not at.exception
    table = frame(at, "trend_table")
    assert set(table["agency_name"]) == {"City of Testville"} and len(table) == 2
    assert table["value"].tolist() == [0.0, 0.0] and table["denominator"].tolist() == [1, 1]
