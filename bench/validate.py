"""Benchmark ``govcat validate`` against the frictionless CLI and against DuckDB alone.

The benchmark generates (deterministically, from a fixed seed) a city's register of payments
to suppliers: a 12-column CSV with a Frictionless Table Schema that uses a realistic mix of
types and constraints. It writes two copies: a clean one, and one with about 0.1% of its rows
carrying a planted error of every kind frictionless reports on a table. Generated files are
kept in a work folder (default ``bench/.work/``) and reused by later runs with the same
parameters, which a small manifest records.

It then times, as whole processes (the median wall time of ``--runs`` runs):

* ``frictionless validate --json --limit-errors 0 --schema schema.json FILE`` on both copies;
* ``govcat validate --json --limit-errors 0 --schema schema.json FILE`` on both copies (a
  failure of this command is reported and the benchmark carries on without it);
* "DuckDB alone": a fresh Python process loading the clean copy into an in-memory DuckDB
  table with auto-detected types.

It checks that both validators report the same errors (counts by type, and the set of
(type, rowNumber, fieldNumber) triples), prints a table of the timings and error counts, and
says whether the floors are met: govcat at least 40x faster than frictionless on both copies,
govcat at most 1.6x DuckDB alone on the clean copy, and the same error counts by type. With
``--memory-rows N`` (default 10,000,000; 0 skips) it also generates a clean N-row copy and
measures the peak resident memory of ``govcat validate`` on it against a 1 GB floor.

Run it with the project's virtualenv::

    .venv/bin/python bench/validate.py [--rows N] [--runs N] [--memory-rows N]
        [--skip-frictionless] [--work DIR] [--json-out PATH]
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import io
import json
import os
import random
import statistics
import subprocess
import sys
import time
from collections import Counter
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

BENCH_DIR = Path(__file__).resolve().parent
REPO_ROOT = BENCH_DIR.parent
VENV_BIN = REPO_ROOT / ".venv" / "bin"
DEFAULT_WORK = BENCH_DIR / ".work"

GENERATOR_VERSION = 1          # bump when the generated data changes in any way
SEED = 20250601
CHUNK_ROWS = 200_000           # rows generated and written at a time
SUPPLIER_COUNT = 4_000
ERROR_RATE = 0.001             # share of rows of the planted copy that carry an error

FASTER_THAN_FRICTIONLESS = 40.0    # floor: frictionless time / govcat time, on both copies
SLOWER_THAN_DUCKDB = 1.6           # floor: govcat time / DuckDB-alone time, on the clean copy
MEMORY_FLOOR_BYTES = 1_000_000_000  # floor: peak RSS of govcat validate on the big copy

# --------------------------------------------------------------------------------------
# The register and its schema
# --------------------------------------------------------------------------------------

DEPARTMENTS = [
    "Adult Social Care", "Children's Services", "Highways and Transport", "Housing",
    "Environmental Services", "Waste and Recycling", "Planning and Regeneration",
    "Libraries and Culture", "Parks and Open Spaces", "Public Health", "Finance",
    "Legal and Democratic Services",
]
DEPARTMENT_WEIGHTS = [18, 16, 14, 12, 8, 8, 5, 3, 4, 5, 4, 3]

PLACES = [
    "Northgate", "Riverside", "Abbey", "Castle", "Pennine", "Harbour", "Meadow", "Oakwood",
    "Crown", "Victoria", "Kingsway", "Summit", "Brightwater", "Greenfield", "Redbrick",
    "Ironbridge", "Millstone", "Westfield", "Eastbank", "Highfield", "Moorside", "Ashdown",
    "Beacon", "Calder", "Dales", "Elmtree", "Fairway", "Granite", "Hillcrest", "Lakeside",
    "Marsh Lane", "Newbridge", "Orchard", "Parkside", "Quayside", "Rosewood", "Stonegate",
    "Thornbury", "Union Street", "Wharfedale",
]
TRADES = [
    "Paving", "Building Services", "Care Homes", "Consulting", "Cleaning", "IT Solutions",
    "Catering", "Waste Management", "Grounds Maintenance", "Transport", "Print", "Electrical",
    "Plumbing & Heating", "Security", "Recruitment", "Scaffolding", "Fostering", "Training",
    "Energy", "Roofing", "Home Care", "Fleet Services", "Office Supplies", "Surveying",
    "Tree Surgery", "Lift Maintenance", "Signage", "Facilities Management", "Translation",
    "Pest Control",
]
SUFFIXES = ["Ltd", "Limited", "LLP", "plc", "& Co", "Group Ltd", "CIC", "Services Ltd"]
SURNAMES = [
    "Smith", "Patel", "Jones", "Khan", "Williams", "Taylor", "Brown", "Ahmed", "Davies",
    "Evans", "Wilson", "Hussain", "Thomas", "Roberts", "Walker", "Wright", "Robinson", "Ali",
    "Thompson", "Hughes", "Green", "Hall", "Wood", "Clarke", "Lewis", "Harris", "Begum",
]
POSTCODE_AREAS = ["LS", "BD", "HX", "HD", "WF", "YO", "HG", "S", "M", "OL"]
POSTCODE_LETTERS = list("ABDEFGHJLNPQRSTUWXYZ")

FIRST_DATE = np.datetime64("2020-01-01")
DAYS = int((np.datetime64("2026-01-01") - FIRST_DATE).astype(np.int64))  # 2020 to 2025

COLUMNS = [
    "payment_id", "transaction_ref", "payment_date", "financial_year", "department",
    "supplier_name", "supplier_postcode", "supplier_email", "amount", "invoice_count",
    "is_sme", "approved_at",
]


def build_schema() -> dict:
    """The Frictionless Table Schema of the payments register."""
    fields = [
        {"name": "payment_id", "type": "integer",
         "constraints": {"required": True, "unique": True}},
        {"name": "transaction_ref", "type": "string",
         "constraints": {"required": True, "pattern": "PAY-[0-9]{4}-[0-9]{8}"}},
        {"name": "payment_date", "type": "date", "constraints": {"required": True}},
        {"name": "financial_year", "type": "year"},
        {"name": "department", "type": "string",
         "constraints": {"required": True, "enum": DEPARTMENTS}},
        {"name": "supplier_name", "type": "string",
         "constraints": {"required": True, "maxLength": 80}},
        {"name": "supplier_postcode", "type": "string",
         "constraints": {"pattern": "[A-Z]{1,2}[0-9][0-9A-Z]? [0-9][A-Z]{2}"}},
        {"name": "supplier_email", "type": "string", "format": "email"},
        {"name": "amount", "type": "number",
         "constraints": {"required": True, "minimum": 0.01, "maximum": 5000000}},
        {"name": "invoice_count", "type": "integer",
         "constraints": {"minimum": 1, "maximum": 50}},
        {"name": "is_sme", "type": "boolean"},
        {"name": "approved_at", "type": "datetime"},
    ]
    assert [f["name"] for f in fields] == COLUMNS
    return {"fields": fields, "primaryKey": ["payment_id"]}


def schema_text() -> str:
    return json.dumps(build_schema(), indent=2) + "\n"


# --------------------------------------------------------------------------------------
# Generating the clean register
# --------------------------------------------------------------------------------------

def slug(text: str) -> str:
    return "-".join("".join(c if c.isalnum() else " " for c in text.lower()).split())


def random_postcodes(rng: np.random.Generator, count: int) -> list[str]:
    areas = rng.choice(POSTCODE_AREAS, count)
    districts = rng.integers(1, 30, count)
    sectors = rng.integers(0, 10, count)
    units = rng.choice(POSTCODE_LETTERS, (count, 2))
    return [f"{a}{d} {s}{u[0]}{u[1]}" for a, d, s, u in zip(areas, districts, sectors, units)]


def build_supplier_pool() -> dict[str, np.ndarray]:
    """A fixed pool of suppliers: unique names, each with a postcode, email and SME flag."""
    rng = np.random.default_rng([SEED, 0])
    companies = [(p, t, s) for p in PLACES for t in TRADES for s in SUFFIXES]
    firm_count = SUPPLIER_COUNT // 20        # solicitors' and accountants' partnerships
    picked = rng.choice(len(companies), SUPPLIER_COUNT - firm_count, replace=False)
    names = [f"{p} {t} {s}" for p, t, s in (companies[i] for i in picked)]
    emails = [f"accounts@{slug(p + ' ' + t)}.example" for p, t, _ in (companies[i] for i in picked)]
    pairs = [(a, b) for a in SURNAMES for b in SURNAMES if a != b]
    for i in rng.choice(len(pairs), firm_count, replace=False):
        a, b = pairs[i]
        kind = "Solicitors" if i % 2 else "Accountants"
        names.append(f"{a}, {b} & Partners {kind} LLP")      # the comma gets the cell quoted
        emails.append(f"office@{slug(a + ' ' + b)}.example")
    assert len(set(names)) == len(names) and max(map(len, names)) <= 80
    emails = np.array(emails, dtype=object)
    emails[rng.random(len(emails)) < 0.04] = ""               # no email on file
    order = rng.permutation(len(names))                        # who gets paid most often
    weights = 1.0 / (np.arange(len(names)) + 1.0) ** 0.9
    return {
        "name": np.array(names, dtype=object),
        "postcode": np.array(random_postcodes(rng, len(names)), dtype=object),
        "email": emails,
        "is_sme": np.where(rng.random(len(names)) < 0.62, "true", "false").astype(object),
        "weight": weights[order] / weights.sum(),
    }


def payments_chunk(chunk_index: int, first_row: int, count: int,
                   suppliers: dict[str, np.ndarray]) -> pd.DataFrame:
    """Rows first_row .. first_row+count-1 of the register, drawn from the chunk's own seed."""
    rng = np.random.default_rng([SEED, 1, chunk_index])
    ids = np.arange(first_row + 1, first_row + count + 1, dtype=np.int64)
    dates = FIRST_DATE + rng.integers(0, DAYS, count).astype("timedelta64[D]")
    years = dates.astype("datetime64[Y]").astype(np.int64) + 1970
    months = dates.astype("datetime64[M]").astype(np.int64) % 12 + 1
    financial_years = np.where(months >= 4, years, years - 1)       # April to March
    approved = (dates.astype("datetime64[s]")
                - (rng.integers(0, 8, count) * 86_400).astype("timedelta64[s]")
                + rng.integers(8 * 3600, 18 * 3600, count).astype("timedelta64[s]"))
    supplier = rng.choice(len(suppliers["name"]), count, p=suppliers["weight"])
    department = rng.choice(len(DEPARTMENTS), count,
                            p=np.array(DEPARTMENT_WEIGHTS) / sum(DEPARTMENT_WEIGHTS))
    amounts = np.clip(np.round(rng.lognormal(6.4, 1.7, count), 2), 0.01, 4_999_999.99)
    serials = pd.Series(ids + 100_000_000).astype(str).str[1:]      # eight digits, zero-padded
    refs = "PAY-" + pd.Series(financial_years).astype(str) + "-" + serials
    return pd.DataFrame({
        "payment_id": ids,
        "transaction_ref": refs,
        "payment_date": np.datetime_as_string(dates, unit="D"),
        "financial_year": financial_years,
        "department": pd.Categorical.from_codes(department, DEPARTMENTS),
        "supplier_name": suppliers["name"][supplier],
        "supplier_postcode": suppliers["postcode"][supplier],
        "supplier_email": suppliers["email"][supplier],
        "amount": amounts,
        "invoice_count": np.minimum(rng.geometric(0.55, count), 50),
        "is_sme": suppliers["is_sme"][supplier],
        "approved_at": np.datetime_as_string(approved, unit="s"),
    })


def write_clean_csv(path: Path, rows: int) -> None:
    """Write the register chunk by chunk, so memory stays flat whatever the row count."""
    suppliers = build_supplier_pool()
    with open(path, "w", newline="", encoding="utf-8") as out:
        for chunk_index, first_row in enumerate(range(0, rows, CHUNK_ROWS)):
            chunk = payments_chunk(chunk_index, first_row,
                                   min(CHUNK_ROWS, rows - first_row), suppliers)
            chunk.to_csv(out, header=chunk_index == 0, index=False,
                         float_format="%.2f", lineterminator="\n")


# --------------------------------------------------------------------------------------
# Planting errors
# --------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Plant:
    """One kind of planted error: what it does to a row and what frictionless calls it."""
    kind: str
    error_type: str
    column: str | None = None
    bad_values: tuple[str, ...] = ()


PLANTS = [
    Plant("bad_integer", "type-error", "invoice_count", ("3.5", "two", "n/a", "1O")),
    Plant("bad_number", "type-error", "amount", ("1,234.50", "£250.00", "12.50.00", "TBC")),
    Plant("bad_date", "type-error", "payment_date",
          ("2023-02-30", "31/12/2023", "2023-13-01", "2021-06-31")),
    Plant("bad_boolean", "type-error", "is_sme", ("yes", "Y", "maybe", "2")),
    Plant("bad_year", "type-error", "financial_year", ("FY23", "2023/24", "23", "20234")),
    Plant("bad_datetime", "type-error", "approved_at",
          ("05/04/2023 14:32:00", "2023-04-05T25:00:00", "2023-04-05", "yesterday")),
    Plant("bad_email", "type-error", "supplier_email",
          ("accounts.northgate.example", "finance@", "a b@abbey.example", "@example")),
    Plant("required_empty", "constraint-error", "supplier_name", ("",)),
    Plant("below_minimum", "constraint-error", "amount", ("0.00", "-125.00", "-0.50")),
    Plant("above_maximum", "constraint-error", "invoice_count", ("51", "75", "120")),
    Plant("pattern_mismatch", "constraint-error", "supplier_postcode",
          ("LS14AB", "ls1 4ab", "UNKNOWN", "12345")),
    Plant("enum_miss", "constraint-error", "department",
          ("HOUSING", "Dept of Highways", "Parks", "Finance Dept")),
    Plant("over_max_length", "constraint-error", "supplier_name"),
    Plant("duplicate_id", "unique-error", "payment_id"),
    Plant("extra_cell", "extra-cell", None, ("", "see note")),
    Plant("missing_cell", "missing-cell", "approved_at"),
    Plant("blank_row", "blank-row"),
]
LONG_NAME_TAIL = " trading as the Riverton and District Community Facilities Management Consortium"


def choose_planted_rows(rows: int) -> dict[int, Plant]:
    """Spread the planted rows evenly (one per stride, at a random offset), kinds shuffled.

    No two planted rows are adjacent and row 0 is never planted, so a duplicated id can
    always be taken from the untouched row just above.
    """
    rng = np.random.default_rng([SEED, 2])
    count = max(len(PLANTS), round(rows * ERROR_RATE))
    stride = rows // count
    if stride < 4:
        raise SystemExit(f"--rows {rows} is too small to plant {count} errors; use 1000 or more")
    positions = np.arange(count) * stride + rng.integers(1, stride - 1, count)
    kinds = np.resize(np.arange(len(PLANTS)), count)
    rng.shuffle(kinds)
    return {int(p): PLANTS[k] for p, k in zip(positions, kinds)}


def planted_line(plant: Plant, line: str, previous_line: str, pick: random.Random) -> str:
    """The line of the planted copy that replaces a clean line."""
    cells = next(csv.reader([line]))
    if plant.kind == "blank_row":
        return "," * (len(cells) - 1) + "\n"
    if plant.kind == "extra_cell":
        cells.append(pick.choice(plant.bad_values))
    elif plant.kind == "missing_cell":
        assert COLUMNS[-1] == plant.column
        cells.pop()
    elif plant.kind == "duplicate_id":
        cells[0] = next(csv.reader([previous_line]))[0]
    elif plant.kind == "over_max_length":
        index = COLUMNS.index(plant.column)
        cells[index] = (cells[index] + LONG_NAME_TAIL)[:pick.randint(81, 140)]
    else:
        cells[COLUMNS.index(plant.column)] = pick.choice(plant.bad_values)
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerow(cells)
    return out.getvalue()


def write_planted_csv(clean: Path, path: Path, rows: int) -> dict[str, int]:
    """Copy the clean register line by line, replacing the chosen lines; return counts by kind."""
    plants = choose_planted_rows(rows)
    pick = random.Random(SEED)
    with open(clean, newline="", encoding="utf-8") as src, \
            open(path, "w", newline="", encoding="utf-8") as out:
        previous = src.readline()
        out.write(previous)
        for index, line in enumerate(src):
            plant = plants.get(index)
            out.write(planted_line(plant, line, previous, pick) if plant else line)
            previous = line
    counts = Counter(plant.kind for plant in plants.values())
    return {plant.kind: counts[plant.kind] for plant in PLANTS}


def planted_counts_by_error_type(planted: dict[str, int]) -> dict[str, int]:
    counts: Counter[str] = Counter()
    for plant in PLANTS:
        counts[plant.error_type] += planted.get(plant.kind, 0)
    return dict(counts)


# --------------------------------------------------------------------------------------
# The work folder and its manifest
# --------------------------------------------------------------------------------------

@dataclass
class GeneratedFile:
    path: Path
    rows: int
    reused: bool
    seconds: float
    planted: dict[str, int] = field(default_factory=dict)

    @property
    def megabytes(self) -> float:
        return self.path.stat().st_size / 1e6


class Manifest:
    """manifest.json in the work folder: for each generated file, its parameters and size."""

    def __init__(self, work: Path):
        self.path = work / "manifest.json"
        self.entries = json.loads(self.path.read_text()) if self.path.exists() else {}

    def matching(self, name: str, params: dict) -> dict | None:
        entry = self.entries.get(name)
        target = self.path.parent / name
        if (entry and entry["params"] == params and target.exists()
                and target.stat().st_size == entry["bytes"]):
            return entry
        return None

    def record(self, name: str, params: dict, extra: dict) -> None:
        self.entries[name] = {"params": params, "bytes": (self.path.parent / name).stat().st_size,
                              **extra}
        temporary = self.path.with_suffix(".tmp")
        temporary.write_text(json.dumps(self.entries, indent=2) + "\n")
        temporary.replace(self.path)


def clean_params(rows: int) -> dict:
    return {"generator": GENERATOR_VERSION, "seed": SEED, "rows": rows, "chunk_rows": CHUNK_ROWS,
            "schema_sha256": hashlib.sha256(schema_text().encode()).hexdigest()}


def ensure_clean_file(work: Path, manifest: Manifest, rows: int) -> GeneratedFile:
    name, params = f"payments-{rows}.csv", clean_params(rows)
    if manifest.matching(name, params):
        return GeneratedFile(work / name, rows, reused=True, seconds=0.0)
    progress(f"generating {name} ...")
    started = time.perf_counter()
    temporary = work / (name + ".tmp")
    write_clean_csv(temporary, rows)
    temporary.replace(work / name)
    manifest.record(name, params, {})
    return GeneratedFile(work / name, rows, reused=False, seconds=time.perf_counter() - started)


def ensure_planted_file(work: Path, manifest: Manifest, clean: GeneratedFile) -> GeneratedFile:
    name = f"payments-{clean.rows}-planted.csv"
    params = {**clean_params(clean.rows), "error_rate": ERROR_RATE,
              "plants": [asdict(plant) for plant in PLANTS]}
    params = json.loads(json.dumps(params))          # tuples as lists, as the manifest has them
    entry = manifest.matching(name, params)
    if entry:
        return GeneratedFile(work / name, clean.rows, True, 0.0, entry["planted"])
    progress(f"planting errors into {name} ...")
    started = time.perf_counter()
    temporary = work / (name + ".tmp")
    planted = write_planted_csv(clean.path, temporary, clean.rows)
    temporary.replace(work / name)
    manifest.record(name, params, {"planted": planted})
    return GeneratedFile(work / name, clean.rows, False, time.perf_counter() - started, planted)


# --------------------------------------------------------------------------------------
# Running and timing the tools
# --------------------------------------------------------------------------------------

DUCKDB_ALONE = ("import sys, duckdb; duckdb.connect().execute("
                "'CREATE TABLE t AS SELECT * FROM read_csv(?)', [sys.argv[1]])")

PEAK_RSS_WRAPPER = """
import json, resource, subprocess, sys
done = subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
print(json.dumps({"returncode": done.returncode,
                  "peak_kib": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss,
                  "stderr": done.stderr.decode(errors="replace")[-2000:]}))
"""


@dataclass
class Timing:
    """The runs of one tool on one file."""
    tool: str
    file: str
    rows: int
    seconds: list[float] = field(default_factory=list)
    failure: str | None = None
    report: dict | None = None

    @property
    def median(self) -> float | None:
        return statistics.median(self.seconds) if self.seconds and not self.failure else None

    @property
    def rows_per_second(self) -> float | None:
        return self.rows / self.median if self.median else None


def progress(message: str) -> None:
    print(f"  .. {message}", flush=True)


def tail(text: str, lines: int = 8) -> str:
    return "\n".join(text.strip().splitlines()[-lines:]) or "(no output)"


def run_timed(command: list[str], cwd: Path) -> tuple[float, subprocess.CompletedProcess]:
    started = time.perf_counter()
    done = subprocess.run(command, cwd=cwd, capture_output=True, text=True)
    return time.perf_counter() - started, done


def validator_command(tool: str, file: Path) -> list[str]:
    return [str(VENV_BIN / tool), "validate", "--json", "--limit-errors", "0",
            "--schema", "schema.json", file.name]


def parse_report(done: subprocess.CompletedProcess) -> dict:
    """The JSON report of a validator; exit 1 only means the file is invalid."""
    if done.returncode not in (0, 1):
        raise ValueError(f"exit code {done.returncode}: {tail(done.stderr or done.stdout)}")
    try:
        report = json.loads(done.stdout)
    except json.JSONDecodeError:
        raise ValueError(f"no JSON report (exit code {done.returncode}): "
                         f"{tail(done.stderr or done.stdout)}") from None
    if not isinstance(report, dict) or "valid" not in report:
        raise ValueError("the JSON printed is not a validation report")
    return report


def time_validator(tool: str, file: GeneratedFile, label: str, runs: int) -> Timing:
    timing = Timing(tool, label, file.rows)
    for run in range(1, runs + 1):
        progress(f"{tool} validate on {label} (run {run}/{runs})")
        seconds, done = run_timed(validator_command(tool, file.path), file.path.parent)
        try:
            timing.report = parse_report(done)
        except ValueError as problem:
            timing.failure = str(problem)
            print(f"{tool} validate failed: {problem}", flush=True)
            break
        timing.seconds.append(seconds)
    return timing


def time_duckdb_alone(file: GeneratedFile, label: str, runs: int) -> Timing:
    timing = Timing("DuckDB alone", label, file.rows)
    for run in range(1, runs + 1):
        progress(f"DuckDB alone on {label} (run {run}/{runs})")
        seconds, done = run_timed([sys.executable, "-c", DUCKDB_ALONE, file.path.name],
                                  file.path.parent)
        if done.returncode != 0:
            timing.failure = tail(done.stderr)
            print(f"DuckDB alone failed: {timing.failure}", flush=True)
            break
        timing.seconds.append(seconds)
    return timing


def measure_peak_rss(file: GeneratedFile) -> dict:
    """Peak RSS of govcat validate on the file, read by a fresh wrapper process."""
    command = [str(VENV_BIN / "govcat"), "validate", "--json", "--schema", "schema.json",
               file.path.name]
    progress(f"govcat validate on {file.path.name} for its peak memory")
    seconds, done = run_timed([sys.executable, "-c", PEAK_RSS_WRAPPER, *command],
                              file.path.parent)
    result = {"file": file.path.name, "rows": file.rows, "seconds": seconds,
              "peak_bytes": None, "failure": None}
    try:
        measured = json.loads(done.stdout)
    except json.JSONDecodeError:
        result["failure"] = tail(done.stderr)
        return result
    if measured["returncode"] not in (0, 1):
        result["failure"] = f"exit code {measured['returncode']}: {tail(measured['stderr'])}"
        print(f"govcat validate failed: {result['failure']}", flush=True)
    else:
        result["peak_bytes"] = measured["peak_kib"] * 1024     # Linux reports KiB
    return result


# --------------------------------------------------------------------------------------
# Comparing the reports
# --------------------------------------------------------------------------------------

def report_errors(report: dict) -> list[dict]:
    errors = list(report.get("errors", []))
    for task in report.get("tasks", []):
        errors.extend(task.get("errors", []))
    return errors


def error_counts(report: dict | None) -> dict[str, int] | None:
    if report is None:
        return None
    return dict(Counter(error.get("type", "?") for error in report_errors(report)))


def error_triples(report: dict) -> set[tuple]:
    return {(e.get("type"), e.get("rowNumber"), e.get("fieldNumber")) for e in report_errors(report)}


def compare_reports(reference: Timing, candidate: Timing) -> dict | None:
    """How the candidate's errors differ from the reference's (None if either is missing)."""
    if reference.report is None or candidate.report is None:
        return None
    ref_counts, cand_counts = error_counts(reference.report), error_counts(candidate.report)
    ref_triples, cand_triples = error_triples(reference.report), error_triples(candidate.report)
    types = sorted(set(ref_counts) | set(cand_counts))
    return {
        "same_counts": ref_counts == cand_counts,
        "count_differences": {t: [ref_counts.get(t, 0), cand_counts.get(t, 0)]
                              for t in types if ref_counts.get(t, 0) != cand_counts.get(t, 0)},
        "same_triples": ref_triples == cand_triples,
        "only_in_reference": sorted(ref_triples - cand_triples, key=sort_key),
        "only_in_candidate": sorted(cand_triples - ref_triples, key=sort_key),
    }


def sort_key(triple: tuple) -> tuple:
    kind, row, field_number = triple
    return (row or 0, field_number or 0, kind or "")


# --------------------------------------------------------------------------------------
# Printing
# --------------------------------------------------------------------------------------

def fmt_seconds(value: float | None) -> str:
    return f"{value:.2f}" if value is not None else "-"


def fmt_int(value: float | None) -> str:
    return f"{value:,.0f}" if value is not None else "-"


def fmt_ratio(numerator: float | None, denominator: float | None) -> str:
    return f"{numerator / denominator:.1f}x" if numerator and denominator else "-"


def markdown_table(header: list[str], rows: list[list[str]], text_columns: int = 1) -> str:
    """A markdown-style table; columns from text_columns on are numbers, aligned right."""
    widths = [max(len(str(row[i])) for row in [header, *rows]) for i in range(len(header))]

    def line(cells: list[str]) -> str:
        return "| " + " | ".join(str(c).ljust(w) if i < text_columns else str(c).rjust(w)
                                 for i, (c, w) in enumerate(zip(cells, widths))) + " |"

    rule = "|" + "|".join("-" * (w + 2) if i < text_columns else "-" * (w + 1) + ":"
                          for i, w in enumerate(widths)) + "|"
    return "\n".join([line(header), rule, *(line(row) for row in rows)])


def print_files(files: list[tuple[str, GeneratedFile]]) -> None:
    print("Files")
    for label, generated in files:
        how = "reused" if generated.reused else f"generated in {generated.seconds:.1f} s"
        print(f"  {label:8} {generated.path.name:36} {generated.rows:>12,} rows "
              f"{generated.megabytes:9.1f} MB  ({how})")


def print_planted(planted: GeneratedFile) -> None:
    total = sum(planted.planted.values())
    print(f"Planted errors: {total:,} rows of {planted.rows:,} "
          f"({100 * total / planted.rows:.2f}%), by kind:")
    print("  " + ", ".join(f"{kind}={count}" for kind, count in planted.planted.items()))


def print_timing_table(timings: dict[str, dict[str, Timing | None]], duckdb: Timing) -> None:
    rows = []
    for label in ("clean", "planted"):
        by_tool = timings[label]
        frictionless, govcat = by_tool.get("frictionless"), by_tool.get("govcat")
        for tool, timing in by_tool.items():
            if timing is None:
                rows.append([label, tool, fmt_int(duckdb.rows), "skipped", "-", "-", "-", "-"])
                continue
            is_govcat = tool == "govcat"
            rows.append([
                label, tool, fmt_int(timing.rows),
                "failed" if timing.failure else fmt_seconds(timing.median),
                fmt_int(timing.rows_per_second),
                fmt_ratio(frictionless and frictionless.median, govcat.median) if is_govcat else "",
                fmt_ratio(govcat.median, duckdb.median) if is_govcat else "",
                fmt_int(sum(error_counts(timing.report).values())) if timing.report else "-",
            ])
        if label == "clean":
            rows.append([label, duckdb.tool, fmt_int(duckdb.rows),
                         "failed" if duckdb.failure else fmt_seconds(duckdb.median),
                         fmt_int(duckdb.rows_per_second), "", "", ""])
    print(markdown_table(["file", "tool", "rows", "median s", "rows/s",
                          "frictionless/govcat", "govcat/DuckDB alone", "errors"],
                         rows, text_columns=2))


def print_error_table(timings: dict[str, dict[str, Timing | None]], planted: dict[str, int]) -> None:
    columns = [(label, tool) for label in ("clean", "planted") for tool in ("frictionless", "govcat")]
    counts = {column: error_counts(timings[column[0]][column[1]].report)
              if timings[column[0]].get(column[1]) else None for column in columns}
    types = [p.error_type for p in PLANTS] + ["primary-key"]
    for found in counts.values():
        types += list(found or {})
    rows = []
    for error_type in dict.fromkeys(types):
        rows.append([error_type, fmt_int(planted.get(error_type)) if error_type in planted else "-",
                     *(fmt_int(counts[c].get(error_type, 0)) if counts[c] is not None else "-"
                       for c in columns)])
    print(markdown_table(["error type", "planted rows",
                          *(f"{tool} {label}" for label, tool in columns)], rows))


def print_comparison(label: str, comparison: dict | None, shown: int = 5) -> None:
    if comparison is None:
        print(f"  {label}: not compared (frictionless skipped, or a tool failed)")
        return
    if comparison["same_counts"] and comparison["same_triples"]:
        print(f"  {label}: same errors (counts by type and every (type, row, field))")
        return
    if not comparison["same_counts"]:
        differences = ", ".join(f"{t} {a} vs {b}"
                                for t, (a, b) in comparison["count_differences"].items())
        print(f"  {label}: counts differ (frictionless vs govcat): {differences}")
    else:
        print(f"  {label}: same counts by type, but not the same (type, row, field) triples")
    for side, tool in (("only_in_reference", "frictionless"), ("only_in_candidate", "govcat")):
        triples = comparison[side]
        if triples:
            listed = ", ".join(str(t) for t in triples[:shown])
            more = f" ... and {len(triples) - shown} more" if len(triples) > shown else ""
            print(f"    only {tool} ({len(triples)}): {listed}{more}")


def floor_checks(timings: dict[str, dict[str, Timing | None]], duckdb: Timing,
                 comparisons: dict[str, dict | None], memory: dict | None) -> list[dict]:
    """Each floor with its measured value and whether it is met (None: could not be checked)."""
    checks = []
    for label in ("clean", "planted"):
        frictionless, govcat = timings[label].get("frictionless"), timings[label]["govcat"]
        ratio = (frictionless.median / govcat.median
                 if frictionless and frictionless.median and govcat.median else None)
        checks.append({"floor": f"govcat >= {FASTER_THAN_FRICTIONLESS:g}x faster than "
                                f"frictionless ({label})",
                       "value": f"{ratio:.1f}x" if ratio else "-",
                       "met": None if ratio is None else ratio >= FASTER_THAN_FRICTIONLESS})
    govcat = timings["clean"]["govcat"]
    ratio = govcat.median / duckdb.median if govcat.median and duckdb.median else None
    checks.append({"floor": f"govcat <= {SLOWER_THAN_DUCKDB:g}x DuckDB alone (clean)",
                   "value": f"{ratio:.2f}x" if ratio else "-",
                   "met": None if ratio is None else ratio <= SLOWER_THAN_DUCKDB})
    for label in ("clean", "planted"):
        comparison = comparisons[label]
        checks.append({"floor": f"same error counts by type ({label})",
                       "value": "-" if comparison is None else
                       ("same" if comparison["same_counts"] else "different"),
                       "met": None if comparison is None else comparison["same_counts"]})
    if memory is not None:
        peak = memory["peak_bytes"]
        checks.append({"floor": f"govcat peak RSS <= {MEMORY_FLOOR_BYTES / 1e9:g} GB "
                                f"({memory['rows']:,} rows)",
                       "value": f"{peak / 1e6:,.0f} MB" if peak else "-",
                       "met": None if peak is None else peak <= MEMORY_FLOOR_BYTES})
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
    parser.add_argument("--rows", type=int, default=1_000_000,
                        help="rows of the clean and planted copies (default 1,000,000)")
    parser.add_argument("--runs", type=int, default=3,
                        help="runs of each timed command; the median is reported (default 3)")
    parser.add_argument("--memory-rows", type=int, default=10_000_000,
                        help="rows of the copy the peak memory is measured on "
                             "(default 10,000,000; 0 skips the measurement)")
    parser.add_argument("--skip-frictionless", action="store_true",
                        help="do not run frictionless (its ratios and the comparison are skipped)")
    parser.add_argument("--work", type=Path, default=DEFAULT_WORK,
                        help="folder for the generated files (default bench/.work)")
    parser.add_argument("--json-out", type=Path, help="also save every measurement to this file")
    args = parser.parse_args(argv)
    if args.runs < 1 or args.rows < 1 or args.memory_rows < 0:
        parser.error("--rows and --runs must be positive, --memory-rows zero or more")
    return args


def check_tools() -> None:
    for tool in ("frictionless", "govcat"):
        if not (VENV_BIN / tool).exists():
            print(f"note: {VENV_BIN / tool} is missing; run `make setup` first", flush=True)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    work = args.work.resolve()
    work.mkdir(parents=True, exist_ok=True)
    check_tools()
    print(f"govcat validate benchmark: {args.rows:,} rows x {len(COLUMNS)} columns, "
          f"median of {args.runs} run(s), work folder {work}", flush=True)

    (work / "schema.json").write_text(schema_text())
    manifest = Manifest(work)
    clean = ensure_clean_file(work, manifest, args.rows)
    planted = ensure_planted_file(work, manifest, clean)
    files = {"clean": clean, "planted": planted}

    tools = ["govcat"] if args.skip_frictionless else ["frictionless", "govcat"]
    timings: dict[str, dict[str, Timing | None]] = {}
    for label, generated in files.items():
        timings[label] = {"frictionless": None} if args.skip_frictionless else {}
        for tool in tools:
            timings[label][tool] = time_validator(tool, generated, label, args.runs)
    duckdb = time_duckdb_alone(clean, "clean", args.runs)
    comparisons = {label: compare_reports(timings[label]["frictionless"], timings[label]["govcat"])
                   if timings[label]["frictionless"] else None for label in files}

    memory = None
    big = None
    if args.memory_rows:
        big = ensure_clean_file(work, manifest, args.memory_rows)
        memory = measure_peak_rss(big)

    print()
    print_files([*files.items(), *([("memory", big)] if big else [])])
    print_planted(planted)
    print()
    print_timing_table(timings, duckdb)
    print()
    print("Error counts by type")
    print_error_table(timings, planted_counts_by_error_type(planted.planted))
    print()
    print("Agreement of the reports (frictionless vs govcat)")
    for label in files:
        print_comparison(label, comparisons[label])
    if memory:
        print()
        peak = memory["peak_bytes"]
        print(f"Memory: govcat validate on {memory['rows']:,} rows: "
              + (f"peak RSS {peak / 1e6:,.0f} MB in {memory['seconds']:.1f} s"
                 if peak else f"failed: {memory['failure']}"))
    print()
    print("Floors")
    checks = floor_checks(timings, duckdb, comparisons, memory)
    print_floors(checks)

    if args.json_out:
        save_measurements(args, files, timings, duckdb, comparisons, memory, checks)
        print(f"\nMeasurements saved to {args.json_out}")
    return 0


def save_measurements(args: argparse.Namespace, files: dict[str, GeneratedFile],
                      timings: dict[str, dict[str, Timing | None]], duckdb: Timing,
                      comparisons: dict[str, dict | None], memory: dict | None,
                      checks: list[dict]) -> None:
    def timing_record(timing: Timing) -> dict:
        return {"tool": timing.tool, "file": timing.file, "rows": timing.rows,
                "seconds": timing.seconds, "median_seconds": timing.median,
                "rows_per_second": timing.rows_per_second, "failure": timing.failure,
                "valid": timing.report.get("valid") if timing.report else None,
                "error_counts": error_counts(timing.report)}

    measurements = {
        "parameters": {"rows": args.rows, "runs": args.runs, "memory_rows": args.memory_rows,
                       "skip_frictionless": args.skip_frictionless, "seed": SEED,
                       "generator": GENERATOR_VERSION, "cpus": os.cpu_count()},
        "files": {label: {"name": f.path.name, "rows": f.rows, "bytes": f.path.stat().st_size,
                          "planted": f.planted or None} for label, f in files.items()},
        "timings": [timing_record(t) for by_tool in timings.values()
                    for t in by_tool.values() if t is not None] + [timing_record(duckdb)],
        "comparisons": comparisons,
        "memory": memory,
        "floors": checks,
    }
    args.json_out.parent.mkdir(parents=True, exist_ok=True)
    args.json_out.write_text(json.dumps(measurements, indent=2, default=list) + "\n")


if __name__ == "__main__":
    sys.exit(main())
