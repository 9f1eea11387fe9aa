"""The one resource every asset uses: where declarations are read and data is published."""

from __future__ import annotations

from pathlib import Path

import dagster as dg

from catalog import settings
from catalog.spec import Declarations, DatasetSpec, load_declarations


class GovcatResource(dg.ConfigurableResource):
    """Empty values fall back to GOVCAT_HOME / GOVCAT_DATASETS, then ./.govcat and ./datasets."""

    home: str = ""
    datasets: str = ""

    def home_path(self) -> Path:
        return settings.home_dir(self.home or None)

    def declarations(self) -> Declarations:
        return load_declarations(settings.datasets_dir(self.datasets or None))

    def spec(self, dataset_id: str) -> tuple[Declarations, DatasetSpec]:
        """The declarations as they are now, and the dataset's own (it may have been edited since load)."""
        declarations = self.declarations()
        if dataset_id not in declarations.datasets:
            raise dg.Failure(f"dataset {dataset_id!r} is no longer declared")
        return declarations, declarations.datasets[dataset_id]
