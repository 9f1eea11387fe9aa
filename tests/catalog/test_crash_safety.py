"""A publish killed at any moment leaves the previous release current, complete and readable; a
reader running beside publishes never fails and never sees half a release."""

import hashlib
import json
import os
import random
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pyarrow.parquet as pq

from catalog import catalogue_db
from catalog.query import Sandbox
from tests.conftest import REPO

ROWS = 40_000

# A publisher in its own process: it says "ready" once imported, then publishes whichever of the two
# deliveries differs from the current release, so every run that gets through makes a new release.
PUBLISHER = textwrap.dedent("""
    import sys, time
    from pathlib import Path
    from catalog import flow
    from catalog.sources import file_sha256
    from catalog.spec import load_declarations
    from catalog.store import Store
    datasets, home, seconds = Path(sys.argv[1]), Path(sys.argv[2]), float(sys.argv[3])
    loaded = load_declarations(datasets)
    spec = loaded.datasets["grants"]
    print("ready", flush=True)
    deadline = time.time() + seconds
    while True:
        current = Store(home).current_release("grants")
        name = "b.csv" if current and current.source_sha256 == file_sha256(spec.folder / "data" / "a.csv") else "a.csv"
        outcome = flow.publish_delivery(loaded, spec, home, name)
        assert outcome.status == "published", outcome.describe()
        print(outcome.release, flush=True)
        if time.time() >= deadline:
            break
""")


def grants_rows(variant: int) -> str:
    lines = ["id,district,email,amount"]
    lines += [f"{i},{'North South East West'.split()[i % 4]},p{i}@example.org,{(i * variant) % 997}.5"
              for i in range(1, ROWS + 1)]
    return "\n".join(lines) + "\n"


def declare(declarations):
    declarations.agency()
    declarations.dataset(files={"a.csv": grants_rows(3), "b.csv": grants_rows(7)})
    return declarations.root


def start_publisher(datasets: Path, home: Path, seconds: float = 0.0) -> subprocess.Popen:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    process = subprocess.Popen([sys.executable, "-c", PUBLISHER, str(datasets), str(home), str(seconds)],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env, cwd=REPO)
    assert process.stdout.readline().strip() == "ready", process.stderr.read()
    return process


def check_published(home: Path) -> int:
    """Every catalogued release is complete and matches its record; return the current release."""
    con = catalogue_db.open_reader(home / "catalogue.duckdb")
    try:
        releases = con.execute("SELECT release, rows, data_sha256, path FROM releases ORDER BY release").fetchall()
        current = con.execute("SELECT release, rows FROM datasets WHERE id = 'grants'").fetchone()
    finally:
        con.close()
    assert [r[0] for r in releases] == list(range(1, len(releases) + 1))
    for release, rows, sha256, path in releases:
        data = home / path
        assert hashlib.sha256(data.read_bytes()).hexdigest() == sha256, f"release {release} changed on disk"
        assert pq.ParquetFile(data).metadata.num_rows == rows
    assert current == releases[-1][:2]
    sandbox = Sandbox(home)
    try:
        assert sandbox.query("SELECT count(*) AS n FROM grants").table.to_pylist() == [{"n": current[1]}]
    finally:
        sandbox.close()
    return current[0]


def test_a_publish_killed_at_random_moments_never_leaves_a_broken_or_half_release(declarations, home):
    datasets = declare(declarations)
    first = start_publisher(datasets, home)
    started = time.perf_counter()
    assert first.communicate(timeout=120)[0].strip() == "1"
    duration = time.perf_counter() - started
    randomness = random.Random(20261123)
    current, killed_mid_publish = 1, 0
    for _ in range(20):
        process = start_publisher(datasets, home)
        time.sleep(randomness.uniform(0.0, duration))
        process.send_signal(signal.SIGKILL)
        out, _ = process.communicate(timeout=60)
        finished = bool(out.strip())
        now = check_published(home)
        # a run that said it finished made exactly one release; a killed one made one (killed after its
        # commit) or none, never a broken one
        assert now == current + 1 if finished else now in (current, current + 1)
        killed_mid_publish += now == current
        current = now
    assert killed_mid_publish >= 10
    recovered = start_publisher(datasets, home)
    assert recovered.communicate(timeout=120)[0].strip() == str(current + 1)
    assert check_published(home) == current + 1
    leftovers = [p.name for p in (home / "releases" / "grants").iterdir() if p.name.startswith(".tmp")]
    assert leftovers == [] and not list(home.glob("catalogue.duckdb.tmp-*"))


READER = textwrap.dedent("""
    import json, sys, time
    from pathlib import Path
    import pyarrow.parquet as pq
    from catalog import catalogue_db
    from catalog.query import Sandbox
    home, seconds, ROWS = Path(sys.argv[1]), float(sys.argv[2]), int(sys.argv[3])
    seen, errors, reads, deadline = set(), [], 0, time.time() + seconds
    while time.time() < deadline:
        try:
            con = catalogue_db.open_reader(home / "catalogue.duckdb")
            release, rows = con.execute("SELECT release, rows FROM datasets WHERE id = 'grants'").fetchone()
            con.close()
            sandbox = Sandbox(home)
            counted = sandbox.query("SELECT count(*) AS n, sum(amount) AS s FROM grants").table.to_pylist()[0]
            manifest = json.loads((Path(sandbox.tables["grants"]).parent / "release.json").read_text())
            sandbox.close()
            if counted["n"] != manifest["rows"] or rows != ROWS:
                errors.append(f"release {manifest['release']}: read {counted['n']} rows of {manifest['rows']}")
            seen.add(release)
            reads += 1
        except Exception as exc:
            errors.append(repr(exc))
    print(json.dumps({"seen": sorted(seen), "errors": errors[:5], "reads": reads}))
""")


def test_readers_never_fail_while_releases_are_published_for_thirty_seconds(declarations, home):
    datasets = declare(declarations)
    start_publisher(datasets, home).communicate(timeout=120)
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    reader = subprocess.Popen([sys.executable, "-c", READER, str(home), "30", str(ROWS)], stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True, env=env, cwd=REPO)
    writer = start_publisher(datasets, home, seconds=30)
    written = writer.communicate(timeout=180)[0].split()
    out, err = reader.communicate(timeout=180)
    report = json.loads(out)
    assert report["errors"] == [], report["errors"]
    assert len(written) >= 5 and report["reads"] >= 30
    assert len(report["seen"]) >= 3
    check_published(home)
