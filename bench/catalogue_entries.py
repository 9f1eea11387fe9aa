"""A catalogue of N generated dataset entries, for timing search and the pages that list datasets.

The entries go through the same path as declared datasets: ``DatasetSpec`` records built in
memory (no files), turned into catalogue rows by ``catalog.catalogue_db.build``, which also
writes the full-text index. Most entries get a history of releases (published at dates spread
over the last three years, some very recent), some were never published, a few had their latest
delivery held back, and about one in twenty is restricted or not public (search must never show
those). Everything is drawn from a seeded generator: the same ``entries`` and ``seed`` give the
same catalogue.

    from bench.catalogue_entries import write_catalogue
    write_catalogue(Path("bench/.work/catalogue-10000.duckdb"), 10_000)

or ``.venv/bin/python bench/catalogue_entries.py OUT.duckdb --entries 10000``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import random
import sys
from pathlib import Path

import pyarrow as pa

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from catalog import catalogue_db  # noqa: E402
from catalog.spec import Agency, Contact, DatasetSpec, Declarations, PrivacySpec, Sharing, SourceSpec  # noqa: E402
from catalog.vocabulary import FREQUENCIES, LICENCES, THEMES  # noqa: E402

AGENCIES = [
    ("health", "Department of Health", "health"), ("education", "Department of Education", "education"),
    ("transport", "Department for Transport", "transport"), ("treasury", "Ministry of Finance", "economy"),
    ("environment", "Environment Agency", "environment"), ("statistics", "Statistics Office", "society"),
    ("justice", "Ministry of Justice", "justice"), ("energy", "Energy Regulator", "energy"),
    ("agriculture", "Department of Agriculture and Food", "agriculture"),
    ("riverton", "City of Riverton", "regions"), ("northshire", "Northshire County Council", "regions"),
    ("lakeside", "Lakeside District Council", "regions"), ("science", "Research Council", "science"),
    ("foreign", "Foreign Affairs Office", "international"), ("cabinet", "Cabinet Office", "government"),
]

# theme -> (subjects, the columns such a table usually has)
SUBJECTS: dict[str, tuple[list[str], list[tuple[str, str]]]] = {
    "health": (["hospital admissions", "emergency department attendances", "waiting times", "vaccination uptake",
                "hospital beds", "ambulance response times", "prescriptions dispensed", "cancer screening",
                "mental health referrals", "maternity services", "GP appointments", "care home inspections"],
               [("ward", "Hospital ward"), ("diagnosis_group", "Diagnosis group"), ("age_band", "Age band"),
                ("sex", "Sex"), ("admitted_on", "Date of admission"), ("length_of_stay", "Days in hospital"),
                ("trust", "NHS trust or health board"), ("patients", "Number of patients")]),
    "education": (["school enrolment", "exam results", "pupil absence", "teacher workforce", "school funding",
                   "special educational needs", "university applications", "apprenticeship starts",
                   "free school meals", "school inspections"],
                  [("school_name", "School"), ("school_type", "Type of school"), ("pupils", "Number of pupils"),
                   ("year_group", "Year group"), ("local_authority", "Local authority"),
                   ("attainment_score", "Average attainment score"), ("academic_year", "Academic year")]),
    "transport": (["road collisions", "traffic counts", "bus punctuality", "rail passenger journeys",
                   "parking fines", "cycle lane usage", "electric vehicle charging points", "airport passengers",
                   "road maintenance", "vehicle registrations"],
                  [("road_name", "Road"), ("vehicle_type", "Type of vehicle"), ("casualties", "Casualties"),
                   ("severity", "Severity of the collision"), ("occurred_at", "Date and time"),
                   ("junction", "Junction"), ("count", "Vehicles counted")]),
    "economy": (["public spending", "government bond yields", "tax receipts", "procurement contracts",
                 "payments to suppliers", "business rates", "consumer prices", "unemployment claims",
                 "grants to businesses", "budget outturn"],
                [("department", "Government department"), ("supplier", "Supplier name"), ("amount", "Amount in euros"),
                 ("paid_on", "Date paid"), ("expense_type", "Type of expense"), ("cost_centre", "Cost centre"),
                 ("financial_year", "Financial year")]),
    "environment": (["air quality", "river water quality", "carbon dioxide emissions", "recycling rates",
                     "flood warnings", "noise complaints", "tree planting", "rainfall", "glacier mass balance",
                     "waste collected"],
                    [("station", "Monitoring station"), ("pollutant", "Pollutant"), ("measured_at", "Time measured"),
                     ("concentration", "Concentration in micrograms per cubic metre"), ("site_type", "Type of site"),
                     ("tonnes", "Tonnes")]),
    "society": (["population estimates", "births and deaths", "household income", "migration flows",
                 "housing completions", "homelessness", "house prices", "census households",
                 "life expectancy", "marriages"],
                [("region", "Region"), ("year", "Year"), ("population", "Population"), ("age_band", "Age band"),
                 ("sex", "Sex"), ("median_income", "Median income"), ("households", "Households")]),
    "justice": (["recorded crime", "court cases", "prison population", "police stop and search",
                 "fire incidents", "youth offending", "probation caseload", "anti-social behaviour"],
                [("offence_type", "Type of offence"), ("police_force", "Police force"), ("outcome", "Outcome"),
                 ("recorded_on", "Date recorded"), ("court", "Court"), ("offences", "Number of offences")]),
    "energy": (["electricity generation", "gas consumption", "renewable capacity", "fuel poverty",
                "energy prices", "smart meter installations", "heat pump installations"],
               [("fuel", "Fuel"), ("generation_mwh", "Generation in megawatt hours"), ("plant", "Power plant"),
                ("tariff", "Tariff"), ("month", "Month"), ("households", "Households")]),
    "agriculture": (["crop yields", "livestock numbers", "farm incomes", "fishing landings", "forest cover",
                     "food prices", "organic farmland"],
                    [("crop", "Crop"), ("hectares", "Hectares"), ("yield_tonnes", "Yield in tonnes"),
                     ("species", "Species"), ("port", "Port of landing"), ("holding", "Farm holding")]),
    "regions": (["service requests", "business licences", "planning applications", "street lighting faults",
                 "library visits", "council tax bands", "public toilets", "allotment waiting lists",
                 "parks and open spaces", "building permits"],
                [("ward", "Electoral ward"), ("request_type", "Type of request"), ("opened_at", "Opened"),
                 ("closed_at", "Closed"), ("status", "Status"), ("address", "Street address"),
                 ("licence_type", "Type of licence")]),
    "science": (["research grants", "patent applications", "research publications", "laboratory capacity",
                 "space weather observations", "seismic events"],
                [("institution", "Institution"), ("field_of_study", "Field of study"), ("award", "Amount awarded"),
                 ("started_on", "Start date"), ("magnitude", "Magnitude"), ("instrument", "Instrument")]),
    "international": (["development aid", "trade flows", "visa applications", "embassy staffing",
                       "world population", "world gdp"],
                      [("country", "Country"), ("country_code", "ISO country code"), ("value", "Value"),
                       ("year", "Year"), ("commodity", "Commodity"), ("sector", "Sector")]),
    "government": (["freedom of information requests", "civil service headcount", "ministerial meetings",
                    "gifts and hospitality", "election results", "complaints received", "senior salaries"],
                   [("department", "Department"), ("grade", "Grade"), ("headcount", "Headcount"),
                    ("received_on", "Date received"), ("constituency", "Constituency"), ("votes", "Votes")]),
}
BREAKDOWNS = ["by region", "by month", "by local authority", "by age and sex", "by ward", "by provider",
              "by financial year", "by district", "by category", "by quarter", "", "", ""]
PLACES = ["Riverton", "Northshire", "Lakeside", "the Republic", "the capital region", "coastal districts", "",
          "", ""]
SENTENCES = [
    "Published {frequency} by {agency}.",
    "Figures are provisional for the most recent period and revised in the following release.",
    "Counts below five are suppressed to protect privacy.",
    "Collected from the operational systems of {agency} and checked before publication.",
    "Use it to compare {subject} between areas and over time.",
    "Earlier years use the boundaries in force at the time.",
    "The methodology changed in 2021; see the notes for the break in the series.",
    "Each row is one {unit}.",
]
UNITS = ["record", "area and month", "provider and quarter", "site and day", "case", "transaction"]
LICENCE_WEIGHTS = {"CC-BY-4.0": 30, "OGL-UK-3.0": 25, "CC0-1.0": 10, "ODC-PDDL-1.0": 10, "CC-BY-SA-4.0": 5,
                   "ODbL-1.0": 5, "ODC-BY-1.0": 3, "etalab-2.0": 3, "other-closed": 2}
FREQUENCY_WEIGHTS = {"daily": 5, "weekly": 8, "monthly": 30, "quarterly": 20, "biannual": 5, "annual": 20,
                     "irregular": 8, "never": 3, "continuous": 1}
FORMAT_WEIGHTS = {"csv": 70, "xlsx": 15, "json": 10, "xml": 5}


def generated_declarations(entries: int, seed: int = 7) -> Declarations:
    """``entries`` generated dataset declarations across 15 agencies, every theme, licence and format."""
    rng = random.Random(seed)
    agencies = {slug: Agency(slug=slug, name=name, homepage=f"https://{slug}.example.org",
                             contact=Contact("Open Data Team", f"opendata@{slug}.example.org"),
                             description=f"{name}: a fictional public body of the benchmark catalogue.",
                             path=Path("generated") / slug / "agency.yaml")
                for slug, name, _ in AGENCIES}
    datasets: dict[str, DatasetSpec] = {}
    for number in range(entries):
        spec = _dataset(rng, number, agencies)
        datasets[spec.id] = spec
    return Declarations(root=Path("generated"), agencies=agencies, datasets=datasets)


def _choice(rng: random.Random, weights: dict[str, int]) -> str:
    return rng.choices(list(weights), weights=list(weights.values()))[0]


def _dataset(rng: random.Random, number: int, agencies: dict[str, Agency]) -> DatasetSpec:
    slug, agency_name, home_theme = AGENCIES[rng.randrange(len(AGENCIES))]
    theme = home_theme if rng.random() < 0.75 else rng.choice(sorted(THEMES))
    subjects, columns = SUBJECTS[theme]
    subject = rng.choice(subjects)
    breakdown, place = rng.choice(BREAKDOWNS), rng.choice(PLACES)
    title = " ".join(p for p in (subject[:1].upper() + subject[1:], breakdown) if p)
    if place:
        title += f" in {place}"
    if rng.random() < 0.3:
        title += f", {rng.randint(2005, 2025)}"
    frequency = _choice(rng, FREQUENCY_WEIGHTS)
    facts = {"frequency": FREQUENCIES[frequency][0].lower(), "agency": agency_name, "subject": subject,
             "unit": rng.choice(UNITS)}
    description = f"{subject[:1].upper() + subject[1:]} recorded by {agency_name}" + (f" in {place}" if place else "")
    description += ". " + " ".join(s.format(**facts) for s in rng.sample(SENTENCES, rng.randint(2, 4)))
    picked = rng.sample(columns, min(len(columns), rng.randint(3, 6)))
    schema = {"fields": [{"name": "record_id", "type": "integer", "constraints": {"required": True}}]
              + [{"name": name, "type": "string", "title": label} for name, label in picked]}
    keywords = tuple(dict.fromkeys([*subject.split()[:2], theme, *(rng.sample(subject.split(), 1))]))
    access = "public" if rng.random() < 0.95 else rng.choice(["restricted", "non-public"])
    sharing = Sharing(agencies=(rng.choice(AGENCIES)[0],), legal_basis="Data sharing agreement") \
        if access == "restricted" else None
    return DatasetSpec(
        id=f"{slug}_{'_'.join(subject.lower().split())[:40]}_{number:05d}", agency=slug,
        folder=Path("generated") / slug / f"d{number:05d}", title=title, description=description,
        keywords=keywords, theme=theme, licence=LICENCES[_choice(rng, LICENCE_WEIGHTS)], frequency=frequency,
        contact=Contact("Data Team", f"data@{slug}.example.org"), temporal_start=f"{rng.randint(2000, 2020)}-01-01",
        temporal_end=None, spatial=place or "National", source=SourceSpec(path="data/*.csv",
                                                                          format=_choice(rng, FORMAT_WEIGHTS)),
        privacy=PrivacySpec(), access=access, schema=schema, sharing=sharing)


def generated_history(declarations: Declarations, seed: int = 7,
                      now: dt.datetime | None = None) -> tuple[pa.Table, pa.Table]:
    """Releases and held-back deliveries for the generated entries: (releases, quarantines)."""
    rng = random.Random(seed + 1)
    now = now or dt.datetime.now(dt.timezone.utc)
    releases, quarantines = [], []
    for spec in declarations.datasets.values():
        if rng.random() < 0.08:
            continue                                     # declared, never published
        age = rng.choice([rng.uniform(0, 7), rng.uniform(0, 40), rng.uniform(0, 400), rng.uniform(0, 1100)])
        last = now - dt.timedelta(days=age)
        count = rng.randint(1, 4)
        for release in range(1, count + 1):
            published = last - dt.timedelta(days=30 * (count - release))
            releases.append({"dataset_id": spec.id, "release": release, "published_at": published,
                             "delivery": f"{published:%Y-%m}.csv", "rows": rng.randint(10, 2_000_000),
                             "bytes": rng.randint(1_000, 50_000_000),
                             "columns": json.dumps(spec.published_names), "validation": "{}", "privacy": "{}",
                             "diff": json.dumps({"summary": "", "breaking": False}), "breaking": False})
        if rng.random() < 0.03:
            quarantines.append({"dataset_id": spec.id, "attempted_at": now - dt.timedelta(hours=rng.uniform(1, 48)),
                                "delivery": "late.csv", "stage": "validate",
                                "reason": "3 rows do not match the schema", "report": "{}"})
    return _table(releases, {"published_at": pa.timestamp("us", tz="UTC"), "release": pa.int32(),
                             "rows": pa.int64(), "bytes": pa.int64(), "breaking": pa.bool_()}), \
        _table(quarantines, {"attempted_at": pa.timestamp("us", tz="UTC")})


def _table(rows: list[dict], types: dict[str, pa.DataType]) -> pa.Table:
    names = list(rows[0]) if rows else list(types)
    schema = pa.schema([(n, types.get(n, pa.string())) for n in names])
    return pa.Table.from_pylist(rows, schema=schema)


def write_catalogue(path: Path, entries: int, seed: int = 7, now: dt.datetime | None = None) -> Path:
    """Write a catalogue of ``entries`` generated datasets to ``path`` (replacing it); return ``path``."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    declarations = generated_declarations(entries, seed)
    generated_releases, generated_quarantines = generated_history(declarations, seed, now)

    def history(con) -> None:
        con.register("generated_releases", generated_releases)
        con.execute("INSERT INTO releases BY NAME SELECT * FROM generated_releases")
        if generated_quarantines.num_rows:
            con.register("generated_quarantines", generated_quarantines)
            con.execute("INSERT INTO quarantines BY NAME SELECT * FROM generated_quarantines")

    temporary = path.with_name(path.name + ".tmp")
    temporary.unlink(missing_ok=True)
    catalogue_db.build(temporary, declarations, None, history)
    temporary.replace(path)
    return path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Write a catalogue of generated dataset entries.")
    parser.add_argument("out", type=Path, help="the catalogue file to write (.duckdb)")
    parser.add_argument("--entries", type=int, default=10_000)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args(argv)
    write_catalogue(args.out, args.entries, args.seed)
    print(f"wrote {args.entries:,} entries to {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
