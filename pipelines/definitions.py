"""The code location: every declared dataset's asset chain, its drop-folder sensor and update
schedule, and the resource they share."""

from __future__ import annotations

import dagster as dg

from catalog import settings
from catalog.references import referenced_ids
from catalog.spec import Declarations, load_declarations
from pipelines.factory import dataset_defs
from pipelines.resources import GovcatResource
from pipelines.triggers import daily_measures, drop_folder_sensor, release_embargoed, transparency_snapshot, update_schedule


def build_defs(declarations: Declarations, resource: GovcatResource) -> dg.Definitions:
    per_dataset = [dataset_defs(spec, declarations.agencies[spec.agency],
                                [declarations.datasets[i] for i in referenced_ids(spec) if i in declarations.datasets])
                   for spec in declarations.datasets.values()]
    specs = list(declarations.datasets.values())
    schedules = [s for s in (update_schedule(spec) for spec in specs) if s is not None]
    triggers = dg.Definitions(sensors=[*(drop_folder_sensor(spec) for spec in specs), release_embargoed],
                              schedules=schedules)
    return dg.Definitions.merge(*per_dataset, triggers, dg.Definitions(resources={"govcat": resource}))


@dg.definitions
def defs() -> dg.Definitions:
    """The code location: every dataset's definitions, and the daily snapshot of the transparency
    measures (catalogue-wide, so not part of ``build_defs``, which ``govcat publish`` also uses)."""
    catalogue_wide = dg.Definitions(jobs=[transparency_snapshot], schedules=[daily_measures])
    return dg.Definitions.merge(build_defs(load_declarations(settings.datasets_dir()), GovcatResource()),
                                catalogue_wide)
