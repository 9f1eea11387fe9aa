"""The code location: every declared dataset's asset chain, and the resource they share."""

from __future__ import annotations

import dagster as dg

from catalog import settings
from catalog.references import referenced_ids
from catalog.spec import Declarations, load_declarations
from pipelines.factory import dataset_defs
from pipelines.resources import GovcatResource


def build_defs(declarations: Declarations, resource: GovcatResource) -> dg.Definitions:
    per_dataset = [dataset_defs(spec, declarations.agencies[spec.agency],
                                [declarations.datasets[i] for i in referenced_ids(spec) if i in declarations.datasets])
                   for spec in declarations.datasets.values()]
    return dg.Definitions.merge(*per_dataset, dg.Definitions(resources={"govcat": resource}))


@dg.definitions
def defs() -> dg.Definitions:
    return build_defs(load_declarations(settings.datasets_dir()), GovcatResource())
