"""The transparency measures, each on a small catalogue built here, with the expected value worked out by hand."""

import datetime as dt
import json

import pytest

from catalog import metrics
from catalog.errors import SpecError
from catalog.feedback import FeedbackRecord
from catalog.metrics import DatasetFacts, Evidence, Quarantine, Release
from catalog.spec import load_declarations

UTC = dt.timezone.utc
AGENCIES = {"city": "City of Testville", "county": "County Council"}


def at(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text).replace(tzinfo=UTC)


def facts(dataset_id: str, agency: str = "city", **overrides) -> DatasetFacts:
    base = dict(id=dataset_id, agency=agency, title=f"Title of {dataset_id}", description="What it holds.",
                frequency="monthly", keywords=("word",), theme="government", contact_email="data@city.example.org",
                spatial="Testville", temporal_start="2024-01-01", source_format="csv")
    return DatasetFacts(**{**base, **overrides})


def city(report: dict) -> dict:
    return next(row for row in report["agencies"] if row["agency"] == "city")


def measured(evidence: Evidence, when: str) -> dict:
    return metrics.report(evidence, at(when))


# --------------------------------------------------------------------------- timeliness


def test_timeliness_follows_the_udata_rule_with_a_day_of_grace_and_lists_what_it_leaves_out():
    evidence = Evidence(AGENCIES, (
        facts("monthly_one", frequency="monthly"),          # last 2025-01-01: due 2025-02-01 (31 days)
        facts("weekly_one", frequency="weekly"),            # last 2025-01-20: due 2025-01-27 (7 days)
        facts("irregular_one", frequency="irregular"),
        facts("continuous_one", frequency="continuous"),
        facts("annual_unpublished", frequency="annual"),
    ), releases=(Release("monthly_one", at("2025-01-01T10:00")), Release("weekly_one", at("2025-01-20T08:00"))))

    # On 2 February: the monthly dataset is one day past its due day (grace: on time), the weekly one six.
    report = measured(evidence, "2025-02-02T12:00")
    row = city(report)
    assert (row["timeliness_numerator"], row["timeliness_denominator"], row["timeliness"]) == (1, 2, 0.5)
    assert row["median_lateness_days"] == 3.5                      # median of 1 and 6
    assert row["overdue_datasets"] == 1
    assert [(d["dataset_id"], d["days_overdue"]) for d in report["overdue"]] == [("weekly_one", 6)]
    assert report["overdue"][0]["overdue_reason"] == "weekly release due 2025-01-27"
    left_out = {e["dataset_id"]: e["reason"] for e in report["excluded"] if e["measure"] == "timeliness"}
    assert left_out == {
        "irregular_one": "update frequency 'irregular' promises no period to be late against",
        "continuous_one": "update frequency 'continuously updated' promises no period to be late against",
        "annual_unpublished": "no release yet"}

    # A day later the grace is over for the monthly one too: 0 of 2, lateness 2 and 7 days.
    row = city(measured(evidence, "2025-02-03T00:30"))
    assert (row["timeliness_numerator"], row["timeliness_denominator"]) == (0, 2)
    assert row["median_lateness_days"] == 4.5


def test_timeliness_counts_only_releases_made_by_the_time_measured():
    evidence = Evidence(AGENCIES, (facts("monthly_one"),),
                        releases=(Release("monthly_one", at("2025-01-01T10:00")),
                                  Release("monthly_one", at("2025-03-01T10:00"))))
    before = city(measured(evidence, "2025-02-20T00:00"))       # the March release has not happened yet
    assert (before["timeliness_numerator"], before["overdue_datasets"], before["median_lateness_days"]) == (0, 1, 19)
    after = city(measured(evidence, "2025-03-02T00:00"))
    assert (after["timeliness_numerator"], after["overdue_datasets"]) == (1, 0)


# --------------------------------------------------------------------------- release calendar


def test_each_announced_date_is_met_late_missing_or_upcoming():
    calendar = [dt.date(2025, 3, 31), dt.date(2025, 6, 30), dt.date(2025, 7, 31), dt.date(2025, 10, 31),
                dt.date(2025, 11, 15)]
    judged = metrics.announced_dates(calendar, [dt.date(2025, 3, 31), dt.date(2025, 7, 5)], dt.date(2025, 11, 15))
    assert [(d.date.isoformat(), d.state, d.delay_days) for d in judged] == [
        ("2025-03-31", "met", 0),          # released on the day itself
        ("2025-06-30", "late", 5),         # nothing in April-June; the next release came on 5 July
        ("2025-07-31", "met", 0),          # 5 July is after 30 June and on or before 31 July
        ("2025-10-31", "missing", 15),     # nothing since: 15 days so far
        ("2025-11-15", "upcoming", None),  # today: there is still time
    ]


def test_punctuality_and_an_announced_date_missed_since_the_last_release_makes_the_dataset_overdue():
    calendar = (dt.date(2025, 3, 31), dt.date(2025, 6, 30), dt.date(2025, 7, 31), dt.date(2025, 10, 31))
    evidence = Evidence(AGENCIES, (facts("spending", frequency="irregular", calendar=calendar),
                                   facts("no_calendar", frequency="irregular")),
                        releases=(Release("spending", at("2025-03-30T09:00")), Release("spending", at("2025-07-05T09:00")),
                                  Release("no_calendar", at("2025-01-01T09:00"))))
    report = measured(evidence, "2025-11-15T08:00")
    row = city(report)
    assert (row["punctuality_numerator"], row["punctuality_denominator"], row["punctuality"]) == (2, 4, 0.5)
    assert row["median_release_delay_days"] == 2.5                 # delays 0, 5, 0, 15
    assert row["timeliness_denominator"] == 0 and row["timeliness"] is None   # irregular: not measured
    (late,) = report["overdue"]
    assert (late["dataset_id"], late["days_overdue"]) == ("spending", 15)
    assert late["overdue_reason"] == "release announced for 2025-10-31 not published"


# --------------------------------------------------------------------------- metadata


def test_metadata_counts_the_dcat_ap_mandatory_and_recommended_properties():
    evidence = Evidence(AGENCIES, (
        facts("complete"),                                                   # 7 of 7 (it has a release)
        facts("sparse", keywords=(), spatial=None, temporal_start=None),     # no keyword, spatial, temporal
                                                                             # nor release: 3 of 7
        facts("undescribed", description="   "),                             # 7 of 7, but no description
    ), releases=(Release("complete", at("2025-01-01T00:00")), Release("undescribed", at("2025-01-01T00:00"))))
    report = measured(evidence, "2025-01-10T00:00")
    row = city(report)
    assert (row["metadata_mandatory_numerator"], row["metadata_mandatory_denominator"]) == (2, 3)
    assert (row["metadata_recommended_numerator"], row["metadata_recommended_denominator"]) == (17, 21)
    assert row["metadata_recommended"] == round(17 / 21, 4)
    sparse = next(d for d in report["datasets"] if d["dataset_id"] == "sparse")
    assert sparse["recommended_missing"] == ["distribution", "keyword", "spatial", "temporal"]


# --------------------------------------------------------------------------- openness


def test_openness_licence_formats_as_served_and_as_delivered_and_five_stars():
    evidence = Evidence(AGENCIES, (
        facts("open_csv", licence_open=True, source_format="csv"),
        facts("closed_xlsx", licence_open=False, source_format="xlsx"),
        facts("open_xml_unpublished", licence_open=True, source_format="xml"),
    ), releases=(Release("open_csv", at("2025-01-01T00:00")), Release("closed_xlsx", at("2025-01-01T00:00"))))
    row = city(measured(evidence, "2025-01-10T00:00"))
    counted = {name: (row[f"{name}_numerator"], row[f"{name}_denominator"]) for name in (
        "open_licence", "machine_readable", "non_proprietary", "source_machine_readable", "source_non_proprietary",
        "five_star")}
    assert counted == {
        "open_licence": (2, 3),
        "machine_readable": (2, 3),           # govcat serves CSV, JSON, Parquet for each published one
        "non_proprietary": (2, 3),
        "source_machine_readable": (3, 3),    # CSV, XLSX and XML are all machine-readable ...
        "source_non_proprietary": (2, 3),     # ... but XLSX is proprietary
        "five_star": (3, 3),                  # 3 stars (CSV), 0 (licence not open), 0 (nothing to download)
    }
    assert row["five_star"] == 1.0


# --------------------------------------------------------------------------- quality


def test_validation_pass_rate_quarantines_and_time_to_fix_in_the_window():
    evidence = Evidence(AGENCIES, (facts("a"), facts("b")), releases=(
        Release("a", at("2025-01-10T00:00")), Release("a", at("2025-03-01T10:00")),
        Release("a", at("2025-07-05T00:00")),                         # after t: neither counted nor a fix
        Release("b", at("2025-04-01T00:00")),
    ), quarantines=(
        Quarantine("a", at("2024-01-01T00:00"), "validation"),        # before the window (365 days before t)
        Quarantine("a", at("2025-02-20T10:00"), "validation"),        # fixed 9 days later
        Quarantine("a", at("2025-05-01T00:00"), "privacy"),           # not fixed by t
        Quarantine("b", at("2025-03-30T00:00"), "pull"),              # fixed 2 days later
    ))
    report = measured(evidence, "2025-06-30T12:00")
    row = city(report)
    assert (row["validation_pass_rate_numerator"], row["validation_pass_rate_denominator"]) == (3, 6)
    assert row["validation_pass_rate"] == 0.5
    assert (row["quarantines"], row["quarantines_unfixed"]) == (3, 1)
    assert row["median_time_to_fix_days"] == 5.5                      # median of 9 and 2
    a = next(d for d in report["datasets"] if d["dataset_id"] == "a")
    assert a["quarantine_stages"] == ["privacy", "validation"] and a["fix_days"] == [9.0]


# --------------------------------------------------------------------------- privacy


def test_privacy_review_and_redactions_explained_in_plain_words():
    drop = {"rule": "drop", "columns": ["name"], "plain": "removed 'name' entirely"}
    silent = {"rule": "pseudonymise", "columns": ["id"], "plain": ""}
    evidence = Evidence(AGENCIES, (facts("a"),), releases=(
        Release("a", at("2025-01-01T00:00"), {"rules": [drop], "passed": True}),     # reviewed, explained
        Release("a", at("2025-02-01T00:00"), {"rules": [], "passed": True}),         # reviewed, nothing removed
        Release("a", at("2025-03-01T00:00"), None),                                  # no report stored
        Release("a", at("2025-04-01T00:00"), {"rules": [drop, silent], "passed": True}),  # one rule unexplained
    ))
    row = city(measured(evidence, "2025-05-01T00:00"))
    assert (row["privacy_reviewed_numerator"], row["privacy_reviewed_denominator"]) == (3, 4)
    assert (row["redactions_explained_numerator"], row["redactions_explained_denominator"]) == (1, 2)
    assert metrics.privacy_review({"rules": [drop], "passed": False}) == (False, True)


# --------------------------------------------------------------------------- responsiveness


def question(number: int, asked: str, answered: str | None = None, dataset_id: str | None = "a",
             public: bool = True, kind: str = "question", agency: str | None = "city") -> FeedbackRecord:
    return FeedbackRecord(id=f"m{number}", dataset_id=dataset_id, agency=agency, kind=kind, asked_at=at(asked),
                          first_answer_at=at(answered) if answered else None, public=public)


def test_questions_answered_within_30_days_and_the_median_days_to_a_first_answer():
    records = (
        question(1, "2025-05-01T00:00", "2025-05-11T00:00"),        # 10 days: in time
        question(2, "2025-04-01T00:00", "2025-05-15T00:00"),        # 44 days: late
        question(3, "2025-05-01T00:00"),                            # 60 days, no answer: late
        question(4, "2025-06-20T00:00"),                            # 10 days, no answer: still has time
        question(5, "2025-06-25T00:00", "2025-06-27T00:00", dataset_id=None, kind="request"),   # 2 days
        question(6, "2025-05-01T00:00", public=False),              # held back: left out, counted
        question(7, "2025-06-10T00:00", "2025-07-05T00:00"),        # answered after t: still has time at t
        question(8, "2024-01-01T00:00", "2024-01-02T00:00"),        # before the window
        question(9, "2025-05-01T00:00", dataset_id="secret"),       # about a restricted dataset
        question(10, "2025-05-01T00:00", dataset_id=None, kind="request", agency=None),
    )
    evidence = Evidence(AGENCIES, (facts("a"), facts("secret", access="restricted")), feedback=records)
    report = measured(evidence, "2025-06-30T00:00")
    row = city(report)
    assert (row["answered_in_time_numerator"], row["answered_in_time_denominator"]) == (2, 4)
    assert row["answered_in_time"] == 0.5
    assert row["median_days_to_first_answer"] == 10                 # of 10, 44 and 2
    assert row["questions_waiting"] == 2
    left_out = {(e["agency"], e["reason"]): e["count"] for e in report["excluded"] if e["measure"] == "answered_in_time"}
    assert left_out == {("city", "message held back from the public (it held personal data)"): 1,
                        ("city", "message about a dataset that is not public"): 1,
                        (None, "message a request naming no agency"): 1}


def test_without_a_record_of_questions_responsiveness_has_no_value_and_says_so():
    report = measured(Evidence(AGENCIES, (facts("a"),), feedback=None), "2025-06-30T00:00")
    assert city(report)["answered_in_time"] is None and city(report)["feedback_recorded"] is False
    assert any(e["reason"] == "no record of public questions in this catalogue" for e in report["excluded"])


# --------------------------------------------------------------------------- public only


def test_datasets_that_are_not_public_are_counted_per_agency_but_never_named():
    evidence = Evidence(AGENCIES, (
        facts("open_one"), facts("case_files", access="restricted", title="Case files of named people"),
        facts("internal", access="non-public", title="Internal staff list"),
    ), releases=(Release("open_one", at("2025-01-01T00:00")), Release("case_files", at("2025-01-01T00:00"))),
        quarantines=(Quarantine("internal", at("2025-01-02T00:00")),))
    report = measured(evidence, "2025-01-10T00:00")
    row = city(report)
    assert (row["datasets_public"], row["excluded_not_public"]) == (1, 2)
    assert row["validation_pass_rate_denominator"] == 1            # the hidden quarantine is not counted
    assert [d["dataset_id"] for d in report["datasets"]] == ["open_one"]
    assert {"agency": "city", "dataset_id": None, "title": None, "measure": "every measure",
            "reason": metrics.NOT_PUBLIC, "count": 2} in report["excluded"]
    text = json.dumps(report)
    assert not any(word in text for word in ("case_files", "Case files", "internal", "Internal staff"))


# --------------------------------------------------------------------------- score and ranking


def test_the_score_weighs_the_measures_that_apply_with_the_published_weights():
    row = {"timeliness": 0.5, "open_licence": 1.0, "five_star": 2.5}     # everything else: no value
    # (15 x 0.5 + 10 x 1.0 + 5 x 2.5/5) / (15 + 10 + 5) = 20 / 30
    assert metrics.score(row) == {"score": 66.7, "score_weight_applied": 30}
    assert metrics.score({}) == {"score": None, "score_weight_applied": 0}
    assert sum(metrics.WEIGHTS.values()) == 100 and set(metrics.WEIGHTS) <= set(metrics.BY_NAME)


def test_ranking_shares_places_on_ties_and_leaves_unscored_agencies_last():
    rows = [{"agency": slug, "agency_name": slug.upper(), "score": score}
            for slug, score in (("d", 70.0), ("b", 80.0), ("e", None), ("a", 90.0), ("c", 80.0))]
    ranked = metrics.rank(rows)
    assert [(r["agency"], r["rank"]) for r in ranked] == [("a", 1), ("b", 2), ("c", 2), ("d", 4), ("e", None)]


def test_every_agency_is_listed_even_with_nothing_public():
    report = measured(Evidence(AGENCIES, (facts("a"),)), "2025-01-01T00:00")
    county = next(row for row in report["agencies"] if row["agency"] == "county")
    assert county["datasets_public"] == 0 and county["score"] is None and county["rank"] is None


# --------------------------------------------------------------------------- declaring a release calendar


def test_a_release_calendar_is_declared_under_publishing(declarations):
    declarations.agency()
    declarations.dataset(publishing={"calendar": ["2025-06-30", dt.date(2025, 3, 31)], "approval": True})
    spec = load_declarations(declarations.root).datasets["grants"]
    assert spec.calendar == (dt.date(2025, 3, 31), dt.date(2025, 6, 30)) and spec.approval


@pytest.mark.parametrize("calendar, message", [
    ("2025-03-31", "publishing.calendar: must be a list of announced release dates"),
    (["2025-03-31", "soon"], "publishing.calendar: 'soon' is not a date (write YYYY-MM-DD)"),
    (["2025-03-31", "2025-03-31"], "publishing.calendar: 2025-03-31 is listed more than once"),
    ([], "publishing.calendar: must be a list of announced release dates"),
])
def test_a_bad_release_calendar_is_refused_with_the_key_and_the_reason(declarations, calendar, message):
    declarations.agency()
    declarations.dataset(publishing={"calendar": calendar})
    with pytest.raises(SpecError) as raised:
        load_declarations(declarations.root)
    assert any(message in problem for problem in raised.value.problems), raised.value.problems
