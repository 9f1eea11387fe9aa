"""Publishing: new releases only when data changes, quarantines leave the current release alone,
and a reader never sees a half-written release."""

import multiprocessing
import time
from pathlib import Path

import pyarrow.parquet as pq

from catalog import catalogue_db, flow
from catalog.spec import load_declarations
from catalog.store import Store
from tests.conftest import GOOD_ROWS


def setup(declarations, files):
    declarations.agency()
    declarations.dataset(files=files)
    loaded = load_declarations(declarations.root)
    return loaded, loaded.datasets["grants"]


def catalogue_row(home):
    con = catalogue_db.open_reader(home / "catalogue.duckdb")
    return con.execute("SELECT release, rows, status, status_reason FROM datasets WHERE id = 'grants'").fetchone()


def test_unchanged_source_makes_no_new_release(declarations, home):
    loaded, spec = setup(declarations, {"2024.csv": GOOD_ROWS})
    assert flow.publish_delivery(loaded, spec, home).describe() == "published release 1 (2 rows from 2024.csv)"
    assert flow.next_delivery(spec, Store(home)) is None
    again = flow.publish_delivery(loaded, spec, home)
    assert (again.status, again.release) == ("unchanged", 1)
    assert sorted(p.name for p in (home / "releases" / "grants").iterdir() if not p.name.startswith(".")) == ["1"]
    assert catalogue_row(home) == (1, 2, "published", None)


def test_changed_source_makes_the_next_release(declarations, home):
    loaded, spec = setup(declarations, {"2024.csv": GOOD_ROWS})
    flow.publish_delivery(loaded, spec, home)
    (spec.folder / "data" / "2024.csv").write_text(GOOD_ROWS + "3,East,cy@example.org,1\n")
    assert flow.next_delivery(spec, Store(home)).name == "2024.csv"
    outcome = flow.publish_delivery(loaded, spec, home)
    assert (outcome.status, outcome.release, outcome.rows) == ("published", 2, 3)
    assert catalogue_row(home)[:3] == (2, 3, "published")


def test_deliveries_are_processed_in_order_and_a_bad_one_is_quarantined(declarations, home):
    bad = "id,district,email,amount\n1,North,a@example.org,-1\n"
    loaded, spec = setup(declarations, {"2024-a.csv": GOOD_ROWS, "2024-b.csv": bad})
    store = Store(home)
    assert flow.next_delivery(spec, store).name == "2024-a.csv"
    flow.publish_delivery(loaded, spec, home, "2024-a.csv")
    assert flow.next_delivery(spec, store).name == "2024-b.csv"
    outcome = flow.publish_delivery(loaded, spec, home, "2024-b.csv")
    assert outcome.status == "quarantined"
    assert outcome.reason == "1 error: row 2, field 'amount': the value is below the minimum of 0"
    assert flow.next_delivery(spec, store) is None
    release, rows, status, reason = catalogue_row(home)
    assert (release, rows, status, reason) == (1, 2, "quarantined", outcome.reason)
    assert pq.ParquetFile(home / "releases" / "grants" / "1" / "data.parquet").metadata.num_rows == 2
    flow.publish_delivery(loaded, spec, home, "2024-b.csv")
    assert len([a for a in store.history("grants") if a.outcome == "quarantined"]) == 1


def test_changed_rules_reprocess_the_newest_delivery(declarations, home):
    loaded, spec = setup(declarations, {"2024.csv": GOOD_ROWS})
    flow.publish_delivery(loaded, spec, home)
    declarations.dataset(privacy={"drop": ["email"]}, files={})
    loaded = load_declarations(declarations.root)
    spec = loaded.datasets["grants"]
    assert flow.next_delivery(spec, Store(home)).name == "2024.csv"
    outcome = flow.publish_delivery(loaded, spec, home)
    assert (outcome.status, outcome.release) == ("published", 2)


def test_leftovers_of_a_killed_run_are_invisible_and_cleaned(declarations, home):
    loaded, spec = setup(declarations, {"2024.csv": GOOD_ROWS})
    flow.publish_delivery(loaded, spec, home)
    orphan = home / "releases" / "grants" / "2"
    orphan.mkdir()
    (orphan / "data.parquet").write_bytes(b"half a file")
    (home / "releases" / "grants" / ".tmp-3-999").mkdir()
    (home / "catalogue.duckdb.tmp-999").write_bytes(b"half a catalogue")
    assert catalogue_row(home)[0] == 1
    (spec.folder / "data" / "2024.csv").write_text(GOOD_ROWS + "3,East,cy@example.org,1\n")
    assert flow.publish_delivery(loaded, spec, home).release == 2
    assert pq.ParquetFile(orphan / "data.parquet").metadata.num_rows == 3
    assert not list(home.glob("catalogue.duckdb.tmp-*")) and not list((home / "releases" / "grants").glob(".tmp-*"))


def _read_continuously(catalogue: str, seconds: float, queue, last: int = 0) -> None:
    """Open the catalogue and the current release over and over, for ``seconds`` or until release
    ``last`` shows; report what was seen."""
    home = Path(catalogue).parent
    seen, errors, deadline = set(), [], time.time() + seconds
    while time.time() < deadline and last not in seen:
        try:
            con = catalogue_db.open_reader(Path(catalogue))
            release, rows, path = con.execute("SELECT r.release, r.rows, r.path FROM datasets d "
                                              "JOIN current_releases r ON r.dataset_id = d.id").fetchone()
            con.close()
            actual = pq.ParquetFile(home / path).metadata.num_rows
            if actual != rows:
                errors.append(f"release {release}: catalogue says {rows} rows, file has {actual}")
            seen.add(release)
        except Exception as exc:  # noqa: BLE001 - any failure is what this test looks for
            errors.append(repr(exc))
    queue.put((sorted(seen), errors))


def test_a_reader_in_another_process_never_fails_while_releases_are_published(declarations, home):
    loaded, spec = setup(declarations, {"2024.csv": GOOD_ROWS})
    flow.publish_delivery(loaded, spec, home)
    queue = multiprocessing.get_context("spawn").Queue()
    reader = multiprocessing.get_context("spawn").Process(
        target=_read_continuously, args=(str(home / "catalogue.duckdb"), 120.0, queue, 7))
    reader.start()
    rows = GOOD_ROWS
    for number in range(3, 9):
        rows += f"{number},East,p{number}@example.org,1\n"
        (spec.folder / "data" / "2024.csv").write_text(rows)
        assert flow.publish_delivery(loaded, spec, home).status == "published"
    seen, errors = queue.get(timeout=150)
    reader.join(timeout=10)
    assert errors == []
    assert len(seen) >= 2 and seen[-1] == 7
