"""The Dagster side: one asset chain per dataset, grouped by agency, with blocking checks."""

import dagster as dg
import pytest

from catalog.spec import load_declarations
from catalog.store import Store
from pipelines.definitions import build_defs
from pipelines.factory import job_name
from pipelines.resources import GovcatResource
from tests.conftest import DEMO_DATASETS, GOOD_ROWS


@pytest.fixture
def instance():
    return dg.DagsterInstance.ephemeral()


def test_demo_definitions_load_with_a_chain_per_dataset_grouped_by_agency(monkeypatch):
    monkeypatch.setenv("GOVCAT_DATASETS", str(DEMO_DATASETS))
    from pipelines.definitions import defs

    definitions = defs()
    dg.Definitions.validate_loadable(definitions)
    declarations = load_declarations(DEMO_DATASETS)
    graph = definitions.resolve_asset_graph()
    keys = {key.to_user_string() for key in graph.get_all_asset_keys()}
    expected = {f"{s.agency}/{s.id}/{stage}" for s in declarations.datasets.values()
                for stage in ("pulled", "protected", "published")}
    assert keys == expected
    for key in graph.get_all_asset_keys():
        assert graph.get(key).group_name == key.path[0]
    checks = {(spec.asset_key.path[-1], spec.name, spec.blocking)
              for spec in (graph.get_check_spec(key) for key in graph.asset_check_keys)}
    assert checks == {("pulled", "schema_valid", True), ("protected", "privacy_guard", True)}
    for spec in declarations.datasets.values():
        assert definitions.resolve_job_def(job_name(spec.id))


def run(declarations, home, instance, dataset_id="grants"):
    loaded = load_declarations(declarations.root)
    defs = build_defs(loaded, GovcatResource(home=str(home), datasets=str(declarations.root)))
    return defs.resolve_job_def(job_name(dataset_id)).execute_in_process(instance=instance, raise_on_error=False)


def test_a_good_delivery_runs_the_whole_chain(declarations, home, instance):
    declarations.agency()
    declarations.dataset(files={"2024.csv": GOOD_ROWS})
    result = run(declarations, home, instance)
    assert result.success
    materialized = {e.asset_key.path[-1] for e in result.get_asset_materialization_events()}
    assert materialized == {"pulled", "protected", "published"}
    assert {(c.check_name, c.passed) for c in result.get_asset_check_evaluations()} == {
        ("schema_valid", True), ("privacy_guard", True)}
    assert Store(home).current_release("grants").release == 1


def test_failed_validation_blocks_publish_and_is_quarantined(declarations, home, instance):
    declarations.agency()
    declarations.dataset(files={"2024.csv": "id,district,email,amount\nx,North,a@example.org,1\n"})
    result = run(declarations, home, instance)
    assert not result.success
    assert {e.asset_key.path[-1] for e in result.get_asset_materialization_events()} == {"pulled"}
    (check,) = result.get_asset_check_evaluations()
    assert (check.check_name, check.passed, check.severity) == ("schema_valid", False, dg.AssetCheckSeverity.ERROR)
    assert check.metadata["summary"].value == ("2 errors: row 2, field 'id': the value is not a valid integer; "
                                               "row 2: the primary key is empty")
    (attempt,) = Store(home).history("grants")
    assert (attempt.outcome, attempt.stage) == ("quarantined", "validation")
    assert not (home / "staging" / "grants").exists() or not any((home / "staging" / "grants").iterdir())


def test_failed_privacy_guard_blocks_publish(declarations, home, instance):
    declarations.agency()
    declarations.dataset(files={"2024.csv": GOOD_ROWS}, privacy=None)
    result = run(declarations, home, instance)
    assert not result.success
    assert {e.asset_key.path[-1] for e in result.get_asset_materialization_events()} == {"pulled", "protected"}
    guard = next(c for c in result.get_asset_check_evaluations() if c.check_name == "privacy_guard")
    assert not guard.passed and "column 'email' looks personal" in guard.metadata["summary"].value
    assert Store(home).current_release("grants") is None
