"""Benchmark of publishing a 1,000,000-row release against a plain Parquet write of the same data.

A register of 1,000,000 payments (generated in DuckDB from a fixed seed, 8 columns, a primary
key) is declared as a dataset and published twice through ``catalog.flow.publish_delivery``:
pull, validate, protect (one column pseudonymised), guard, then the release written, its diff
from the release before computed, and the catalogue swapped in. That is timed beside DuckDB
alone reading the same CSV and writing it to Parquet, in the same process, median of several
runs. Each publish makes a new release (the deliveries alternate), so every run pays for the
diff against a previous release of the same size.

    .venv/bin/python bench/publish.py [--rows N] [--runs N]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

import duckdb
import yaml

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from catalog import flow  # noqa: E402
from catalog.spec import load_declarations  # noqa: E402

SCHEMA = {"fields": [
    {"name": "payment_id", "type": "integer", "constraints": {"required": True, "unique": True}},
    {"name": "paid_on", "type": "date"},
    {"name": "department", "type": "string"},
    {"name": "supplier", "type": "string"},
    {"name": "supplier_email", "type": "string"},
    {"name": "amount", "type": "number", "constraints": {"minimum": 0}},
    {"name": "invoices", "type": "integer"},
    {"name": "sme", "type": "boolean"},
], "primaryKey": ["payment_id"]}
GENERATE = """
COPY (
  SELECT i + 1 AS payment_id, DATE '2024-01-01' + CAST(hash(i, {seed}) % 366 AS INTEGER) AS paid_on,
         'Department ' || CAST(hash(i, 3) % 12 AS VARCHAR) AS department,
         'Supplier ' || CAST(hash(i, 5) % 4000 AS VARCHAR) AS supplier,
         'accounts' || CAST(hash(i, 7) % 4000 AS VARCHAR) || '@supplier.example.org' AS supplier_email,
         round((hash(i, {seed}) % 10000000) / 100.0, 2) AS amount, CAST(1 + hash(i, 11) % 20 AS INTEGER) AS invoices,
         hash(i, 13) % 2 = 0 AS sme
  FROM range({rows}) t(i)
) TO '{path}' (FORMAT csv, HEADER)
"""


def declare(root: Path, rows: int) -> Path:
    agency, dataset = root / "city", root / "city" / "payments"
    (dataset / "data").mkdir(parents=True)
    (agency / "agency.yaml").write_text(yaml.safe_dump({
        "slug": "city", "name": "City Council", "homepage": "https://city.example.org",
        "contact": {"name": "Data team", "email": "data@city.example.org"}}))
    (dataset / "dataset.yaml").write_text(yaml.safe_dump({
        "id": "payments", "title": "Payments to suppliers", "description": "Every payment over 0.",
        "keywords": ["spending"], "theme": "government", "licence": "CC-BY-4.0", "update_frequency": "monthly",
        "contact": {"name": "Data team", "email": "data@city.example.org"}, "source": {"path": "data/*.csv"},
        "privacy": {"pseudonymise": {"columns": ["supplier_email"], "scope": "series"}}}))
    (dataset / "schema.yaml").write_text(yaml.safe_dump(SCHEMA))
    con = duckdb.connect()
    for seed, name in ((17, "a.csv"), (19, "b.csv")):
        con.execute(GENERATE.format(seed=seed, rows=rows, path=dataset / "data" / name))
    con.close()
    return dataset / "data"


def timed(action) -> float:
    started = time.perf_counter()
    action()
    return time.perf_counter() - started


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args(argv)
    os.environ.setdefault("GOVCAT_PSEUDONYM_KEY", "benchmark-key-not-secret-0123456789")
    with tempfile.TemporaryDirectory() as folder:
        root, home = Path(folder) / "datasets", Path(folder) / "home"
        data = declare(root, args.rows)
        loaded = load_declarations(root)
        spec = loaded.datasets["payments"]
        flow.publish_delivery(loaded, spec, home, "b.csv")      # release 1, so every timed run diffs
        plain, publishes, outcomes = [], [], []
        for run in range(args.runs):
            target = Path(folder) / f"plain-{run}.parquet"
            source = data / ("a.csv" if run % 2 == 0 else "b.csv")
            plain.append(timed(lambda: duckdb.connect().execute(
                f"COPY (SELECT * FROM read_csv('{source}')) TO '{target}' (FORMAT parquet, COMPRESSION zstd)")))
            publishes.append(timed(lambda: outcomes.append(
                flow.publish_delivery(loaded, spec, home, source.name, note=f"run {run}"))))
        assert all(o.status == "published" for o in outcomes), [o.describe() for o in outcomes]
    copy, publish = statistics.median(plain), statistics.median(publishes)
    print(f"publishing {args.rows:,} rows x {len(SCHEMA['fields'])} columns, median of {args.runs} runs\n")
    print("| what | median s | x plain Parquet write |")
    print("|---|---:|---:|")
    print(f"| plain Parquet write (DuckDB: read_csv, COPY TO parquet) | {copy:.2f} | 1.0x |")
    print(f"| govcat publish: pull, validate, protect, guard, write, diff, commit | {publish:.2f} | {publish / copy:.1f}x |")
    print(f"\nlast release: {outcomes[-1].describe()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
