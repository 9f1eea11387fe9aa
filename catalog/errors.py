"""Every error govcat raises on purpose, so callers can tell a steward's mistake from a bug.

    CatalogError
     ├── SpecError            a declaration under datasets/ is wrong (lists every problem found)
     ├── SourceError          a source could not be read (missing file, undecodable bytes, bad sheet)
     ├── PrivacyError         a privacy rule cannot be applied (no key, unknown column)
     ├── StoreError           the published store is missing or unreadable
     └── QueryError           a query was refused by the sandbox or failed
"""

from __future__ import annotations


class CatalogError(Exception):
    """Base of every error govcat raises on purpose; its message is meant for people."""


class SpecError(CatalogError):
    """One or more declarations are invalid; ``problems`` holds one line per problem."""

    def __init__(self, problems: list[str]):
        self.problems = list(problems)
        count = len(self.problems)
        head = f"{count} problem{'s' if count != 1 else ''} in the dataset declarations:"
        super().__init__("\n".join([head, *(f"  - {p}" for p in self.problems)]))


class SourceError(CatalogError):
    """A dataset's source could not be read."""


class PrivacyError(CatalogError):
    """A privacy rule could not be applied; nothing was published."""


class StoreError(CatalogError):
    """The published store is missing or cannot be read."""


class QueryError(CatalogError):
    """A query was refused by the sandbox, or failed while running."""
