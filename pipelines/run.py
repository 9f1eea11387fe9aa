"""Running a dataset's publish job in-process, as ``govcat publish`` does.

Runs are recorded in a persistent Dagster instance (``$DAGSTER_HOME``, else
``<home>/dagster``), so ``dagster dev`` pointed at the same instance shows them.
"""

from __future__ import annotations

import os
import warnings
from pathlib import Path

import dagster as dg

from catalog.errors import CatalogError
from catalog.flow import discard_staging, next_delivery
from catalog.settings import HomeLayout
from catalog.sources import deliveries, file_sha256
from catalog.spec import Declarations, DatasetSpec
from catalog.store import Outcome, Store
from pipelines.definitions import build_defs
from pipelines.factory import asset_key, job_name
from pipelines.resources import GovcatResource

OUR_ERRORS = {cls.__name__ for cls in (CatalogError, *CatalogError.__subclasses__())}
QUIET = {"loggers": {"console": {"config": {"log_level": "CRITICAL"}}}}


def instance_for(home: Path) -> dg.DagsterInstance:
    if os.environ.get("DAGSTER_HOME"):
        return dg.DagsterInstance.get()
    folder = HomeLayout(home).dagster
    folder.mkdir(parents=True, exist_ok=True)
    config = folder / "dagster.yaml"
    if not config.exists():
        config.write_text("telemetry:\n  enabled: false\n")
    return dg.DagsterInstance.from_config(str(folder))


class Publisher:
    """Publishes deliveries of declared datasets through their Dagster jobs."""

    def __init__(self, declarations: Declarations, home: Path, instance: dg.DagsterInstance | None = None):
        warnings.filterwarnings("ignore", module=r"dagster(\..*)?$")
        self.declarations, self.home = declarations, Path(home)
        self.store = Store(self.home)
        self.defs = build_defs(declarations, GovcatResource(home=str(self.home), datasets=str(declarations.root)))
        self.instance = instance or instance_for(self.home)

    def publish_pending(self, spec: DatasetSpec, note: str = "") -> list[Outcome]:
        """Every delivery due, oldest first; [unchanged] when none is."""
        if spec.source.url is not None:  # only the server knows whether a new file is due: the pull step asks it
            return [self.publish(spec, "", note)]
        outcomes: list[Outcome] = []
        for _ in range(len(spec.source.deliveries(spec.folder))):
            delivery = next_delivery(spec, self.store)
            if delivery is None:
                break
            outcomes.append(self.publish(spec, delivery.name, note))
            if outcomes[-1].status == "unchanged":
                break
        if not outcomes:
            history = self.store.history(spec.id)
            current = self.store.current_release(spec.id)
            last = history[-1] if history else None
            held = f"{last.delivery} stays quarantined" if last and last.outcome == "quarantined" else None
            outcomes.append(Outcome(spec.id, "unchanged", release=current.release if current else None, reason=held))
        return outcomes

    def publish(self, spec: DatasetSpec, delivery: str, note: str = "") -> Outcome:
        """Run the dataset's job on one delivery; raise CatalogError when the run failed for another reason."""
        pulled_op = "__".join(asset_key(spec, "pulled").path)
        published_op = "__".join(asset_key(spec, "published").path)
        run_config = {**QUIET, "ops": {pulled_op: {"config": {"delivery": delivery}},
                                       published_op: {"config": {"note": note}}}}
        job = self.defs.resolve_job_def(job_name(spec.id))
        result = job.execute_in_process(run_config=run_config, instance=self.instance, raise_on_error=False)
        discard_staging(self.home, spec.id, result.run_id)
        if result.success:
            (materialization,) = result.asset_materializations_for_node(published_op)
            return Outcome(**materialization.metadata["outcome"].value)
        path = next((p for p in deliveries(spec, self.home) if p.name == delivery or not delivery), None)
        history = self.store.history(spec.id)
        last = history[-1] if history else None
        if last and last.outcome == "quarantined" and last.delivery == (delivery or last.delivery) \
                and last.source_sha256 in ((file_sha256(path) if path else None), ""):  # "": the fetch failed
            return Outcome(spec.id, "quarantined", delivery=last.delivery, reason=last.reason)
        raise CatalogError(f"the run failed: {_failure(result)}")


def _failure(result: dg.ExecuteInProcessResult) -> str:
    for event in result.all_events:
        if event.is_step_failure and event.step_failure_data and event.step_failure_data.error:
            error = event.step_failure_data.error
            while error.cause is not None and error.cls_name == "DagsterExecutionStepExecutionError":
                error = error.cause
            first_line = error.message.strip().splitlines()[0]
            if error.cls_name in OUR_ERRORS:  # already written for people: drop "catalog.errors.X: "
                return first_line.split(": ", 1)[-1]
            return first_line
    return "see the run's logs in Dagster"
