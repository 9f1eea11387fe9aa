"""The house rules a machine can check: catalog/ is a plain library; dashboards/ never reaches Dagster."""

import subprocess
import sys

import pytest

from tests.conftest import REPO


def modules_loaded_by(statement: str) -> set[str]:
    probe = f"import sys; {statement}; print(' '.join(sorted(sys.modules)))"
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, cwd=REPO, check=True)
    return {name.split(".")[0] for name in done.stdout.split()}


@pytest.mark.parametrize("module", [
    "catalog", "catalog.cli", "catalog.flow", "catalog.store", "catalog.query", "catalog.search", "catalog.browse",
    "catalog.pending", "catalog.feeds", "catalog.inbox", "catalog.accounts", "catalog.audit",
])
def test_catalog_imports_neither_dagster_nor_streamlit(module):
    assert not modules_loaded_by(f"import {module}") & {"dagster", "streamlit", "pipelines", "dashboards"}


def test_dashboards_never_import_dagster_or_pipelines():
    assert not modules_loaded_by("import dashboards.data") & {"dagster", "pipelines"}
    for page in (REPO / "dashboards").rglob("*.py"):
        text = page.read_text()
        assert "import dagster" not in text and "from pipelines" not in text and "import pipelines" not in text, page
