"""Drop folders and schedules: files a steward drops become runs; pulled sources follow their frequency."""

import os
import time

import dagster as dg

from catalog import inbox
from catalog.spec import load_declarations
from catalog.store import Store
from pipelines.definitions import build_defs
from pipelines.resources import GovcatResource
from tests.conftest import GOOD_ROWS

THREE = GOOD_ROWS + "3,East,cy@example.org,7\n"


def definitions(declarations, home):
    loaded = load_declarations(declarations.root)
    return loaded, build_defs(loaded, GovcatResource(home=str(home), datasets=str(declarations.root)))


def drop(home, name, text, settled=True):
    folder = home / "inbox" / "city" / "grants"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_text(text)
    # a settled file was last written a minute ago; one still being copied keeps being written (its time
    # is kept ahead of the clock, so a slow test machine cannot let it settle between two ticks)
    stamp = time.time() - 60 if settled else time.time() + 600
    os.utime(path, (stamp, stamp))
    return path


def tick(defs, instance):
    """One sensor evaluation, then the runs it asked for, as the Dagster daemon would launch them."""
    sensor = defs.resolve_sensor_def("grants_drop_folder")
    with dg.build_sensor_context(instance=instance, resources={"govcat": defs.resources["govcat"]}) as context:
        result = sensor.evaluate_tick(context)
    job = defs.resolve_job_def("grants_publish")
    for request in result.run_requests or []:
        assert job.execute_in_process(run_config=request.run_config, instance=instance, raise_on_error=False)
    return result


def test_a_dropped_file_is_published_and_the_same_file_dropped_twice_makes_one_release(declarations, home):
    declarations.agency()
    declarations.dataset(files={"2024.csv": GOOD_ROWS})
    loaded, defs = definitions(declarations, home)
    instance = dg.DagsterInstance.ephemeral()
    drop(home, "march.csv", THREE)
    drop(home, "still-copying.csv", THREE, settled=False)
    result = tick(defs, instance)
    assert len(result.run_requests) == 1
    assert Store(home).current_release("grants").release == 1
    drop(home, "march-again.csv", THREE)
    assert len(tick(defs, instance).run_requests) == 1
    tick(defs, instance)                           # files what the last runs processed
    assert [a.release for a in Store(home).history("grants") if a.outcome == "published"] == [1]
    folder = home / "inbox" / "city" / "grants"
    assert sorted(p.name.split("-", 1)[1] for p in (folder / "published").iterdir()) == ["march-again.csv", "march.csv"]
    assert not list((folder / "processing").iterdir())
    assert (folder / "still-copying.csv").exists()       # not settled yet: left for a later tick


def test_a_bad_dropped_file_is_filed_as_quarantined(declarations, home):
    declarations.agency()
    declarations.dataset(files={"2024.csv": GOOD_ROWS})
    _, defs = definitions(declarations, home)
    instance = dg.DagsterInstance.ephemeral()
    drop(home, "bad.csv", "id,district,email,amount\nx,North,a@example.org,1\n")
    tick(defs, instance)
    tick(defs, instance)
    (filed,) = (home / "inbox" / "city" / "grants" / "quarantined").iterdir()
    assert filed.name.endswith("-bad.csv")
    assert Store(home).history("grants")[-1].outcome == "quarantined"


def test_nothing_dropped_skips_with_a_reason(declarations, home):
    declarations.agency()
    declarations.dataset(files={"2024.csv": GOOD_ROWS})
    _, defs = definitions(declarations, home)
    result = tick(defs, dg.DagsterInstance.ephemeral())
    assert not result.run_requests and "nothing new in inbox/city/grants/" in result.skip_message


def test_pulled_sources_get_a_schedule_from_their_update_frequency(declarations, home):
    declarations.agency()
    declarations.dataset(source={"url": "https://data.city.example.org/grants.csv"}, update_frequency="weekly",
                         files={})
    declarations.dataset(folder="permits", id="permits", files={"2024.csv": GOOD_ROWS})
    _, defs = definitions(declarations, home)
    schedule = defs.resolve_schedule_def("grants_update")
    assert schedule.cron_schedule == "0 6 * * 1" and schedule.job_name == "grants_publish"
    names = {s.name for s in defs.schedules}
    assert names == {"grants_update"}                # a file source has no schedule: its files come by hand


def test_a_dataset_that_needs_approval_is_held_by_the_pipeline_not_published(declarations, home):
    from catalog import pending
    declarations.agency()
    declarations.dataset(files={"2024.csv": GOOD_ROWS}, publishing={"approval": True})
    _, defs = definitions(declarations, home)
    result = defs.resolve_job_def("grants_publish").execute_in_process(instance=dg.DagsterInstance.ephemeral())
    assert result.success
    (materialization,) = result.asset_materializations_for_node("city__grants__published")
    assert materialization.metadata["status"].value == "held"
    assert Store(home).current_release("grants") is None
    (held,) = pending.held(home, "grants")
    assert held.awaiting_approval and held.uploaded_by == "pipeline"
