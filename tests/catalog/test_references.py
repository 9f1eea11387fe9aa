"""Foreign keys to another published dataset: declared, ordered, and checked against its release."""

import dagster as dg
import pytest

from catalog.errors import SpecError
from catalog.references import publish_order
from catalog.spec import load_declarations
from catalog.store import Store
from pipelines.definitions import build_defs
from pipelines.factory import asset_key, job_name
from pipelines.resources import GovcatResource

DISTRICTS = {"fields": [
    {"name": "code", "type": "string", "constraints": {"required": True, "unique": True}},
    {"name": "district_name", "type": "string"},
    {"name": "officer_email", "type": "string"},
], "primaryKey": ["code"]}
DISTRICT_ROWS = "code,district_name,officer_email\nN,North,n@city.example.org\nS,South,s@city.example.org\n"


def grants_schema(reference: dict) -> dict:
    return {"fields": [
        {"name": "id", "type": "integer", "constraints": {"required": True, "unique": True}},
        {"name": "district", "type": "string"},
        {"name": "amount", "type": "number"},
    ], "primaryKey": ["id"], "foreignKeys": [{"fields": ["district"], "reference": reference}]}


def declare(declarations, grants_rows: str, reference: dict | None = None):
    declarations.agency()
    declarations.dataset(folder="districts", id="districts", title="City districts", schema=DISTRICTS,
                         files={"2024.csv": DISTRICT_ROWS}, privacy={"drop": ["officer_email"]})
    declarations.dataset(schema=grants_schema(reference or {"resource": "districts", "fields": ["code"]}),
                         files={"2024.csv": grants_rows}, privacy=None)


def problems_of(declarations) -> list[str]:
    with pytest.raises(SpecError) as raised:
        load_declarations(declarations.root)
    return raised.value.problems


@pytest.mark.parametrize("reference, expected", [
    ({"resource": "wards", "fields": ["code"]}, "no dataset has the id 'wards'"),
    ({"resource": "districts", "fields": ["ward"]}, "districts has no field 'ward'"),
    ({"resource": "districts", "fields": ["code", "district_name"]}, "does not match the reference fields"),
])
def test_a_reference_that_cannot_be_checked_is_a_declaration_problem(declarations, reference, expected):
    declare(declarations, "id,district,amount\n1,N,5\n", reference)
    (problem,) = problems_of(declarations)
    assert problem.startswith("datasets/city/grants/schema.yaml: ") and expected in problem


def test_a_reference_to_a_field_privacy_rules_change_or_of_another_type_is_refused(declarations):
    declare(declarations, "id,district,amount\n1,N,5\n", {"resource": "districts", "fields": ["officer_email"]})
    (problem,) = problems_of(declarations)
    assert "does not publish 'officer_email' as declared" in problem

    schema = {**DISTRICTS, "fields": [{**DISTRICTS["fields"][0], "type": "integer"}, *DISTRICTS["fields"][1:]]}
    declarations.dataset(folder="districts", id="districts", title="City districts", schema=schema,
                         files={"2024.csv": DISTRICT_ROWS}, privacy={"drop": ["officer_email"]})
    declarations.dataset(schema=grants_schema({"resource": "districts", "fields": ["code"]}),
                         files={"2024.csv": "id,district,amount\n1,N,5\n"}, privacy=None)
    (problem,) = problems_of(declarations)
    assert "'district' is a string but districts.code is a integer" in problem


def test_datasets_referring_to_each_other_in_a_ring_are_refused(declarations):
    declare(declarations, "id,district,amount\n1,N,5\n")
    ring = {**DISTRICTS, "foreignKeys": [{"fields": ["code"], "reference": {"resource": "grants", "fields": ["district"]}}]}
    declarations.dataset(folder="districts", id="districts", title="City districts", schema=ring,
                         files={"2024.csv": DISTRICT_ROWS}, privacy={"drop": ["officer_email"]})
    (problem,) = problems_of(declarations)
    assert "refer to each other in a ring" in problem and "districts -> grants -> districts" in problem


def test_referenced_datasets_are_published_first(declarations):
    declare(declarations, "id,district,amount\n1,N,5\n")
    loaded = load_declarations(declarations.root)
    grants, districts = loaded.datasets["grants"], loaded.datasets["districts"]
    assert [s.id for s in publish_order([grants, districts])] == ["districts", "grants"]
    assert [s.id for s in publish_order([districts, grants])] == ["districts", "grants"]


def run(declarations, home, dataset_id):
    loaded = load_declarations(declarations.root)
    defs = build_defs(loaded, GovcatResource(home=str(home), datasets=str(declarations.root)))
    return defs, defs.resolve_job_def(job_name(dataset_id)).execute_in_process(
        instance=dg.DagsterInstance.ephemeral(), raise_on_error=False)


def schema_check(result):
    (check,) = [c for c in result.get_asset_check_evaluations() if c.check_name == "schema_valid"]
    return check


def test_values_are_checked_against_the_referenced_release(declarations, home):
    declare(declarations, "id,district,amount\n1,N,5\n2,ZZ-secret,7\n3,,1\n4,S,2\n")
    defs, result = run(declarations, home, "grants")
    assert not result.success, "nothing to refer to before the districts are published"
    assert "foreign-key" in schema_check(result).metadata["errors_by_field_and_rule"].value
    graph = defs.resolve_asset_graph()
    assert asset_key(load_declarations(declarations.root).datasets["districts"], "published") in \
        graph.get(asset_key(load_declarations(declarations.root).datasets["grants"], "pulled")).parent_keys

    _, published = run(declarations, home, "districts")
    assert published.success
    _, result = run(declarations, home, "grants")
    assert not result.success
    check = schema_check(result)
    assert check.metadata["summary"].value == "1 error: row 3, field 'district': the value has no match in " \
                                              "districts"
    (problem,) = check.metadata["first_errors"].value
    assert problem["rule"] == "refers to districts (code)"
    assert "ZZ-secret" not in str(check.metadata)
    last = Store(home).history("grants")[-1]
    assert (last.outcome, last.stage) == ("quarantined", "validation")


def test_a_delivery_whose_values_all_exist_is_published(declarations, home):
    declare(declarations, "id,district,amount\n1,N,5\n2,S,7\n3,,1\n")
    run(declarations, home, "districts")
    _, result = run(declarations, home, "grants")
    assert result.success
    assert Store(home).current_release("grants").release == 1
