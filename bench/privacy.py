"""Benchmark of the privacy step against a plain DuckDB copy of the same table.

A register of 1,000,000 hospital admissions (generated in DuckDB from a fixed seed) goes
through govcat's privacy step with the rules a health dataset would declare: two columns
dropped, one pseudonymised with a keyed HMAC, the date of birth to its year, the age to
5-year bands topped at 90, the postcode to its district, the admission date to its month,
and k-anonymity with k=5 over sex, age band and district (at most 5% of records touched).
The guard then scans what is left, and the result is written to Parquet as the pipeline's
protect step writes it. That is timed beside the plain copy a dataset without privacy
rules makes (the same table written to the same Parquet), and beside an in-memory
`CREATE TABLE copy AS SELECT *`, in the same process, median of several runs.

    .venv/bin/python bench/privacy.py [--rows N] [--runs N]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

import duckdb
import yaml

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from catalog import privacy  # noqa: E402
from catalog.flow import RELEASE_ROW_GROUP_ROWS  # noqa: E402
from catalog.spec import load_declarations  # noqa: E402

FLOOR = 4.0
KEY = b"benchmark-key-not-secret-0123456789"
SCHEMA = {"fields": [
    {"name": "admission_id", "type": "integer"},
    {"name": "patient_id", "type": "string"},
    {"name": "full_name", "type": "string"},
    {"name": "email", "type": "string"},
    {"name": "date_of_birth", "type": "date"},
    {"name": "sex", "type": "string"},
    {"name": "age", "type": "integer"},
    {"name": "postcode", "type": "string"},
    {"name": "admitted", "type": "date"},
    {"name": "ward", "type": "string"},
    {"name": "diagnosis_group", "type": "string"},
    {"name": "cost", "type": "number"},
]}
PRIVACY = {
    "drop": ["full_name", "email"],
    "pseudonymise": {"columns": ["patient_id"], "scope": "series"},
    "generalise": {"date_of_birth": {"to": "year"}, "age": {"bands": 5, "top": 90},
                   "postcode": {"to": "district"}, "admitted": {"to": "month"}},
    "k_anonymity": {"quasi_identifiers": ["sex", "age", "postcode"], "k": 5, "max_suppression": 0.05},
    "waivers": {"date_of_birth": "published as the year only (generalise), reviewed",
                "cost": "cost of the stay, not personal, reviewed"},
}
# 1,000,000 admissions: ages skewed towards the old, 600 postcode districts of unequal size
GENERATE = """
CREATE TABLE typed AS
WITH base AS (
  SELECT i, CAST(hash(i, 7) % 1000000007 AS BIGINT) AS h1, CAST(hash(i, 11) % 1000000007 AS BIGINT) AS h2,
         CAST(hash(i, 13) % 1000000007 AS BIGINT) AS h3 FROM range({rows}) t(i)
), people AS (
  SELECT i, h1, h2, h3,
         CAST(least(100, floor(sqrt((h1 % 10000) / 10000.0) * 101)) AS INTEGER) AS age,
         CAST(floor(pow((h2 % 100000) / 100000.0, 2) * 600) AS INTEGER) AS district
  FROM base
)
SELECT i + 1 AS admission_id,
       'RGH' || lpad(CAST(h3 % 10000000 AS VARCHAR), 7, '0') AS patient_id,
       'Person ' || CAST(h1 % 50000 AS VARCHAR) AS full_name,
       'person' || CAST(h2 % 90000 AS VARCHAR) || '@example.org' AS email,
       DATE '2024-06-30' - INTERVAL (age * 365 + h3 % 365) DAY AS date_of_birth,
       CASE WHEN h3 % 100 < 49 THEN 'M' WHEN h3 % 100 < 99 THEN 'F' ELSE 'X' END AS sex,
       age,
       chr(65 + district % 20) || chr(65 + (district // 20) % 26) || CAST(1 + district % 9 AS VARCHAR) || ' '
         || CAST(h1 % 10 AS VARCHAR) || chr(CAST(65 + h2 % 26 AS INTEGER)) || chr(CAST(65 + h3 % 26 AS INTEGER)) AS postcode,
       DATE '2024-01-01' + CAST(h2 % 366 AS INTEGER) AS admitted,
       'Ward ' || CAST(h1 % 12 AS VARCHAR) AS ward,
       'Group ' || CAST(h2 % 19 AS VARCHAR) AS diagnosis_group,
       round((h3 % 2000000) / 100.0, 2) AS cost
FROM people
"""


def declared_spec(folder: Path):
    """The dataset's declaration, written as a steward would (a tiny file stands in as its source)."""
    agency = folder / "health"
    dataset = agency / "admissions"
    (dataset / "data").mkdir(parents=True)
    (agency / "agency.yaml").write_text(yaml.safe_dump({
        "slug": "health", "name": "Health Service", "homepage": "https://health.example.org",
        "contact": {"name": "Data team", "email": "data@health.example.org"}}))
    (dataset / "dataset.yaml").write_text(yaml.safe_dump({
        "id": "admissions", "title": "Hospital admissions", "description": "Admissions to hospital.",
        "keywords": ["health"], "theme": "health", "licence": "CC-BY-4.0", "update_frequency": "monthly",
        "contact": {"name": "Data team", "email": "data@health.example.org"},
        "source": {"path": "data/admissions.csv"}, "privacy": PRIVACY}))
    (dataset / "schema.yaml").write_text(yaml.safe_dump(SCHEMA))
    (dataset / "data" / "admissions.csv").write_text(",".join(f["name"] for f in SCHEMA["fields"]) + "\n")
    return load_declarations(folder).datasets["admissions"]


def timed(action) -> float:
    started = time.perf_counter()
    action()
    return time.perf_counter() - started


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as folder:
        spec = declared_spec(Path(folder) / "datasets")
        con = duckdb.connect()      # in memory, as the pipeline's protect step runs
        con.execute(GENERATE.format(rows=args.rows))
        plain, copies, steps, guards, reports, findings = [], [], [], [], [], []
        target = Path(folder) / "release.parquet"
        write = f"(FORMAT parquet, COMPRESSION zstd, ROW_GROUP_SIZE {RELEASE_ROW_GROUP_ROWS})"  # as the protect step writes it
        for run in range(args.runs):
            copies.append(timed(lambda: con.execute("CREATE OR REPLACE TABLE copy AS SELECT * FROM typed")))
            plain.append(timed(lambda: con.execute(f"COPY typed TO '{target}' {write}")))

            def privacy_step():
                reports.append(privacy.protect(con, spec, "typed", "protected", lambda: KEY, f"run-{run}"))
                guards.append(timed(lambda: findings.append(privacy.guard(con, spec, "protected"))))
                con.execute(f"COPY protected TO '{target}' {write}")
            steps.append(timed(privacy_step))
        report = reports[-1]
        con.close()
    copy, parquet, step, guard = (statistics.median(x) for x in (copies, plain, steps, guards))
    measure = report.measures["k_anonymity"]
    print(f"privacy step on {args.rows:,} rows, median of {args.runs} runs\n")
    print("| what | median s | x plain Parquet copy | x in-memory copy |")
    print("|---|---:|---:|---:|")
    print(f"| in-memory copy (CREATE TABLE AS SELECT *) | {copy:.3f} | {copy / parquet:.1f}x | 1.0x |")
    print(f"| plain Parquet copy (COPY table TO release.parquet) | {parquet:.3f} | 1.0x | {parquet / copy:.1f}x |")
    print(f"| privacy step: protect, guard, then the same Parquet write | {step:.3f} | {step / parquet:.1f}x | "
          f"{step / copy:.1f}x |")
    print(f"| of which the guard | {guard:.3f} | | |")
    print(f"\nk achieved {measure['k_achieved']}, records touched {measure['suppressed_share']:.2%} "
          f"(values hidden in {measure['records_suppressed']:,}, removed {measure['records_removed']:,}); "
          f"highest record risk {measure['risk_before']['highest']:.2f} before, "
          f"{measure['risk_after']['highest']:.2f} after; guard findings: {len(findings[-1])}")
    ratio = step / parquet
    print(f"\nFloor: the privacy step at most {FLOOR:g}x the plain copy a dataset without rules makes "
          f"(the Parquet write): {'MET' if ratio <= FLOOR else 'NOT MET'} ({ratio:.1f}x); "
          f"against an in-memory copy it is {step / copy:.1f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
