"""Dagster orchestration of govcat: one asset chain per declared dataset."""

from pipelines.definitions import defs

__all__ = ["defs"]
