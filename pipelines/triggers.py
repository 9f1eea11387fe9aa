"""What starts a dataset's job besides a person: its drop folder (a sensor) and its update
frequency (a schedule, for sources pulled over HTTP(S)). Also the daily snapshot of the
transparency measures (``catalog.metric_history``), which publishes add to as they happen.

The drop-folder sensor claims each settled file (``catalog.inbox``), so a file is handed to
exactly one run, and files the deliveries whose runs have an outcome into ``published/`` or
``quarantined/``.
"""

from __future__ import annotations

import dagster as dg

from catalog import inbox, metric_history, pending
from catalog.errors import StoreError
from catalog.spec import DatasetSpec
from pipelines.factory import asset_key, job_name
from pipelines.resources import GovcatResource

# The hour of day each frequency runs at: early, before people look, once the agencies' exports are out.
CRON = {
    "continuous": "0 * * * *",
    "daily": "0 6 * * *",
    "weekly": "0 6 * * 1",
    "monthly": "0 6 1 * *",
    "quarterly": "0 6 1 1,4,7,10 *",
    "biannual": "0 6 1 1,7 *",
    "annual": "0 6 1 1 *",
}
SENSOR_INTERVAL_SECONDS = 30


def pull_config(spec: DatasetSpec, delivery: str) -> dict:
    return {"ops": {"__".join(asset_key(spec, "pulled").path): {"config": {"delivery": delivery}}}}


def drop_folder_sensor(spec: DatasetSpec) -> dg.SensorDefinition:
    @dg.sensor(name=f"{spec.id}_drop_folder", job_name=job_name(spec.id),
               minimum_interval_seconds=SENSOR_INTERVAL_SECONDS, default_status=dg.DefaultSensorStatus.RUNNING,
               description=f"New files in the drop folder inbox/{spec.agency}/{spec.id}/ become runs")
    def sensor(context: dg.SensorEvaluationContext, govcat: GovcatResource):
        home = govcat.home_path()
        filed = inbox.file_processed(spec, home)
        if filed:
            context.log.info(f"filed: {filed}")
        requests = []
        for path in inbox.waiting(spec, home):
            claimed = inbox.claim(spec, home, path)
            requests.append(dg.RunRequest(run_key=claimed.name, run_config=pull_config(spec, claimed.name),
                                          tags={"govcat/delivery": path.name, "govcat/source": "drop folder"}))
        if not requests:
            return dg.SkipReason(f"nothing new in inbox/{spec.agency}/{spec.id}/")
        return requests

    return sensor


def update_schedule(spec: DatasetSpec) -> dg.ScheduleDefinition | None:
    """A schedule for a pulled (HTTP) source whose frequency is regular; None otherwise."""
    cron = CRON.get(spec.frequency)
    if spec.source.url is None or cron is None:
        return None
    return dg.ScheduleDefinition(name=f"{spec.id}_update", job_name=job_name(spec.id), cron_schedule=cron,
                                 execution_timezone="UTC", default_status=dg.DefaultScheduleStatus.RUNNING,
                                 run_config=pull_config(spec, ""),
                                 description=f"Pull {spec.source.url} {spec.frequency}, as declared")


@dg.sensor(name="release_embargoed", minimum_interval_seconds=300, default_status=dg.DefaultSensorStatus.RUNNING,
           description="Publish held releases whose embargo has passed (and that need no approval)")
def release_embargoed(context: dg.SensorEvaluationContext, govcat: GovcatResource):
    outcomes = pending.release_due(govcat.declarations(), govcat.home_path())
    for outcome in outcomes:
        context.log.info(f"{outcome.dataset_id}: {outcome.describe()}")
    return dg.SkipReason(f"released {len(outcomes)} held release(s)" if outcomes else "nothing is due")


SNAPSHOT_CRON = "15 0 * * *"   # just after midnight UTC: each day's measures, whether or not anything was published


@dg.op(description="Add the transparency measures of now to their history (<home>/metrics/snapshots.jsonl)")
def take_measures_snapshot(context, govcat: GovcatResource) -> None:
    try:
        taken = metric_history.take(govcat.home_path(), govcat.declarations(), trigger="daily")
    except StoreError as exc:
        context.log.info(f"no snapshot: {exc}")
        return
    context.log.info("snapshot recorded" if taken else "unchanged since the last snapshot today")


@dg.job(name="transparency_snapshot", description="Snapshot the transparency measures of every agency")
def transparency_snapshot():
    take_measures_snapshot()


daily_measures = dg.ScheduleDefinition(
    name="transparency_snapshot_daily", job=transparency_snapshot, cron_schedule=SNAPSHOT_CRON,
    execution_timezone="UTC", default_status=dg.DefaultScheduleStatus.RUNNING,
    description="Every day, the transparency measures as of that moment, for their trends")
