"""Shared fixtures: small declaration folders built in tmp_path, and one published demo home."""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[1]
DEMO_DATASETS = REPO / "datasets"
TEST_KEY = "test-pseudonym-key-0123456789abcdef"

AGENCY = {"slug": "city", "name": "City of Testville", "homepage": "https://city.example.org",
          "contact": {"name": "Open Data Team", "email": "opendata@city.example.org"}}
SCHEMA = {"fields": [
    {"name": "id", "type": "integer", "constraints": {"required": True, "unique": True}},
    {"name": "district", "type": "string", "description": "District of the city"},
    {"name": "email", "type": "string"},
    {"name": "amount", "type": "number", "constraints": {"minimum": 0}},
], "primaryKey": ["id"]}
GOOD_ROWS = "id,district,email,amount\n1,North,ann@example.org,10.5\n2,South,bob@example.org,3\n"


def dataset_yaml(**overrides) -> dict:
    base = {
        "id": "grants", "title": "Community grants", "description": "Grants paid to community groups, by district.",
        "keywords": ["grants", "community"], "theme": "government", "licence": "CC-BY-4.0",
        "update_frequency": "monthly", "contact": {"name": "Grants Office", "email": "grants@city.example.org"},
        "source": {"path": "data/*.csv"}, "privacy": {"pseudonymise": {"columns": ["email"], "scope": "series"}},
    }
    base.update(overrides)
    return {k: v for k, v in base.items() if v is not None}


class Declarations:
    """Writes a declarations folder file by file, so each test states only what it changes."""

    def __init__(self, root: Path):
        self.root = root
        root.mkdir(parents=True, exist_ok=True)

    def agency(self, slug: str = "city", **overrides) -> Path:
        folder = self.root / slug
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / "agency.yaml"
        path.write_text(yaml.safe_dump({**AGENCY, "slug": slug, **overrides}, sort_keys=False))
        return path

    def dataset(self, folder: str = "grants", agency: str = "city", schema: dict | None = SCHEMA,
                files: dict[str, str] | None = None, raw_yaml: str | None = None, **overrides) -> Path:
        place = self.root / agency / folder
        (place / "data").mkdir(parents=True, exist_ok=True)
        path = place / "dataset.yaml"
        path.write_text(raw_yaml if raw_yaml is not None else yaml.safe_dump(dataset_yaml(**overrides), sort_keys=False))
        if schema is not None:
            (place / "schema.yaml").write_text(yaml.safe_dump(schema, sort_keys=False))
        for name, text in (files if files is not None else {"2024-01.csv": GOOD_ROWS}).items():
            (place / "data" / name).write_text(text, encoding="utf-8")
        return path


@pytest.fixture
def declarations(tmp_path) -> Declarations:
    return Declarations(tmp_path / "datasets")


@pytest.fixture
def home(tmp_path, monkeypatch) -> Path:
    monkeypatch.setenv("GOVCAT_PSEUDONYM_KEY", TEST_KEY)
    return tmp_path / "home"


@dataclass(frozen=True)
class DemoRun:
    home: Path
    returncode: int
    stdout: str
    stderr: str


@pytest.fixture(scope="session")
def demo(tmp_path_factory) -> DemoRun:
    """Every bundled demo dataset published once with ``govcat publish --all`` into a temporary home."""
    home = tmp_path_factory.mktemp("demo") / "home"
    env = {k: v for k, v in os.environ.items() if k not in ("DAGSTER_HOME", "GOVCAT_HOME", "GOVCAT_DATASETS")}
    env["GOVCAT_PSEUDONYM_KEY"] = TEST_KEY
    done = subprocess.run([sys.executable, "-m", "catalog.cli", "publish", "--all", "--home", str(home),
                           "--datasets", str(DEMO_DATASETS)], capture_output=True, text=True, env=env, cwd=REPO,
                          timeout=600)
    return DemoRun(home, done.returncode, done.stdout, done.stderr)
