"""Benchmark of the explorer's server-side work, beside Datasette serving the same rows.

The benchmark generates (deterministically, in DuckDB, from a fixed seed) a city's register of
payments to suppliers, 12 columns, and publishes it through govcat's own path
(``catalog.flow.publish_delivery``) into a govcat home. It loads the same rows into SQLite, with
the indexes a Datasette publisher would add, and serves that file with ``datasette serve`` on a
free loopback port. It also writes a catalogue of 10,000 generated dataset entries with
``bench/catalogue_entries.py``. Generated files are kept in a work folder (default
``bench/.work/explorer/``) and reused by later runs with the same parameters; the govcat home is
published again whenever govcat's code (``catalog/``) has changed.

It then times, each after one untimed warm-up call:

* search: ``catalog.search.search`` over the 10,000 entries, for a mix of typical queries;
* a group-by with two keys and a sum: through govcat (``catalog.calculate`` when it exists,
  else the one ``Sandbox``), DuckDB alone over the same Parquet, and Datasette's JSON SQL
  endpoint at its default 1 s time limit and at 20 s;
* the dataset page's server-side work: catalogue record, releases, profile, first page of rows
  with the total count;
* a filtered page of 100 rows with its total count: govcat (``catalog.table_view`` when it exists,
  else the Sandbox) and Datasette's table JSON.

govcat is timed as function calls in this process, Datasette as HTTP round trips (httpx, one
kept-alive connection). It prints one table of p50 and p95 times with the ratios, and whether the
floors are met.

    .venv/bin/python bench/explorer.py [--rows N] [--entries N] [--runs N] [--work DIR]
        [--skip-datasette] [--json-out PATH]
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import importlib
import json
import math
import os
import re
import shutil
import socket
import sqlite3
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import duckdb
import numpy as np
import yaml

BENCH_DIR = Path(__file__).resolve().parent
REPO = BENCH_DIR.parent
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from catalog import browse, catalogue_db, flow, search  # noqa: E402
from catalog.query import Sandbox  # noqa: E402
from catalog.settings import HomeLayout  # noqa: E402
from catalog.spec import load_declarations  # noqa: E402

DEFAULT_WORK = BENCH_DIR / ".work" / "explorer"
VENV_BIN = REPO / ".venv" / "bin"

GENERATOR_VERSION = 1          # bump when the generated data or its declaration changes
SEED = 20250715
DATASET_ID = "payments"
TABLE = "payments"
PAGE_ROWS = 100

SEARCH_P95_FLOOR = 0.050       # seconds
GROUP_BY_P50_FLOOR = 0.300
PAGE_P50_FLOOR = 1.0
FASTER_THAN_DATASETTE = 5.0    # Datasette p50 / govcat p50, on the group-by and the filtered pages
DATASETTE_DEFAULT_LIMIT_MS = 1_000
DATASETTE_LONG_LIMIT_MS = 20_000
SEARCH_PASSES_PER_RUN = 4      # each search query is timed runs x this many times

# (words, themes ticked): typical queries of one to three words, none, a misspelt one, one with a facet ticked
SEARCH_QUERIES = [
    ("", ()), ("hospital admissions", ()), ("air quality", ()), ("school", ()), ("road collisions riverton", ()),
    ("spending", ()), ("budget outturn", ()), ("crime", ()), ("waiting times by region", ()),
    ("electricity generation", ()), ("population", ()), ("hosptal admisions", ()), ("waiting times", ("health",)),
]
GROUP_BY = ("department", "expense_category", "amount")
FILTERS = [("department", "Housing", "indexed in SQLite"),
           ("payment_method", "Cheque", "no SQLite index")]
SQLITE_INDEXES = ["department", "expense_category", "supplier_name", "paid_on"]

# --------------------------------------------------------------------------------------
# The register of payments
# --------------------------------------------------------------------------------------

DEPARTMENTS = [
    ("Adult Social Care", 18), ("Children's Services", 16), ("Highways and Transport", 14), ("Housing", 12),
    ("Environmental Services", 8), ("Waste and Recycling", 8), ("Planning and Regeneration", 5),
    ("Libraries and Culture", 3), ("Parks and Open Spaces", 4), ("Public Health", 5), ("Finance", 4),
    ("Legal and Democratic Services", 3),
]
EXPENSE_CATEGORIES = [
    "Agency staff", "Building repairs and maintenance", "Residential care placements", "Home care",
    "Foster care allowances", "Highways maintenance", "Street lighting energy", "Waste collection contract",
    "Grounds maintenance", "IT software and licences", "IT hardware", "Consultancy", "Legal fees",
    "Printing and stationery", "Vehicle fuel", "Vehicle hire", "Catering", "Cleaning", "Security services",
    "Grants to voluntary organisations",
]
PAYMENT_METHODS = [("BACS", 85), ("Purchase card", 8), ("CHAPS", 4), ("Cheque", 3)]
PLACES = [
    "Northgate", "Riverside", "Abbey", "Castle", "Pennine", "Harbour", "Meadow", "Oakwood", "Crown", "Victoria",
    "Kingsway", "Summit", "Brightwater", "Greenfield", "Redbrick", "Ironbridge", "Millstone", "Westfield",
    "Eastbank", "Highfield", "Moorside", "Ashdown", "Beacon", "Calder", "Dales", "Elmtree", "Fairway", "Granite",
    "Hillcrest", "Lakeside", "Marsh Lane", "Newbridge", "Orchard", "Parkside", "Quayside", "Rosewood",
    "Stonegate", "Thornbury", "Union Street", "Wharfedale",
]
TRADES = [
    "Paving", "Building Services", "Care Homes", "Consulting", "Cleaning", "IT Solutions", "Catering",
    "Waste Management", "Grounds Maintenance", "Transport", "Print", "Electrical", "Plumbing & Heating",
    "Security", "Recruitment", "Scaffolding", "Fostering", "Training", "Energy", "Roofing", "Home Care",
    "Fleet Services", "Office Supplies", "Surveying", "Tree Surgery", "Lift Maintenance", "Signage",
    "Facilities Management", "Translation", "Pest Control",
]
SUFFIXES = ["Ltd", "Limited", "LLP", "plc", "& Co", "Group Ltd", "CIC", "Services Ltd"]
SUPPLIERS = 4_000

SCHEMA = {"fields": [
    {"name": "payment_id", "type": "integer", "title": "Payment number",
     "constraints": {"required": True, "unique": True}},
    {"name": "transaction_ref", "type": "string", "title": "Transaction reference",
     "constraints": {"required": True, "pattern": "PAY-[0-9]{4}-[0-9]{8}"}},
    {"name": "paid_on", "type": "date", "title": "Date paid", "constraints": {"required": True}},
    {"name": "financial_year", "type": "integer", "title": "Financial year (April to March) it was paid in"},
    {"name": "department", "type": "string", "title": "Department that made the payment",
     "constraints": {"required": True, "enum": [name for name, _ in DEPARTMENTS]}},
    {"name": "expense_category", "type": "string", "title": "What the payment was for",
     "constraints": {"required": True}},
    {"name": "supplier_id", "type": "string", "title": "Supplier number",
     "constraints": {"required": True, "pattern": "SUP-[0-9]{5}"}},
    {"name": "supplier_name", "type": "string", "title": "Supplier", "constraints": {"required": True}},
    {"name": "amount", "type": "number", "title": "Amount paid before VAT, in pounds",
     "constraints": {"required": True, "minimum": 0.01}},
    {"name": "vat_amount", "type": "number", "title": "VAT paid, in pounds", "constraints": {"minimum": 0}},
    {"name": "payment_method", "type": "string", "title": "How it was paid",
     "constraints": {"enum": [name for name, _ in PAYMENT_METHODS]}},
    {"name": "description", "type": "string", "title": "What the invoice says"},
], "primaryKey": ["payment_id"]}
COLUMNS = [f["name"] for f in SCHEMA["fields"]]


def _weighted_list(pairs: list[tuple[str, int]]) -> str:
    """A DuckDB list literal in which each value appears as many times as its weight."""
    return "[" + ", ".join(_literal(name) for name, weight in pairs for _ in range(weight)) + "]"


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _list(values: list[str]) -> str:
    return "[" + ", ".join(_literal(v) for v in values) + "]"


def generate_sql(rows: int, path: Path) -> str:
    """COPY the register to ``path`` as CSV: every value drawn from hashes of the row number."""
    departments, methods = _weighted_list(DEPARTMENTS), _weighted_list(PAYMENT_METHODS)
    department_count = sum(w for _, w in DEPARTMENTS)
    method_count = sum(w for _, w in PAYMENT_METHODS)
    return f"""
    COPY (
      WITH draws AS (
        SELECT i,
               (hash(i, {SEED}, 1) % 1000000 + 1) / 1000001.0 AS u1,
               (hash(i, {SEED}, 2) % 1000000) / 1000000.0 AS u2,
               (hash(i, {SEED}, 3) % 1000000) / 1000000.0 AS u3,
               DATE '2021-04-01' + CAST(hash(i, {SEED}, 4) % 1461 AS INTEGER) AS paid_on
        FROM range({rows}) t(i)
      ), picked AS (
        SELECT i, paid_on, u1, u2,
               CAST(floor({SUPPLIERS} * u3 * u3) AS INTEGER) AS supplier,
               {departments}[1 + CAST(hash(i, {SEED}, 5) % {department_count} AS INTEGER)] AS department,
               {_list(EXPENSE_CATEGORIES)}[1 + CAST(floor({len(EXPENSE_CATEGORIES)}
                   * pow((hash(i, {SEED}, 6) % 1000000) / 1000000.0, 1.6)) AS INTEGER)] AS expense_category,
               {methods}[1 + CAST(hash(i, {SEED}, 7) % {method_count} AS INTEGER)] AS payment_method,
               hash(i, {SEED}, 8) % 3 <> 0 AS vatable,
               CASE WHEN month(paid_on) >= 4 THEN year(paid_on) ELSE year(paid_on) - 1 END AS financial_year
        FROM draws
      ), valued AS (
        SELECT *, least(greatest(round(exp(6.4 + 1.7 * sqrt(-2 * ln(u1)) * cos(2 * pi() * u2)), 2), 0.01),
                        4999999.99) AS amount
        FROM picked
      )
      SELECT i + 1 AS payment_id,
             'PAY-' || financial_year || '-' || lpad(CAST(i + 1 AS VARCHAR), 8, '0') AS transaction_ref,
             paid_on, financial_year, department, expense_category,
             'SUP-' || lpad(CAST(supplier + 1 AS VARCHAR), 5, '0') AS supplier_id,
             {_list(PLACES)}[1 + supplier % {len(PLACES)}] || ' '
               || {_list(TRADES)}[1 + (supplier // {len(PLACES)}) % {len(TRADES)}] || ' '
               || {_list(SUFFIXES)}[1 + (supplier // {len(PLACES) * len(TRADES)}) % {len(SUFFIXES)}]
               AS supplier_name,
             amount,
             CASE WHEN vatable THEN round(amount * 0.2, 2) ELSE 0 END AS vat_amount,
             payment_method,
             'Invoice ' || (100000 + hash(i, {SEED}, 9) % 900000) || ': ' || lower(expense_category)
               || ' for ' || department || ', ' || strftime(paid_on, '%B %Y') AS description
      FROM valued ORDER BY i
    ) TO {_literal(str(path))} (FORMAT csv, HEADER)
    """


def declare(root: Path, csv_name: str) -> Path:
    """The agency and dataset declarations of the register; returns the dataset's data folder."""
    agency, dataset = root / "city", root / "city" / DATASET_ID
    (dataset / "data").mkdir(parents=True, exist_ok=True)
    contact = {"name": "Finance Data Team", "email": "data@city.example.org"}
    (agency / "agency.yaml").write_text(yaml.safe_dump({
        "slug": "city", "name": "City of Riverton Council", "homepage": "https://city.example.org",
        "contact": contact}))
    (dataset / "dataset.yaml").write_text(yaml.safe_dump({
        "id": DATASET_ID, "title": "Payments to suppliers",
        "description": "Every payment the council made to a supplier, April 2021 to March 2025.",
        "keywords": ["spending", "payments", "suppliers"], "theme": "economy", "licence": "OGL-UK-3.0",
        "update_frequency": "monthly", "contact": contact, "source": {"path": f"data/{csv_name}"}}))
    (dataset / "schema.yaml").write_text(yaml.safe_dump(SCHEMA, sort_keys=False))
    return dataset / "data"


# --------------------------------------------------------------------------------------
# The work folder: generated once, reused while the parameters match
# --------------------------------------------------------------------------------------

class Manifest:
    """manifest.json in the work folder: what each generated thing was made from."""

    def __init__(self, work: Path):
        self.path = work / "manifest.json"
        self.entries = json.loads(self.path.read_text()) if self.path.exists() else {}

    def matches(self, name: str, params: dict) -> bool:
        return self.entries.get(name) == params and (self.path.parent / name).exists()

    def record(self, name: str, params: dict) -> None:
        self.entries[name] = params
        temporary = self.path.with_suffix(".tmp")
        temporary.write_text(json.dumps(self.entries, indent=2) + "\n")
        temporary.replace(self.path)


def progress(message: str) -> None:
    print(f"  .. {message}", flush=True)


def code_fingerprint() -> str:
    """Changes whenever any of govcat's catalog/ sources changes: a published home is rebuilt then."""
    digest = hashlib.sha256()
    for path in sorted((REPO / "catalog").rglob("*.py")):
        digest.update(str(path.relative_to(REPO)).encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


@dataclass
class Prepared:
    what: str
    path: Path
    seconds: float
    reused: bool


def ensure_register(work: Path, manifest: Manifest, rows: int) -> Prepared:
    """The generated CSV, inside the declarations folder so the declaration can point at it."""
    name = f"declarations-{rows}"
    params = {"generator": GENERATOR_VERSION, "seed": SEED, "rows": rows}
    root = work / name
    csv_name = f"payments-{rows}.csv"
    if manifest.matches(name, params):
        return Prepared("register CSV", root / "city" / DATASET_ID / "data" / csv_name, 0.0, True)
    progress(f"generating {rows:,} payments ...")
    started = time.perf_counter()
    shutil.rmtree(root, ignore_errors=True)
    data = declare(root, csv_name)
    con = duckdb.connect()
    try:
        con.execute(generate_sql(rows, data / csv_name))
    finally:
        con.close()
    manifest.record(name, params)
    return Prepared("register CSV", data / csv_name, time.perf_counter() - started, False)


def ensure_home(work: Path, manifest: Manifest, register: Prepared, rows: int) -> Prepared:
    """A govcat home with the register published as release 1, through govcat's publishing path."""
    name = f"home-{rows}"
    params = {"generator": GENERATOR_VERSION, "seed": SEED, "rows": rows, "govcat_code": code_fingerprint()}
    home = work / name
    if manifest.matches(name, params):
        return Prepared("govcat home", home, 0.0, True)
    progress(f"publishing {rows:,} rows through govcat (pull, validate, protect, guard, publish) ...")
    started = time.perf_counter()
    shutil.rmtree(home, ignore_errors=True)
    declarations = load_declarations(register.path.parents[3])
    os.environ.setdefault("GOVCAT_PSEUDONYM_KEY", "benchmark-key-not-secret-0123456789")
    outcome = flow.publish_delivery(declarations, declarations.datasets[DATASET_ID], home, register.path.name)
    if outcome.status != "published":
        raise SystemExit(f"govcat did not publish the register: {outcome.describe()}")
    manifest.record(name, params)
    return Prepared("govcat home", home, time.perf_counter() - started, False)


def ensure_sqlite(work: Path, manifest: Manifest, register: Prepared, rows: int) -> Prepared:
    """The same rows in SQLite, typed, with the indexes a Datasette publisher would add."""
    name = f"sqlite-{rows}"
    params = {"generator": GENERATOR_VERSION, "seed": SEED, "rows": rows, "indexes": SQLITE_INDEXES}
    folder = work / name
    database = folder / f"{TABLE}.db"
    if manifest.matches(name, params):
        return Prepared("SQLite file", database, 0.0, True)
    progress(f"loading {rows:,} rows into SQLite ...")
    started = time.perf_counter()
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    types = {"integer": "INTEGER", "number": "REAL"}
    columns = ", ".join(f"[{f['name']}] {types.get(f['type'], 'TEXT')}"
                        + (" PRIMARY KEY" if f["name"] == "payment_id" else "") for f in SCHEMA["fields"])
    source = duckdb.connect()
    target = sqlite3.connect(database)
    try:
        target.execute(f"CREATE TABLE [{TABLE}] ({columns})")
        reader = source.execute(
            "SELECT * REPLACE (strftime(paid_on, '%Y-%m-%d') AS paid_on) FROM read_csv(?, header = true)",
            [str(register.path)]).to_arrow_reader(100_000)
        marks = ", ".join("?" for _ in COLUMNS)
        for batch in reader:
            target.executemany(f"INSERT INTO [{TABLE}] VALUES ({marks})", zip(*batch.to_pydict().values()))
        for column in SQLITE_INDEXES:
            target.execute(f"CREATE INDEX [idx_{TABLE}_{column}] ON [{TABLE}] ([{column}])")
        target.execute("ANALYZE")
        target.commit()
    finally:
        target.close()
        source.close()
    manifest.record(name, params)
    return Prepared("SQLite file", database, time.perf_counter() - started, False)


def build_catalogue(work: Path, entries: int) -> Prepared:
    """The catalogue of generated entries, written afresh each run (its dates are relative to now)."""
    from bench.catalogue_entries import write_catalogue
    progress(f"writing a catalogue of {entries:,} generated entries ...")
    started = time.perf_counter()
    path = write_catalogue(work / f"catalogue-{entries}.duckdb", entries)
    return Prepared("catalogue", Path(path), time.perf_counter() - started, False)


# --------------------------------------------------------------------------------------
# Timing
# --------------------------------------------------------------------------------------

@dataclass
class Samples:
    """The times of one measured operation, in seconds; ``failures`` counts refused or failed calls."""
    seconds: list[float] = field(default_factory=list)
    failures: int = 0
    failure: str | None = None
    via: str = ""

    @property
    def ok(self) -> bool:
        return bool(self.seconds) and not self.failures

    def p(self, q: float) -> float | None:
        return float(np.percentile(self.seconds, q)) if self.seconds else None


def timed(action: Callable[[], object], runs: int, warmups: int = 1) -> Samples:
    for _ in range(warmups):
        action()
    samples = Samples()
    for _ in range(runs):
        started = time.perf_counter()
        action()
        samples.seconds.append(time.perf_counter() - started)
    return samples


# --------------------------------------------------------------------------------------
# govcat's side
# --------------------------------------------------------------------------------------

def optional(module: str):
    """A govcat module that may not exist yet in this checkout (None then)."""
    try:
        return importlib.import_module(module)
    except ModuleNotFoundError as exc:
        if exc.name != module:
            raise
        return None


def group_by_sql() -> str:
    first, second, summed = GROUP_BY
    return (f"SELECT {first}, {second}, sum({summed}) AS total_{summed} FROM {TABLE} "
            f"GROUP BY {first}, {second} ORDER BY {first}, {second}")


class Govcat:
    """govcat's reads, with the connections the explorer keeps open per catalogue version."""

    def __init__(self, home: Path):
        self.home = home
        self.catalogue = catalogue_db.open_reader(HomeLayout(home).catalogue)
        self.sandbox = Sandbox(home)
        self.calculate = optional("catalog.calculate")
        self.table_view = optional("catalog.table_view")
        self.profile = optional("catalog.profile")
        self.notes: list[str] = []

    def close(self) -> None:
        self.sandbox.close()
        self.catalogue.close()

    # The group-by -----------------------------------------------------------------

    def group_by(self) -> tuple[str, Callable[[], object]]:
        """(what it runs through, the call); the call returns the groups as a list of dicts."""
        if self.calculate is not None:
            via, call = self._calculation()
            try:
                call()
                return via, call
            except Exception as exc:       # its API changed: say so, and measure the fallback
                self.notes.append(f"catalog.calculate.run failed ({type(exc).__name__}: {exc}); "
                                  "the group-by was measured through the Sandbox instead")
        return "Sandbox.query", lambda: self.sandbox.query(group_by_sql()).table.to_pylist()

    def _calculation(self) -> tuple[str, Callable[[], object]]:
        calc_module, view = self.calculate, optional("catalog.table_view")
        first, second, summed = GROUP_BY
        calculation = calc_module.Calculation(
            group_by=(calc_module.GroupBy(first), calc_module.GroupBy(second)),
            measures=(calc_module.Measure("sum", summed),))

        def run():
            table = view.table_name(DATASET_ID)
            result = calc_module.run(self.sandbox, table, calculation, view.release_columns(self.sandbox, table))
            frame = result.table.rename(columns={result.measures[0]: f"total_{summed}"})
            return frame.to_dict("records")
        return "calculate.run (with table_view.release_columns for the column kinds)", run

    # A page of rows with its total count ------------------------------------------

    def page(self, column: str | None = None, value: str | None = None) -> tuple[str, Callable[[], object]]:
        """(what it runs through, the call); the call returns (rows on the page, matching rows)."""
        if self.table_view is not None:
            via, call = self._table_view_page(column, value)
            try:
                call()
                return via, call
            except Exception as exc:       # its API changed: say so, and measure the fallback
                self.notes.append(f"catalog.table_view.read_page failed ({type(exc).__name__}: {exc}); "
                                  "the page was measured through the Sandbox instead")
                self.table_view = None
        where, params = (f" WHERE {column} = ?", [value]) if column else ("", [])
        order = " ORDER BY payment_id" if column else ""

        def run():
            rows = self.sandbox.query(f"SELECT * FROM {TABLE}{where}{order} LIMIT {PAGE_ROWS}", params,
                                      row_limit=PAGE_ROWS)
            count = self.sandbox.query(f"SELECT count(*) AS matching FROM {TABLE}{where}", params)
            return rows.table.num_rows, count.table.column(0)[0].as_py()
        return "Sandbox.query (page, then count)", run

    def _table_view_page(self, column: str | None, value: str | None) -> tuple[str, Callable[[], object]]:
        filters = optional("catalog.filters")
        chosen = [filters.Filter(column, "eq", (value,))] if column else []

        def run():
            page = self.table_view.read_page(self.sandbox, self.table_view.table_name(DATASET_ID), chosen,
                                             page_size=PAGE_ROWS, key="payment_id")
            return len(page.rows), page.total
        return f"table_view.read_page ({PAGE_ROWS} rows, key payment_id, with its count)", run

    # The dataset page ------------------------------------------------------------

    def dataset_page(self) -> tuple[str, Callable[[], object]]:
        via, first_page = self.page()
        parts = ["browse.dataset", "browse.fields", "browse.releases", "browse.quarantines"]
        column_profile = self._column_profile()
        if column_profile is None:
            self.notes.append("no column profile to read (catalog/profile.py or browse.release_profile is "
                              "missing): the dataset page was timed without one")
        else:
            parts.append("browse.release_profile + profile.withhold")

        def run():
            record = browse.dataset(self.catalogue, DATASET_ID)
            browse.fields(record)
            releases = browse.releases(self.catalogue, DATASET_ID)
            browse.quarantines(self.catalogue, DATASET_ID)
            if column_profile is not None:
                column_profile(int(releases["release"].iloc[0]), record)
            return first_page()
        return ", ".join(parts) + f", first page + count ({via})", run

    def _column_profile(self) -> Callable[[int, dict], object] | None:
        """Reading a release's stored profile as the page does (computing it when none was stored)."""
        if self.profile is None or not hasattr(browse, "release_profile"):
            return None

        def read(release: int, record: dict):
            found = browse.release_profile(self.catalogue, DATASET_ID, release)
            protected = self.profile.pseudonymised_columns(found["privacy"], record["privacy"])
            if found["profile"] is None:
                self.notes.append("the release has no stored profile: the page computed it")
                parquet = self.home / found["path"]
                return self.profile.profile_parquet(parquet, None, {"rules": [
                    {"rule": "pseudonymise", "columns": sorted(protected)}]})
            return self.profile.withhold(found["profile"], protected)
        return read

    def expected_count(self, column: str, value: str) -> int:
        return self.page(column, value)[1]()[1]


def open_cold(home: Path) -> None:
    """What the first request after a publish pays: the catalogue reader and the Sandbox opened."""
    con = catalogue_db.open_reader(HomeLayout(home).catalogue)
    sandbox = Sandbox(home)
    sandbox.close()
    con.close()


def query_label(words: str, themes: tuple[str, ...]) -> str:
    return repr(words) + (f" + theme {', '.join(themes)}" if themes else "")


def measure_search(catalogue: Path, runs: int) -> tuple[Samples, dict[str, dict]]:
    """Every query of the mix, runs x SEARCH_PASSES_PER_RUN times, interleaved, on one open connection."""
    con = catalogue_db.open_reader(catalogue)
    try:
        per_query: dict[tuple, list[float]] = {q: [] for q in SEARCH_QUERIES}
        found = {}
        for words, themes in SEARCH_QUERIES:                       # warm-up
            found[(words, themes)] = search.search(con, words, themes=themes)
        for _ in range(runs * SEARCH_PASSES_PER_RUN):
            for words, themes in SEARCH_QUERIES:
                started = time.perf_counter()
                search.search(con, words, themes=themes)
                per_query[(words, themes)].append(time.perf_counter() - started)
    finally:
        con.close()
    every = Samples([s for times in per_query.values() for s in times], via="catalog.search.search")
    details = {query_label(*q): {"total": found[q].total, "suggestion": getattr(found[q], "suggestion", None),
                                 "p50": float(np.percentile(t, 50)), "p95": float(np.percentile(t, 95))}
               for q, t in per_query.items()}
    return every, details


def first_search(catalogue: Path) -> None:
    """A search on a freshly opened catalogue: what the first visitor after a publish waits for."""
    con = catalogue_db.open_reader(catalogue)
    try:
        search.search(con, "hospital admissions")
    finally:
        con.close()


def duckdb_alone(parquet: Path) -> Callable[[], object]:
    con = duckdb.connect()
    sql = group_by_sql().replace(f"FROM {TABLE}", f"FROM read_parquet({_literal(str(parquet))})")
    return lambda: [dict(zip(("department", "expense_category", "total_amount"), row))
                    for row in con.execute(sql).fetchall()]


def same_groups(ours: list[dict], theirs: list[dict]) -> str | None:
    """None when both group-by results hold the same groups and sums (to the cent); else what differs."""
    first, second, summed = GROUP_BY[0], GROUP_BY[1], f"total_{GROUP_BY[2]}"
    mine = {(r[first], r[second]): r[summed] for r in ours}
    other = {(r[first], r[second]): r[summed] for r in theirs}
    if mine.keys() != other.keys():
        return f"{len(mine)} groups against {len(other)}"
    differing = [k for k in mine if not math.isclose(mine[k], other[k], rel_tol=1e-9, abs_tol=0.005)]
    return f"{len(differing)} of {len(mine)} sums differ" if differing else None


# --------------------------------------------------------------------------------------
# Datasette's side
# --------------------------------------------------------------------------------------

def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


START_TIMEOUT = 60.0  # seconds a server may take to answer its first request


@dataclass
class Server:
    """A server subprocess the benchmarks talk to over loopback HTTP."""
    name: str
    process: subprocess.Popen
    base_url: str

    def memory(self) -> dict[str, int]:
        """VmRSS and VmHWM (the peak since the last reset), in bytes, from /proc."""
        found = {}
        with contextlib.suppress(OSError):
            for line in Path(f"/proc/{self.process.pid}/status").read_text().splitlines():
                key, _, value = line.partition(":")
                if key in ("VmRSS", "VmHWM"):
                    found[key] = int(value.split()[0]) * 1024
        return found

    def reset_peak(self) -> bool:
        """Start VmHWM again from the current RSS (Linux: ``5`` into clear_refs); False if it cannot."""
        try:
            Path(f"/proc/{self.process.pid}/clear_refs").write_text("5")
            return True
        except OSError:
            return False


@contextlib.contextmanager
def served(name: str, command: list[str], ready_path: str, port: int, log: Path, env: dict | None = None):
    """``command`` listening on ``port`` on loopback until the block ends; yields a Server."""
    import httpx
    with open(log, "a") as out:
        out.write(f"\n--- {' '.join(command)}\n")
        out.flush()
        process = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT,
                                   env={**os.environ, **(env or {})})
    server = Server(name, process, f"http://127.0.0.1:{port}")
    try:
        deadline = time.monotonic() + START_TIMEOUT
        with httpx.Client(base_url=server.base_url, timeout=5) as client:
            while True:
                if process.poll() is not None:
                    raise RuntimeError(f"{name} exited with code {process.returncode}; see {log}")
                with contextlib.suppress(httpx.TransportError):
                    if client.get(ready_path).status_code == 200:
                        break
                if time.monotonic() > deadline:
                    raise RuntimeError(f"{name} did not answer within {START_TIMEOUT:g} s; see {log}")
                time.sleep(0.2)
        yield server
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@contextlib.contextmanager
def datasette(database: Path, limit_ms: int, log: Path):
    """``datasette serve`` on a free loopback port, stopped on the way out; yields an httpx client."""
    import httpx
    port = free_port()
    command = [str(VENV_BIN / "datasette"), "serve", "-i", str(database), "--host", "127.0.0.1",
               "--port", str(port), "--setting", "sql_time_limit_ms", str(limit_ms)]
    with served("datasette", command, "/-/versions.json", port, log) as server, \
            httpx.Client(base_url=server.base_url, timeout=120) as client:
        yield client


def datasette_sql(client, sql: str) -> Callable[[], object]:
    database = TABLE

    def run():
        response = client.get(f"/{database}.json", params={"sql": sql, "_shape": "array"})
        body = response.json()
        if response.status_code != 200 or not isinstance(body, list):
            raise Refused(error_text(body, response.status_code))
        return body
    return run


def datasette_page(client, column: str, value: str, suggest: bool = False) -> Callable[[], object]:
    params = {column: value, "_size": str(PAGE_ROWS)}
    if not suggest:
        params["_nosuggest"] = "1"

    def run():
        response = client.get(f"/{TABLE}/{TABLE}.json", params=params)
        body = response.json()
        if response.status_code != 200:
            raise Refused(error_text(body, response.status_code))
        if body.get("filtered_table_rows_count") is None:
            raise Refused("no count (the count query hit the time limit)")
        return len(body["rows"]), body["filtered_table_rows_count"]
    return run


def error_text(body, status: int) -> str:
    """Datasette's error message as one plain sentence (it sends HTML in its JSON errors)."""
    text = body.get("error") or body.get("title") or "" if isinstance(body, dict) else ""
    text = " ".join(re.sub(r"<textarea.*|<[^>]+>", " ", str(text), flags=re.DOTALL).split())
    return f"HTTP {status}: {text}" if text else f"HTTP {status}"


class Refused(Exception):
    """Datasette answered with an error (a query over its time limit, for one)."""


def timed_allowing_refusal(action: Callable[[], object], runs: int) -> Samples:
    """Like ``timed``, but a refused call is timed too and counted as a failure."""
    samples = Samples()
    for index in range(runs + 1):
        started = time.perf_counter()
        try:
            action()
        except Refused as refused:
            samples.failures += index > 0
            samples.failure = str(refused)
        if index > 0:
            samples.seconds.append(time.perf_counter() - started)
    return samples


# --------------------------------------------------------------------------------------
# Reporting
# --------------------------------------------------------------------------------------

@dataclass
class Row:
    operation: str
    govcat: Samples | None
    peer: str = ""
    peer_samples: Samples | None = None


def fmt_ms(value: float | None) -> str:
    return f"{value * 1000:,.1f}" if value is not None else "-"


def fmt_ratio(value: float | None) -> str:
    return "-" if value is None else (f"{value:.1f}x" if value >= 1 else f"{value:.2f}x")


def ratio(row: Row) -> float | None:
    """Peer p50 / govcat p50: how many times faster govcat is (below 1: slower)."""
    if row.govcat is None or row.peer_samples is None or not row.govcat.ok or not row.peer_samples.ok:
        return None
    return row.peer_samples.p(50) / row.govcat.p(50)


def peer_cells(samples: Samples | None) -> list[str]:
    if samples is None:
        return ["", ""]
    if samples.failures == len(samples.seconds) and samples.seconds:
        return [f"refused after {fmt_ms(samples.p(50))}", f"refused after {fmt_ms(samples.p(95))}"]
    if samples.failures:
        return [f"{fmt_ms(samples.p(50))} ({samples.failures} refused)", fmt_ms(samples.p(95))]
    if not samples.seconds:
        return ["failed", "failed"]
    return [fmt_ms(samples.p(50)), fmt_ms(samples.p(95))]


def markdown_table(header: list[str], rows: list[list[str]], left: set[int] = frozenset({0})) -> str:
    """A markdown table; the columns in ``left`` are text, the others numbers, aligned right."""
    widths = [max(len(str(row[i])) for row in [header, *rows]) for i in range(len(header))]

    def line(cells: list[str]) -> str:
        return "| " + " | ".join(str(c).ljust(w) if i in left else str(c).rjust(w)
                                 for i, (c, w) in enumerate(zip(cells, widths))) + " |"

    rule = "|" + "|".join("-" * (w + 2) if i in left else "-" * (w + 1) + ":" for i, w in enumerate(widths)) + "|"
    return "\n".join([line(header), rule, *(line(row) for row in rows)])


def print_table(rows: list[Row]) -> None:
    lines = []
    for row in rows:
        govcat, r = row.govcat, ratio(row)
        lines.append([row.operation,
                      fmt_ms(govcat.p(50)) if govcat and govcat.seconds else ("-" if govcat is None else "failed"),
                      fmt_ms(govcat.p(95)) if govcat and govcat.seconds else "-",
                      row.peer, *peer_cells(row.peer_samples),
                      fmt_ratio(r)])
    print(markdown_table(["operation", "govcat p50 ms", "govcat p95 ms", "peer", "peer p50 ms", "peer p95 ms",
                          "peer/govcat p50"], lines, left={0, 3}))


def floor_checks(search_samples: Samples, group_by: Row, page: Row, versus_datasette: list[Row]) -> list[dict]:
    checks = []

    def check(name: str, value: float | None, met: bool | None, unit: str = "ms") -> None:
        shown = "-" if value is None else (f"{value * 1000:,.1f} ms" if unit == "ms" else fmt_ratio(value))
        checks.append({"floor": name, "value": shown, "met": met})

    p95 = search_samples.p(95) if search_samples.ok else None
    check(f"search p95 < {SEARCH_P95_FLOOR * 1000:g} ms", p95, None if p95 is None else p95 < SEARCH_P95_FLOOR)
    p50 = group_by.govcat.p(50) if group_by.govcat and group_by.govcat.ok else None
    check(f"group-by p50 < {GROUP_BY_P50_FLOOR * 1000:g} ms", p50,
          None if p50 is None else p50 < GROUP_BY_P50_FLOOR)
    p50 = page.govcat.p(50) if page.govcat and page.govcat.ok else None
    check(f"dataset page p50 < {PAGE_P50_FLOOR:g} s", p50, None if p50 is None else p50 < PAGE_P50_FLOOR)
    for row in versus_datasette:
        r = ratio(row)
        check(f">= {FASTER_THAN_DATASETTE:g}x faster than Datasette: {row.operation}", r,
              None if r is None else r >= FASTER_THAN_DATASETTE, unit="x")
    return checks


def print_floors(checks: list[dict]) -> None:
    for check in checks:
        verdict = {True: "MET", False: "NOT MET", None: "not checked"}[check["met"]]
        print(f"  [{verdict:^11}] {check['floor']}: {check['value']}")


# --------------------------------------------------------------------------------------
# The run
# --------------------------------------------------------------------------------------

def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=1_000_000, help="rows of the register (default 1,000,000)")
    parser.add_argument("--entries", type=int, default=10_000,
                        help="dataset entries in the searched catalogue (default 10,000)")
    parser.add_argument("--runs", type=int, default=5,
                        help="timed runs of each operation after one warm-up (default 5); "
                             f"each search query runs {SEARCH_PASSES_PER_RUN}x this")
    parser.add_argument("--work", type=Path, default=DEFAULT_WORK,
                        help="folder for the generated files (default bench/.work/explorer)")
    parser.add_argument("--skip-datasette", action="store_true", help="do not load or serve Datasette")
    parser.add_argument("--json-out", type=Path, help="also save every measurement to this file")
    args = parser.parse_args(argv)
    if args.runs < 1 or args.rows < 1000 or args.entries < 1:
        parser.error("--runs and --entries must be positive, --rows at least 1000")
    return args


@dataclass
class Measured:
    """Everything one run measured, in the order the table shows it."""
    search: Row
    search_details: dict[str, dict]
    group_by: Row
    page: Row
    filtered: list[Row]
    cold: list[Row]
    datasette_group_by: list[Row] = field(default_factory=list)     # at the default limit, then the long one
    datasette_default_pages: list[Row] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def rows(self) -> list[Row]:
        return [self.search, self.group_by, *self.datasette_group_by, self.page, *self.filtered,
                *self.datasette_default_pages, *self.cold]


def measure_govcat(home: Path, catalogue: Path, entries: int, runs: int) -> tuple[Measured, list, dict]:
    """govcat's side and DuckDB alone; also the group-by result and the counts, to check Datasette's."""
    progress(f"search: {len(SEARCH_QUERIES)} queries x {runs * SEARCH_PASSES_PER_RUN} ...")
    search_samples, search_details = measure_search(catalogue, runs)
    cold_search = Row("first search on a freshly opened catalogue", timed(lambda: first_search(catalogue), runs))

    progress("group-by, dataset page, filtered pages (govcat, DuckDB alone) ...")
    govcat = Govcat(home)
    parquet = HomeLayout(home).release_dir(DATASET_ID, 1) / "data.parquet"
    try:
        via, call = govcat.group_by()
        group_by = Row("group-by, 2 keys + sum", timed(call, runs), "DuckDB alone, same Parquet",
                       timed(duckdb_alone(parquet), runs))
        group_by.govcat.via = via
        groups = call()
        difference = same_groups(groups, duckdb_alone(parquet)())
        if difference:
            govcat.notes.append(f"group-by: govcat and DuckDB alone disagree: {difference}")
        via, call = govcat.dataset_page()
        page = Row("dataset page, server-side work", timed(call, runs))
        page.govcat.via = via
        filtered, counts = [], {}
        for column, value, index in FILTERS:
            via, call = govcat.page(column, value)
            row = Row(f"filtered page + count, {column}={value} ({index})", timed(call, runs))
            row.govcat.via = via
            counts[column] = call()[1]
            filtered.append(row)
    finally:
        govcat.close()
    cold = Row("open catalogue + Sandbox (first request after a publish)", timed(lambda: open_cold(home), runs))
    search_row = Row(f"search, {entries:,} entries, facets (mix of queries)", search_samples)
    measured = Measured(search_row, search_details, group_by, page, filtered, [cold_search, cold],
                        notes=govcat.notes)
    return measured, groups, counts


def measure_datasette(measured: Measured, database: Path, log: Path, groups: list, counts: dict,
                      runs: int) -> None:
    """Datasette's side, served twice: at its default SQL time limit, then at a long one."""
    notes = measured.notes
    try:
        progress(f"Datasette at sql_time_limit_ms={DATASETTE_DEFAULT_LIMIT_MS} ...")
        with datasette(database, DATASETTE_DEFAULT_LIMIT_MS, log) as client:
            default_group_by = timed_allowing_refusal(datasette_sql(client, group_by_sql()), runs)
            suggested = []
            for (column, value, _), row in zip(FILTERS, measured.filtered):
                row.peer = "Datasette table JSON (count, no facet suggestions)"
                row.peer_samples = timed_allowing_refusal(datasette_page(client, column, value), runs)
                counted = datasette_page(client, column, value)()[1]
                notes.append(f"{column}={value}: govcat and Datasette both count {counted:,} rows"
                             if counted == counts[column] else
                             f"{column}={value}: the counts differ: govcat {counts[column]:,}, Datasette {counted:,}")
                suggested.append(Row(row.operation, row.govcat, "Datasette table JSON, default (facet suggestions too)",
                                     timed_allowing_refusal(datasette_page(client, column, value, True), runs)))
        progress(f"Datasette at sql_time_limit_ms={DATASETTE_LONG_LIMIT_MS} ...")
        with datasette(database, DATASETTE_LONG_LIMIT_MS, log) as client:
            long_group_by = timed_allowing_refusal(datasette_sql(client, group_by_sql()), runs)
            difference = same_groups(groups, datasette_sql(client, group_by_sql())())
    except (RuntimeError, Refused) as exc:
        notes.append(f"Datasette failed: {exc}")
        return
    notes.append("group-by: govcat and Datasette " + (
        f"disagree: {difference}" if difference else f"return the same {len(groups)} groups and sums"))
    if default_group_by.failures:
        notes.append(f"Datasette at its default limit refused {default_group_by.failures} of {runs} group-by "
                     f"runs: {default_group_by.failure}")
    label = measured.group_by.operation
    measured.datasette_group_by = [
        Row(label, measured.group_by.govcat, f"Datasette SQL JSON, {DATASETTE_DEFAULT_LIMIT_MS:,} ms limit",
            default_group_by),
        Row(label, measured.group_by.govcat, f"Datasette SQL JSON, {DATASETTE_LONG_LIMIT_MS:,} ms limit",
            long_group_by),
    ]
    measured.datasette_default_pages = suggested


def print_report(measured: Measured, prepared: list[Prepared], work: Path, runs: int) -> list[dict]:
    print()
    print("Prepared")
    for item in prepared:
        how = "reused" if item.reused else f"made in {item.seconds:.1f} s"
        shown = item.path.relative_to(work) if item.path.is_relative_to(work) else item.path
        print(f"  {item.what:13} {shown}  ({how})")
    print()
    print(f"Search queries (each {runs * SEARCH_PASSES_PER_RUN} times)")
    print(markdown_table(["query", "results", "did you mean", "p50 ms", "p95 ms"],
                         [[q, f"{d['total']:,}", d["suggestion"] or "", fmt_ms(d["p50"]), fmt_ms(d["p95"])]
                          for q, d in measured.search_details.items()], left={0, 2}))
    print()
    print("Timings (govcat: function calls in this process; Datasette: HTTP round trips)")
    print_table(measured.rows())
    print()
    print("What govcat ran")
    for operation, via in dict.fromkeys((row.operation, row.govcat.via) for row in measured.rows()
                                        if row.govcat is not None and row.govcat.via):
        print(f"  {operation}: {via}")
    for note in dict.fromkeys(measured.notes):
        print(f"  note: {note}")
    print()
    print("Floors")
    # The filtered pages' floor is against Datasette's page as it serves it by default (the issue's
    # "about 1.5 s"); the page without facet suggestions is in the table beside it.
    versus = measured.datasette_group_by[1:] + [r for r in measured.datasette_default_pages
                                                if r.peer_samples is not None]
    checks = floor_checks(measured.search.govcat, measured.group_by, measured.page, versus)
    print_floors(checks)
    return checks


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    work = args.work.resolve()
    work.mkdir(parents=True, exist_ok=True)
    print(f"explorer benchmark: {args.rows:,} rows, {args.entries:,} catalogue entries, "
          f"p50/p95 of {args.runs} run(s) after a warm-up, work folder {work}", flush=True)
    started = time.perf_counter()

    manifest = Manifest(work)
    register = ensure_register(work, manifest, args.rows)
    home = ensure_home(work, manifest, register, args.rows)
    database = None if args.skip_datasette else ensure_sqlite(work, manifest, register, args.rows)
    catalogue = build_catalogue(work, args.entries)
    prepared = [p for p in (register, home, database, catalogue) if p is not None]

    measured, groups, counts = measure_govcat(home.path, catalogue.path, args.entries, args.runs)
    if database is not None:
        measure_datasette(measured, database.path, work / "datasette.log", groups, counts, args.runs)
    checks = print_report(measured, prepared, work, args.runs)
    print(f"\nWhole run: {time.perf_counter() - started:.0f} s")
    if args.json_out:
        save(args, measured.rows(), measured.search_details, checks, prepared)
        print(f"Measurements saved to {args.json_out}")
    return 0


def save(args: argparse.Namespace, rows: list[Row], search_details: dict, checks: list[dict],
         prepared: list[Prepared]) -> None:
    def samples(s: Samples | None) -> dict | None:
        if s is None:
            return None
        return {"seconds": s.seconds, "p50": s.p(50), "p95": s.p(95), "failures": s.failures,
                "failure": s.failure, "via": s.via}

    data = {
        "parameters": {"rows": args.rows, "entries": args.entries, "runs": args.runs,
                       "generator": GENERATOR_VERSION, "seed": SEED, "cpus": os.cpu_count()},
        "prepared": [{"what": p.what, "seconds": p.seconds, "reused": p.reused} for p in prepared],
        "rows": [{"operation": r.operation, "govcat": samples(r.govcat), "peer": r.peer,
                  "peer_samples": samples(r.peer_samples), "ratio": ratio(r)} for r in rows],
        "search_queries": search_details,
        "floors": checks,
    }
    args.json_out.parent.mkdir(parents=True, exist_ok=True)
    args.json_out.write_text(json.dumps(data, indent=2) + "\n")


if __name__ == "__main__":
    sys.exit(main())
