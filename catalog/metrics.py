"""Transparency measures for oversight bodies: per agency and per dataset, as of a time t.

Everything is computed from the catalogue's append-only history (releases, quarantines), the
declarations (what each dataset promises: update frequency, release calendar, metadata) and the
public's questions (``catalog.feedback``), counting only what happened at or before t, so a
measure taken at t can be taken again later and give the same numbers (as long as the
declarations and the messages' public status are unchanged; the snapshots in
``catalog.metric_history`` keep what was measured at the time).

Only public datasets are scored or named. A dataset that is not public is counted, per agency,
as excluded with the reason; a public dataset left out of one measure (an irregular dataset
has no due date) is listed with the measure and the reason. Nothing is left out silently.

Every share comes with its numerator and denominator: in a report each measure ``m`` is the
keys ``m`` (the value, None when the denominator is 0), ``m_numerator`` and ``m_denominator``.
``METRICS`` names and defines every measure; ``WEIGHTS`` are the published weights of the
combined score, repeated in every agency object as ``score_weights`` beside ``score`` (0-100),
``score_weight_applied`` (the weight of the measures that had a value) and ``rank``. The formulas
are the functions below; the methodology page prints them.
"""

from __future__ import annotations

import datetime as dt
import importlib.util
import json
import statistics
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable, Sequence

import duckdb

from catalog.errors import StoreError
from catalog.freshness import freshness
from catalog.settings import HomeLayout
from catalog.vocabulary import FREQUENCIES

WINDOW_DAYS = 365          # releases, quarantines and questions counted: those of the last year before t
GRACE_DAYS = 1             # a release one day after its due day is still on time (udata's harvest grace)
ANSWER_DAYS = 30           # a public question is answered in time within this many days
UNSCHEDULED = ("continuous", "irregular", "never")   # frequencies that promise no period to be late against
RECOMMENDED = ("contactPoint", "distribution", "keyword", "publisher", "spatial", "temporal", "theme")
MANDATORY = ("title", "description")

# The files govcat serves for every public release, by the ckanext-qa openness scores of their formats
# (CSV, JSON: 3 stars, an open standard; XLSX: 2, machine-readable but proprietary). Parquet and the
# Frictionless data package are open standards too. All are machine-readable.
PUBLISHED_FORMATS = {"csv": (True, True, 3), "json": (True, True, 3), "parquet": (True, True, 3),
                     "datapackage": (True, True, 3), "xlsx": (True, False, 2)}
# The format an agency delivers in: (machine-readable, non-proprietary).
SOURCE_FORMATS = {"csv": (True, True), "json": (True, True), "xml": (True, True), "xlsx": (True, False)}
NOT_PUBLIC = "not public (restricted or non-public): not scored, and never named"

# The combined score: each measure's share (0-1; five_star divided by 5) times its weight, over the
# measures that apply to the agency, scaled to 0-100.
WEIGHTS = {
    "timeliness": 15, "punctuality": 10, "metadata_recommended": 15, "open_licence": 10, "five_star": 5,
    "source_non_proprietary": 5, "validation_pass_rate": 15, "privacy_reviewed": 10, "redactions_explained": 5,
    "answered_in_time": 10,
}


@dataclass(frozen=True)
class Metric:
    name: str
    group: str
    label: str
    kind: str           # share (numerator / denominator), mean (numerator / denominator), count or days
    formula: str


METRICS: tuple[Metric, ...] = (
    Metric("timeliness", "Timeliness", "Datasets on time", "share",
           "datasets whose last release is within their update period (+1 day of grace) / public datasets with a "
           "release and a frequency that promises a period (continuous, irregular and no-further-updates excluded)"),
    Metric("overdue_datasets", "Timeliness", "Overdue datasets", "count",
           "public datasets overdue by their frequency, or with an announced release date that has passed with no "
           "release since"),
    Metric("median_lateness_days", "Timeliness", "Median lateness (days)", "days",
           "median over the datasets in the timeliness denominator of max(0, day of t - due day), "
           "due day = day of the last release + the frequency's period"),
    Metric("punctuality", "Timeliness", "Announced dates met", "share",
           "announced release dates met / announced dates before the day of t; a date is met when a release was "
           "published on or before it and after the previous announced date"),
    Metric("median_release_delay_days", "Timeliness", "Median delay on announced dates (days)", "days",
           "median over past announced dates of the days from the date to the first release after it "
           "(0 when met; the days until t when no release came yet)"),
    Metric("metadata_mandatory", "Metadata", "Mandatory metadata (DCAT-AP)", "share",
           "public datasets with a title and a description / public datasets"),
    Metric("metadata_recommended", "Metadata", "Recommended metadata (DCAT-AP)", "share",
           "recommended properties present (contactPoint, distribution, keyword, publisher, spatial, temporal, "
           "theme) summed over the public datasets / (7 x public datasets)"),
    Metric("open_licence", "Openness", "Open licence", "share",
           "public datasets under an open licence (Open Definition conformant) / public datasets"),
    Metric("machine_readable", "Openness", "Published machine-readable", "share",
           "public datasets with a release govcat serves in a machine-readable format / public datasets"),
    Metric("non_proprietary", "Openness", "Published non-proprietary", "share",
           "public datasets with a release govcat serves in a non-proprietary format (CSV, JSON, Parquet, "
           "data package) / public datasets"),
    Metric("source_machine_readable", "Openness", "Delivered machine-readable", "share",
           "public datasets the agency delivers in a machine-readable format (CSV, JSON, XML, XLSX) / "
           "public datasets"),
    Metric("source_non_proprietary", "Openness", "Delivered non-proprietary", "share",
           "public datasets the agency delivers in a non-proprietary format (CSV, JSON, XML; not XLSX) / "
           "public datasets"),
    Metric("five_star", "Openness", "Five-star level (mean)", "mean",
           "sum over public datasets of the best ckanext-qa star score of the files govcat serves (0 when the "
           "licence is not open or nothing is published; CSV and JSON 3) / public datasets"),
    Metric("validation_pass_rate", "Quality", "Deliveries that passed", "share",
           "releases published / (releases published + deliveries quarantined), in the window"),
    Metric("quarantines", "Quality", "Quarantined deliveries", "count",
           "deliveries quarantined in the window (failed download, validation or privacy checks)"),
    Metric("quarantines_unfixed", "Quality", "Quarantines not fixed yet", "count",
           "quarantines in the window with no release of the same dataset after them by t"),
    Metric("median_time_to_fix_days", "Quality", "Median time to fix (days)", "days",
           "median over the window's quarantines followed by a release of the days from the quarantine to the "
           "next release of the same dataset"),
    Metric("privacy_reviewed", "Privacy", "Releases with a privacy review", "share",
           "releases in the window whose privacy report is stored and passed / releases in the window"),
    Metric("redactions_explained", "Privacy", "Redactions explained", "share",
           "releases in the window that removed or changed data and whose report explains each rule in plain "
           "words / releases in the window that removed or changed data"),
    Metric("answered_in_time", "Responsiveness", f"Questions answered within {ANSWER_DAYS} days", "share",
           f"public questions, problem reports and dataset requests answered within {ANSWER_DAYS} days / those "
           f"answered within {ANSWER_DAYS} days or asked more than {ANSWER_DAYS} days before t, asked in the window"),
    Metric("median_days_to_first_answer", "Responsiveness", "Median days to first answer", "days",
           "median over the window's public messages answered by t of the days from the message to its first "
           "answer"),
    Metric("questions_waiting", "Responsiveness", f"Questions within their {ANSWER_DAYS} days", "count",
           f"public messages asked less than {ANSWER_DAYS} days before t and not answered yet (not counted above)"),
)
BY_NAME = {m.name: m for m in METRICS}
RATIOS = tuple(m.name for m in METRICS if m.kind in ("share", "mean"))


# --------------------------------------------------------------------------- the evidence


@dataclass(frozen=True)
class DatasetFacts:
    """What the declarations say about one dataset, as the measures need it."""

    id: str
    agency: str
    title: str
    description: str
    access: str = "public"
    licence_open: bool = True
    frequency: str = "irregular"
    keywords: tuple[str, ...] = ()
    theme: str | None = None
    contact_email: str | None = None
    spatial: str | None = None
    temporal_start: str | None = None
    source_format: str = "csv"
    calendar: tuple[dt.date, ...] = ()


@dataclass(frozen=True)
class Release:
    dataset_id: str
    published_at: dt.datetime
    privacy: dict | None = None      # the release's privacy report (catalog.privacy.PrivacyReport.to_json)


@dataclass(frozen=True)
class Quarantine:
    dataset_id: str
    attempted_at: dt.datetime
    stage: str = ""


@dataclass(frozen=True)
class Evidence:
    """Everything the measures are computed from. ``feedback`` holds ``catalog.feedback.FeedbackRecord``-like
    objects (id, dataset_id, agency, kind, asked_at, first_answer_at, public); None when not recorded."""

    agencies: dict[str, str]                     # slug -> name
    datasets: tuple[DatasetFacts, ...]
    releases: tuple[Release, ...] = ()
    quarantines: tuple[Quarantine, ...] = ()
    feedback: tuple | None = None


# --------------------------------------------------------------------------- one formula each


@dataclass(frozen=True)
class Timeliness:
    state: str                   # on_time, overdue or excluded
    reason: str = ""             # why excluded
    due: dt.date | None = None
    lateness_days: int = 0       # max(0, today - due)


def timeliness(frequency: str, last_release: dt.datetime | None, today: dt.date) -> Timeliness:
    """The udata rule on govcat's periods: due = day of last release + period(frequency); on time up to
    ``GRACE_DAYS`` after the due day."""
    if frequency in UNSCHEDULED or FREQUENCIES.get(frequency, ("", None))[1] is None:
        label = FREQUENCIES.get(frequency, (frequency,))[0].lower()
        return Timeliness("excluded", f"update frequency '{label}' promises no period to be late against")
    if last_release is None:
        return Timeliness("excluded", "no release yet")
    found = freshness(frequency, last_release, today, grace_days=GRACE_DAYS)
    lateness = max(0, (today - found.due).days)
    return Timeliness("overdue" if found.state == "overdue" else "on_time", due=found.due, lateness_days=lateness)


@dataclass(frozen=True)
class AnnouncedDate:
    date: dt.date
    state: str                       # met, late (a release came after it), missing (none yet), upcoming
    released: dt.date | None = None  # the day of the release that answered it
    delay_days: int | None = None    # 0 when met; None when upcoming


def announced_dates(calendar: Sequence[dt.date], release_days: Iterable[dt.date], today: dt.date) -> list[AnnouncedDate]:
    """Each announced date judged against the releases: met when a release came on or before it and after
    the previous announced date; late when the first release after it came later; missing when none has
    come by ``today``; upcoming when the date is today or later."""
    days = sorted(release_days)
    judged, previous = [], None
    for date in sorted(set(calendar)):
        if date >= today:
            judged.append(AnnouncedDate(date, "upcoming"))
        else:
            answering = [d for d in days if (previous is None or d > previous) and d <= date]
            after = [d for d in days if d > date]
            if answering:
                judged.append(AnnouncedDate(date, "met", answering[0], 0))
            elif after:
                judged.append(AnnouncedDate(date, "late", after[0], (after[0] - date).days))
            else:
                judged.append(AnnouncedDate(date, "missing", None, (today - date).days))
        previous = date
    return judged


def recommended_present(facts: DatasetFacts, published: bool) -> dict[str, bool]:
    """Which DCAT-AP recommended properties of a dataset are there (distribution: a release exists)."""
    return {"contactPoint": bool(facts.contact_email), "distribution": published, "keyword": bool(facts.keywords),
            "publisher": bool(facts.agency), "spatial": bool(facts.spatial), "temporal": bool(facts.temporal_start),
            "theme": bool(facts.theme)}


def five_stars(licence_open: bool, published: bool) -> int:
    """ckanext-qa: 0 when not obtainable or the licence is not open, else the best score of the formats served."""
    if not (licence_open and published):
        return 0
    return max(stars for _, _, stars in PUBLISHED_FORMATS.values())


def privacy_review(report: dict | None) -> tuple[bool, bool | None]:
    """(reviewed, explained) for one release: reviewed when its privacy report is stored and passed;
    explained (None when no rule removed or changed data) when every rule applied is told in plain words."""
    if not isinstance(report, dict):
        return False, None
    reviewed = report.get("passed") is True
    rules = report.get("rules") or []
    if not isinstance(rules, list) or not rules:
        return reviewed, None
    explained = all(isinstance(r, dict) and isinstance(r.get("plain"), str) and r["plain"].strip() for r in rules)
    return reviewed, explained


def median(values: Sequence[float]) -> float | None:
    return round(float(statistics.median(values)), 1) if values else None


def _days(delta: dt.timedelta) -> float:
    return delta.total_seconds() / 86400


def _utc(value: dt.datetime) -> dt.datetime:
    return value.replace(tzinfo=dt.timezone.utc) if value.tzinfo is None else value.astimezone(dt.timezone.utc)


# --------------------------------------------------------------------------- per dataset


def dataset_rows(evidence: Evidence, at: dt.datetime) -> list[dict]:
    """One row per public dataset with every per-dataset measure as of ``at``, by agency then id."""
    at = _utc(at)
    today, start = at.date(), at - dt.timedelta(days=WINDOW_DAYS)
    releases = _by_dataset(r for r in evidence.releases if _utc(r.published_at) <= at)
    quarantines = _by_dataset(q for q in evidence.quarantines if _utc(q.attempted_at) <= at)
    rows = []
    for facts in sorted(evidence.datasets, key=lambda d: (d.agency, d.id)):
        if facts.access != "public":
            continue
        published = sorted(releases.get(facts.id, []), key=lambda r: _utc(r.published_at))
        times = [_utc(r.published_at) for r in published]
        last = times[-1] if times else None
        timely = timeliness(facts.frequency, last, today)
        dates = announced_dates(facts.calendar, [t.date() for t in times], today)
        past = [d for d in dates if d.state != "upcoming"]
        missing = [d for d in dates if d.state == "missing"]
        overdue_for = []
        if timely.state == "overdue":
            overdue_for.append(f"{FREQUENCIES[facts.frequency][0].lower()} release due {timely.due.isoformat()}")
        overdue_for += [f"release announced for {d.date.isoformat()} not published" for d in missing]
        present = recommended_present(facts, bool(published))
        readable, open_format = SOURCE_FORMATS.get(facts.source_format, (False, False))
        recent = [r for r in published if _utc(r.published_at) > start]
        stopped = sorted((q for q in quarantines.get(facts.id, []) if _utc(q.attempted_at) > start),
                         key=lambda q: _utc(q.attempted_at))
        fixes = [_fix_days(q, times) for q in stopped]
        reviews = [privacy_review(r.privacy) for r in recent]
        upcoming = [d.date for d in dates if d.state == "upcoming"]
        rows.append({
            "dataset_id": facts.id, "title": facts.title, "agency": facts.agency,
            "agency_name": evidence.agencies.get(facts.agency, facts.agency), "frequency": facts.frequency,
            "releases": len(published), "last_release": last.isoformat() if last else None,
            "timeliness": timely.state, "timeliness_excluded_reason": timely.reason or None,
            "due": timely.due.isoformat() if timely.due else None, "lateness_days": timely.lateness_days,
            "announced_past": len(past), "announced_met": sum(d.state == "met" for d in past),
            "announced_delays": [d.delay_days for d in past],
            "next_announced": upcoming[0].isoformat() if upcoming else None,
            "overdue": bool(overdue_for), "overdue_reason": "; ".join(overdue_for) or None,
            "days_overdue": max([timely.lateness_days if timely.state == "overdue" else 0]
                                + [d.delay_days for d in missing]),
            "mandatory_present": all(bool(getattr(facts, p).strip()) for p in MANDATORY),
            "recommended_present": sum(present.values()),
            "recommended_missing": [p for p, there in present.items() if not there],
            "open_licence": facts.licence_open, "published": bool(published),
            "source_format": facts.source_format, "source_machine_readable": readable,
            "source_non_proprietary": open_format, "five_star": five_stars(facts.licence_open, bool(published)),
            "attempts": len(recent) + len(stopped), "passed": len(recent), "quarantines": len(stopped),
            "quarantine_stages": sorted({q.stage for q in stopped if q.stage}),
            "fix_days": [f for f in fixes if f is not None], "quarantines_unfixed": sum(f is None for f in fixes),
            "releases_in_window": len(recent), "privacy_reviewed": sum(r for r, _ in reviews),
            "redacting_releases": sum(e is not None for _, e in reviews),
            "redactions_explained": sum(e is True for _, e in reviews),
        })
    return rows


def _by_dataset(items) -> dict[str, list]:
    found: dict[str, list] = {}
    for item in items:
        found.setdefault(item.dataset_id, []).append(item)
    return found


def _fix_days(quarantine: Quarantine, release_times: list[dt.datetime]) -> float | None:
    later = [t for t in release_times if t > _utc(quarantine.attempted_at)]
    return round(_days(later[0] - _utc(quarantine.attempted_at)), 2) if later else None


# --------------------------------------------------------------------------- per agency


@dataclass
class Answers:
    """Public messages of the window: answered in time, counted, still within their days; days to answer."""

    in_time: int = 0
    counted: int = 0
    waiting: int = 0
    days: list[float] = field(default_factory=list)


def responsiveness(records: Iterable, at: dt.datetime) -> Answers:
    """Answers to public messages asked in the window before ``at``, by the 30-day rule."""
    at = _utc(at)
    start, found = at - dt.timedelta(days=WINDOW_DAYS), Answers()
    for record in records:
        asked = _utc(record.asked_at)
        if not (start < asked <= at):
            continue
        answer = _utc(record.first_answer_at) if record.first_answer_at is not None else None
        answered = answer is not None and answer <= at
        if answered:
            found.days.append(_days(answer - asked))
        in_time = answered and answer - asked <= dt.timedelta(days=ANSWER_DAYS)
        if in_time or asked + dt.timedelta(days=ANSWER_DAYS) <= at:
            found.counted += 1
            found.in_time += in_time
        else:
            found.waiting += 1
    return found


def _attributed_feedback(evidence: Evidence) -> tuple[dict[str, list], dict[tuple[str | None, str], int]]:
    """Public messages by agency, and how many were left out (by agency, or None, and reason)."""
    access = {d.id: d for d in evidence.datasets}
    by_agency: dict[str, list] = {}
    left_out: dict[tuple[str | None, str], int] = {}
    for record in evidence.feedback or ():
        facts = access.get(record.dataset_id) if record.dataset_id else None
        agency = facts.agency if facts else record.agency
        if record.dataset_id and (facts is None or facts.access != "public"):
            reason = "about a dataset that is not public"
        elif not record.public:
            reason = "held back from the public (it held personal data)"
        elif agency is None:
            reason = "a request naming no agency"
        elif agency not in evidence.agencies:
            reason = "addressed to an agency not in the catalogue"
        else:
            by_agency.setdefault(agency, []).append(record)
            continue
        key = (agency if agency in evidence.agencies else None, reason)
        left_out[key] = left_out.get(key, 0) + 1
    return by_agency, left_out


def agency_rows(evidence: Evidence, at: dt.datetime, datasets: list[dict] | None = None) -> list[dict]:
    """One object per agency with every measure (and its numerator and denominator), ranked by score."""
    at = _utc(at)
    datasets = dataset_rows(evidence, at) if datasets is None else datasets
    feedback, _ = _attributed_feedback(evidence)
    hidden: dict[str, int] = {}
    for facts in evidence.datasets:
        if facts.access != "public":
            hidden[facts.agency] = hidden.get(facts.agency, 0) + 1
    rows = []
    for slug, name in sorted(evidence.agencies.items()):
        mine = [d for d in datasets if d["agency"] == slug]
        row = {"agency": slug, "agency_name": name, "at": at.isoformat(), "datasets_public": len(mine),
               "excluded_not_public": hidden.get(slug, 0)}
        row.update(_agency_measures(mine, feedback.get(slug, []), at, evidence.feedback is not None))
        row.update(score(row))
        row["score_weights"] = dict(WEIGHTS)
        rows.append(row)
    return rank(rows)


def _agency_measures(mine: list[dict], questions: list, at: dt.datetime, recorded: bool) -> dict:
    n = len(mine)
    scheduled = [d for d in mine if d["timeliness"] != "excluded"]
    delays = [x for d in mine for x in d["announced_delays"]]
    measures = {
        "timeliness": (sum(d["timeliness"] == "on_time" for d in scheduled), len(scheduled)),
        "punctuality": (sum(d["announced_met"] for d in mine), sum(d["announced_past"] for d in mine)),
        "metadata_mandatory": (sum(d["mandatory_present"] for d in mine), n),
        "metadata_recommended": (sum(d["recommended_present"] for d in mine), len(RECOMMENDED) * n),
        "open_licence": (sum(d["open_licence"] for d in mine), n),
        "machine_readable": (sum(d["published"] for d in mine), n),
        "non_proprietary": (sum(d["published"] for d in mine), n),
        "source_machine_readable": (sum(d["source_machine_readable"] for d in mine), n),
        "source_non_proprietary": (sum(d["source_non_proprietary"] for d in mine), n),
        "five_star": (sum(d["five_star"] for d in mine), n),
        "validation_pass_rate": (sum(d["passed"] for d in mine), sum(d["attempts"] for d in mine)),
        "privacy_reviewed": (sum(d["privacy_reviewed"] for d in mine), sum(d["releases_in_window"] for d in mine)),
        "redactions_explained": (sum(d["redactions_explained"] for d in mine),
                                 sum(d["redacting_releases"] for d in mine)),
    }
    answers = responsiveness(questions, at)
    measures["answered_in_time"] = (answers.in_time, answers.counted)
    row: dict = {}
    for name, (numerator, denominator) in measures.items():
        value = numerator / denominator if denominator else None
        row[name] = None if value is None else round(value, 4 if BY_NAME[name].kind == "share" else 2)
        row[f"{name}_numerator"], row[f"{name}_denominator"] = numerator, denominator
    row.update({
        "overdue_datasets": sum(d["overdue"] for d in mine),
        "median_lateness_days": median([d["lateness_days"] for d in scheduled]),
        "median_release_delay_days": median(delays),
        "quarantines": sum(d["quarantines"] for d in mine),
        "quarantines_unfixed": sum(d["quarantines_unfixed"] for d in mine),
        "median_time_to_fix_days": median([x for d in mine for x in d["fix_days"]]),
        "median_days_to_first_answer": median(answers.days),
        "questions_waiting": answers.waiting,
        "feedback_recorded": recorded,
    })
    return row


def score(row: dict) -> dict:
    """The weighted score (0-100) over the measures that have a value, and the weight they carry."""
    total = applied = 0.0
    for name, weight in WEIGHTS.items():
        value = row.get(name)
        if value is None:
            continue
        total += weight * (value / 5 if name == "five_star" else value)
        applied += weight
    return {"score": round(100 * total / applied, 1) if applied else None, "score_weight_applied": int(applied)}


def rank(rows: list[dict]) -> list[dict]:
    """Rows by score, best first (1, 2, 2, 4 for ties); rows without a score last, unranked."""
    ordered = sorted(rows, key=lambda r: (r["score"] is None, -(r["score"] or 0), r["agency_name"], r["agency"]))
    for place, row in enumerate(ordered):
        if row["score"] is None:
            row["rank"] = None
        elif place and ordered[place - 1]["score"] == row["score"]:
            row["rank"] = ordered[place - 1]["rank"]
        else:
            row["rank"] = place + 1
    return ordered


# --------------------------------------------------------------------------- what was left out


def exclusions(evidence: Evidence, at: dt.datetime, datasets: list[dict] | None = None) -> list[dict]:
    """Every dataset or message left out of a measure, with the reason. Public datasets are named; those
    that are not public, and messages, are only counted."""
    datasets = dataset_rows(evidence, at) if datasets is None else datasets
    found = [{"agency": d["agency"], "dataset_id": d["dataset_id"], "title": d["title"], "measure": "timeliness",
              "reason": d["timeliness_excluded_reason"], "count": 1}
             for d in datasets if d["timeliness"] == "excluded"]
    hidden: dict[str, int] = {}
    for facts in evidence.datasets:
        if facts.access != "public":
            hidden[facts.agency] = hidden.get(facts.agency, 0) + 1
    found += [{"agency": agency, "dataset_id": None, "title": None, "measure": "every measure",
               "reason": NOT_PUBLIC, "count": count} for agency, count in sorted(hidden.items())]
    _, left_out = _attributed_feedback(evidence)
    found += [{"agency": agency, "dataset_id": None, "title": None, "measure": "answered_in_time",
               "reason": f"message {reason}", "count": count}
              for (agency, reason), count in sorted(left_out.items(), key=lambda item: (item[0][0] or "", item[0][1]))]
    if evidence.feedback is None:
        found.append({"agency": None, "dataset_id": None, "title": None, "measure": "answered_in_time",
                      "reason": "no record of public questions in this catalogue", "count": 0})
    return found


def overdue(datasets: list[dict]) -> list[dict]:
    """The overdue public datasets, most overdue first."""
    late = [d for d in datasets if d["overdue"]]
    return sorted(late, key=lambda d: (-d["days_overdue"], d["agency"], d["dataset_id"]))


# --------------------------------------------------------------------------- the whole report


def report(evidence: Evidence, at: dt.datetime) -> dict:
    """Everything the dashboard and ``govcat metrics`` show, as of ``at``."""
    at = _utc(at)
    datasets = dataset_rows(evidence, at)
    return {"at": at.isoformat(), "window_days": WINDOW_DAYS, "grace_days": GRACE_DAYS, "answer_days": ANSWER_DAYS,
            "weights": dict(WEIGHTS), "agencies": agency_rows(evidence, at, datasets), "datasets": datasets,
            "overdue": overdue(datasets), "excluded": exclusions(evidence, at, datasets)}


# --------------------------------------------------------------------------- reading a govcat home


def evidence(home: Path, declarations=None) -> Evidence:
    """The evidence in a published home: the catalogue's tables, the release calendars of
    ``declarations`` (a ``catalog.spec.Declarations``; none when None) and the public's messages."""
    layout = HomeLayout(Path(home))
    if not layout.catalogue.exists():
        raise StoreError("nothing is published yet: run `govcat publish` first")
    calendars = {i: s.calendar for i, s in declarations.datasets.items()} if declarations is not None else {}
    # Plain tables only: no full-text index is needed, so the FTS extension is not loaded (10x quicker).
    con = duckdb.connect(config={"threads": 1, "autoload_known_extensions": False,
                                 "autoinstall_known_extensions": False})
    try:
        con.execute(f"ATTACH {_literal(layout.catalogue)} AS cat (READ_ONLY)")
        con.execute("USE cat")
        agencies = dict(con.execute("SELECT slug, name FROM agencies ORDER BY slug").fetchall())
        datasets = tuple(
            DatasetFacts(id=r[0], agency=r[1], title=r[2] or "", description=r[3] or "", access=r[4],
                         licence_open=bool(r[5]), frequency=r[6], keywords=tuple(r[7] or ()), theme=r[8],
                         contact_email=r[9], spatial=r[10], temporal_start=r[11], source_format=r[12],
                         calendar=tuple(calendars.get(r[0], ())))
            for r in con.execute("""SELECT id, agency, title, description, access, licence_open, frequency, keywords,
                                           theme, contact_email, spatial, temporal_start, source_format
                                    FROM datasets ORDER BY id""").fetchall())
        releases = tuple(Release(r[0], r[1], _json(r[2]))
                         for r in con.execute("SELECT dataset_id, published_at, privacy FROM releases "
                                              "ORDER BY published_at").fetchall())
        quarantines = tuple(Quarantine(r[0], r[1], r[2] or "")
                            for r in con.execute("SELECT dataset_id, attempted_at, stage FROM quarantines "
                                                 "ORDER BY attempted_at").fetchall())
    finally:
        con.close()
    return Evidence(agencies, datasets, releases, quarantines, _feedback(layout.root))


def _literal(path: Path) -> str:
    return "'" + str(path).replace("'", "''") + "'"


def _json(text) -> dict | None:
    try:
        found = json.loads(text) if isinstance(text, str) else None
    except ValueError:
        return None
    return found if isinstance(found, dict) else None


def _feedback(home: Path) -> tuple | None:
    """The public's messages as ``catalog.feedback`` counts them; None when this govcat has no such record."""
    if importlib.util.find_spec("catalog.feedback") is None:
        return None
    from catalog import feedback

    return tuple(feedback.records(home))
