"""The measures' history: a snapshot at every publish and every day, reproducible from the catalogue's
history; ``govcat metrics``; and the daily Dagster schedule that takes the snapshot."""

import datetime as dt
import json

import shutil

import dagster as dg
import pytest

from catalog import flow, metric_history, metrics
from catalog.cli import main
from catalog.spec import load_declarations
from pipelines.definitions import defs as code_location
from tests.conftest import GOOD_ROWS, TEST_KEY, Declarations

THREE = GOOD_ROWS + "3,East,cy@example.org,7\n"
BAD = "id,district,email,amount\nx,North,a@example.org,1\n"


@pytest.fixture(scope="module")
def original(tmp_path_factory):
    """City publishes grants (release 1, after the 30 June 2024 it announced); the county's restricted
    case files are published too. Done once; each test works on its own copy."""
    root = tmp_path_factory.mktemp("history")
    written = Declarations(root / "datasets")
    written.agency()
    written.agency("county", name="County Council")
    written.dataset(files={"2024-01.csv": GOOD_ROWS}, publishing={"calendar": ["2024-06-30"]})
    written.dataset(folder="cases", agency="county", id="case_files", title="Case files of the county",
                    access="restricted", sharing={"agencies": ["city"], "legal_basis": "Agreement DSA-1"})
    loaded = load_declarations(written.root)
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("GOVCAT_PSEUDONYM_KEY", TEST_KEY)
        for spec in loaded.datasets.values():
            assert flow.publish_delivery(loaded, spec, root / "home").status == "published"
    return root


@pytest.fixture
def published(original, tmp_path, home):
    """A copy of the published home and its declarations; ``home`` (the fixture) is the copy."""
    shutil.copytree(original / "datasets", tmp_path / "datasets")
    shutil.copytree(original / "home", home)
    return load_declarations(tmp_path / "datasets")


@pytest.fixture
def declared(published, tmp_path):
    return tmp_path / "datasets"


def recomputed(home, declarations, snapshot: dict) -> list[dict]:
    again = metrics.report(metrics.evidence(home, declarations), dt.datetime.fromisoformat(snapshot["at"]))
    return again["agencies"]


def test_every_publish_leaves_a_snapshot_that_can_be_computed_again_later(published, declared, home):
    first = metric_history.history(home)
    assert [s["trigger"] for s in first] and {s["trigger"] for s in first} == {"publish"}
    last_before = first[-1]
    city = next(row for row in last_before["agencies"] if row["agency"] == "city")
    assert (city["datasets_public"], city["validation_pass_rate_numerator"], city["punctuality_numerator"],
            city["punctuality_denominator"]) == (1, 1, 0, 1)      # 30 June 2024 was announced; we publish later

    (declared / "city" / "grants" / "data" / "2024-02.csv").write_text(BAD)
    assert flow.publish_delivery(published, published.datasets["grants"], home).status == "quarantined"
    (declared / "city" / "grants" / "data" / "2024-03.csv").write_text(THREE)
    assert flow.publish_delivery(published, published.datasets["grants"], home).status == "published"

    history = metric_history.history(home)
    assert len(history) >= len(first) + 2
    city_now = next(row for row in history[-1]["agencies"] if row["agency"] == "city")
    assert (city_now["validation_pass_rate_numerator"], city_now["validation_pass_rate_denominator"]) == (2, 3)
    assert (city_now["quarantines"], city_now["quarantines_unfixed"]) == (1, 0)
    # Every snapshot, old ones included, is what the catalogue's history gives as of its time.
    for snapshot in history:
        assert recomputed(home, published, snapshot) == snapshot["agencies"]
    text = (home / "metrics" / "snapshots.jsonl").read_text()
    assert "case_files" not in text and "Case files" not in text
    county = next(row for row in history[-1]["agencies"] if row["agency"] == "county")
    assert (county["datasets_public"], county["excluded_not_public"]) == (0, 1)


def test_a_refresh_that_changes_nothing_adds_no_snapshot_but_each_day_does(published, home):
    from catalog.store import Store

    before = len(metric_history.history(home))
    Store(home).refresh(published)
    assert len(metric_history.history(home)) == before
    tomorrow = dt.datetime.now(dt.timezone.utc) + dt.timedelta(days=1)
    assert metric_history.take(home, published, trigger="publish", at=tomorrow) is not None    # a new day
    assert metric_history.take(home, published, trigger="publish", at=tomorrow) is None        # same day, same
    assert metric_history.take(home, published, trigger="daily", at=tomorrow) is not None      # always kept
    assert [s["trigger"] for s in metric_history.history(home)][-2:] == ["publish", "daily"]


def test_a_torn_last_line_spoils_only_itself(published, home):
    path = metric_history.snapshots_path(home)
    good = len(metric_history.history(home))
    with path.open("a") as handle:
        handle.write('{"at": "2026-01-01T00:00:00+00:00", "agen')          # a crash in the middle of a line
    assert len(metric_history.history(home)) == good
    assert metric_history.take(home, published, trigger="manual") is not None
    assert len(metric_history.history(home)) == good + 1
    assert path.read_text().count("\n") == good + 2                    # the torn line was ended first


def test_trend_rows_carry_value_numerator_and_denominator(published, home):
    rows = metric_history.trend(metric_history.history(home), "punctuality", agency="city")
    assert rows and all(r["agency"] == "city" for r in rows)
    assert (rows[-1]["value"], rows[-1]["numerator"], rows[-1]["denominator"]) == (0.0, 0, 1)


# --------------------------------------------------------------------------- govcat metrics


def run(capsys, *args) -> tuple[int, str, str]:
    code = main(["metrics", *args])
    out, err = capsys.readouterr()
    return code, out, err


def test_metrics_json_is_one_object_per_agency_with_counts_beside_every_share(published, declared, home, capsys):
    code, out, _ = run(capsys, "--json", "--home", str(home), "--datasets", str(declared))
    assert code == 0
    rows = json.loads(out)
    assert [r["agency"] for r in rows] == ["city", "county"]       # county has nothing public: unranked, last
    city = rows[0]
    for name in metrics.RATIOS:
        assert {name, f"{name}_numerator", f"{name}_denominator"} <= set(city)
    # contact, distribution, keywords, publisher, theme; no spatial or temporal coverage is declared
    assert (city["metadata_recommended_numerator"], city["metadata_recommended_denominator"]) == (5, 7)
    assert city["rank"] == 1 and city["score_weights"] == metrics.WEIGHTS
    applied = {name: w for name, w in city["score_weights"].items() if city[name] is not None}
    weighed = sum(w * (city[name] / 5 if name == "five_star" else city[name]) for name, w in applied.items())
    assert city["score"] == round(100 * weighed / sum(applied.values()), 1)
    assert city["score_weight_applied"] == sum(applied.values())
    assert "case_files" not in out


def test_metrics_at_a_past_time_sees_only_what_had_happened(published, declared, home, capsys):
    before = "2000-01-01"
    code, out, _ = run(capsys, "--json", "--at", before, "--home", str(home), "--datasets", str(declared))
    city = json.loads(out)[0]
    assert code == 0 and city["validation_pass_rate_denominator"] == 0 and city["timeliness_denominator"] == 0
    assert city["metadata_recommended_numerator"] == 4                # no distribution yet


def test_metrics_text_table_and_snapshot(published, declared, home, capsys):
    count = len(metric_history.history(home))
    code, out, err = run(capsys, "--snapshot", "--home", str(home), "--datasets", str(declared))
    assert code == 0
    lines = out.splitlines()
    assert lines[0].startswith("Transparency measures as of ")
    city = next(line for line in lines if " city " in line)
    assert "0/1 0%" in city and "5/7 71%" in city                   # dates met; metadata
    assert "score: timeliness 15" in out
    assert err.strip() == "snapshot recorded" and len(metric_history.history(home)) == count + 1
    assert metric_history.history(home)[-1]["trigger"] == "manual"


@pytest.mark.parametrize("args, said", [
    (["--at", "2999-01-01"], "is in the future"),
    (["--at", "last tuesday"], "is not an ISO date or time"),
    (["--at", "2020-01-01", "--snapshot"], "--snapshot records the measures of now"),
])
def test_metrics_refuses_bad_options_with_a_reason(published, declared, home, capsys, args, said):
    code, out, err = run(capsys, *args, "--home", str(home), "--datasets", str(declared))
    assert code == 1 and out == "" and said in err and "Traceback" not in err


def test_metrics_before_anything_is_published_says_so(declarations, home, capsys):
    declarations.agency()
    declarations.dataset()
    code, _, err = run(capsys, "--home", str(home), "--datasets", str(declarations.root))
    assert code == 1 and "nothing is published yet" in err and str(home) not in err


# --------------------------------------------------------------------------- the daily schedule


def test_the_code_location_snapshots_the_measures_every_day(published, declared, home, monkeypatch):
    monkeypatch.setenv("GOVCAT_DATASETS", str(declared))
    monkeypatch.setenv("GOVCAT_HOME", str(home))
    defs = code_location()
    schedule = defs.resolve_schedule_def("transparency_snapshot_daily")
    assert schedule.cron_schedule == "15 0 * * *" and schedule.execution_timezone == "UTC"
    instance = dg.DagsterInstance.ephemeral()
    context = dg.build_schedule_context(instance=instance, scheduled_execution_time=dt.datetime(
        2026, 3, 10, 0, 15, tzinfo=dt.timezone.utc))
    (request,) = schedule.evaluate_tick(context).run_requests
    job = defs.resolve_job_def(schedule.job_name)
    path = metric_history.snapshots_path(home)
    path.unlink()
    assert job.execute_in_process(run_config=request.run_config, instance=instance).success
    (snapshot,) = metric_history.history(home)
    assert snapshot["trigger"] == "daily"
