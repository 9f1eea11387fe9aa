"""Where declarations are read from and where published data lives.

Both come from, in order: an explicit argument (``--datasets`` / ``--home``), the
environment (``GOVCAT_DATASETS`` / ``GOVCAT_HOME``), then the defaults ``./datasets`` and
``./.govcat``. Everything is resolved when asked for, never at import time.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

DATASETS_ENV = "GOVCAT_DATASETS"
HOME_ENV = "GOVCAT_HOME"
DEFAULT_DATASETS = "datasets"
DEFAULT_HOME = ".govcat"


def datasets_dir(explicit: str | os.PathLike | None = None) -> Path:
    """The folder holding the agencies' declarations."""
    return _resolve(explicit, DATASETS_ENV, DEFAULT_DATASETS)


def home_dir(explicit: str | os.PathLike | None = None) -> Path:
    """The folder holding published releases, the catalogue and staging areas."""
    return _resolve(explicit, HOME_ENV, DEFAULT_HOME)


def _resolve(explicit, env_name: str, default: str) -> Path:
    chosen = explicit or os.environ.get(env_name) or default
    return Path(chosen).expanduser().resolve()


@dataclass(frozen=True)
class HomeLayout:
    """The files and folders inside a govcat home."""

    root: Path

    @property
    def catalogue(self) -> Path:
        return self.root / "catalogue.duckdb"

    @property
    def catalogue_lock(self) -> Path:
        return self.root / "catalogue.lock"

    @property
    def releases(self) -> Path:
        return self.root / "releases"

    @property
    def staging(self) -> Path:
        return self.root / "staging"

    @property
    def pending(self) -> Path:
        """Releases held for approval or an embargo: ``pending/<dataset>/<run id>/``."""
        return self.root / "pending"

    @property
    def downloads(self) -> Path:
        """The last good copy of each url source's file, one folder per dataset."""
        return self.root / "downloads"

    @property
    def rejected(self) -> Path:
        """Steward-only reports of rejected deliveries, with the offending values."""
        return self.root / "rejected"

    @property
    def secrets(self) -> Path:
        return self.root / "secrets"

    @property
    def dagster(self) -> Path:
        return self.root / "dagster"

    @property
    def subscribers(self) -> Path:
        """Who gets an email digest of new releases, and for which scope."""
        return self.root / "subscribers.yaml"

    @property
    def feeds(self) -> Path:
        """The Atom feeds of new releases, one file per scope."""
        return self.root / "feeds"

    @property
    def stewards(self) -> Path:
        """Steward accounts: user, agency, name, password hash, approver."""
        return self.root / "stewards.yaml"

    @property
    def sessions(self) -> Path:
        """Open steward sessions (token digests only) and recent failed sign-ins."""
        return self.root / "sessions.json"

    @property
    def audit_log(self) -> Path:
        return self.root / "audit" / "audit.log"

    @property
    def inbox(self) -> Path:
        """Drop folders: ``inbox/<agency>/<dataset>/``, where stewards put new deliveries."""
        return self.root / "inbox"

    def release_dir(self, dataset_id: str, release: int) -> Path:
        return self.releases / dataset_id / str(release)

    def staging_dir(self, dataset_id: str, run_id: str) -> Path:
        return self.staging / dataset_id / run_id
