"""The declaration loader: every bad declaration is refused with the file and the key named."""

import pytest

from catalog.errors import SpecError
from catalog.spec import load_declarations


def problems_of(root) -> list[str]:
    with pytest.raises(SpecError) as caught:
        load_declarations(root)
    return caught.value.problems


def test_a_good_declaration_loads_with_every_field(declarations):
    declarations.agency()
    declarations.dataset(temporal={"start": "2024-01-01", "end": "2024-12-31"}, spatial="Testville")
    loaded = load_declarations(declarations.root)
    spec = loaded.datasets["grants"]
    assert spec.agency == "city" and spec.title == "Community grants"
    assert spec.licence.id == "CC-BY-4.0" and spec.frequency == "monthly"
    assert (spec.temporal_start, spec.temporal_end, spec.spatial) == ("2024-01-01", "2024-12-31", "Testville")
    assert spec.privacy.pseudonymise == ("email",) and spec.published_names == ["id", "district", "email", "amount"]
    assert [p.name for p in spec.source.deliveries(spec.folder)] == ["2024-01.csv"]


def test_unknown_key_names_the_file_and_the_key_and_suggests_a_fix(declarations):
    declarations.agency()
    declarations.dataset(license="CC-BY-4.0")
    (problem,) = problems_of(declarations.root)
    assert problem.startswith("datasets/city/grants/dataset.yaml: license: unknown key")
    assert "did you mean 'licence'" in problem


def test_missing_required_field_is_named(declarations):
    declarations.agency()
    declarations.dataset(title=None)
    assert problems_of(declarations.root) == ["datasets/city/grants/dataset.yaml: title: missing (required)"]


def test_missing_nested_field_is_named_with_its_path(declarations):
    declarations.agency()
    declarations.dataset(contact={"name": "Grants Office"})
    assert problems_of(declarations.root) == ["datasets/city/grants/dataset.yaml: contact.email: missing (required)"]


def test_invalid_schema_is_refused_with_the_field_named(declarations):
    declarations.agency()
    declarations.dataset(schema={"fields": [{"name": "id", "type": "integr"}]}, privacy=None)
    (problem,) = problems_of(declarations.root)
    assert problem.startswith("datasets/city/grants/schema.yaml: ")
    assert 'field type "integr" is not supported' in problem


def test_schema_constraint_of_the_wrong_type_is_refused(declarations):
    declarations.agency()
    schema = {"fields": [{"name": "id", "type": "integer", "constraints": {"minimum": "zero"}}]}
    declarations.dataset(schema=schema, privacy=None)
    assert problems_of(declarations.root) == [
        "datasets/city/grants/schema.yaml: fields[1] (id).constraints.minimum: 'zero' is not a valid integer"]


def test_missing_schema_file_is_refused(declarations):
    declarations.agency()
    declarations.dataset(schema=None, privacy=None)
    (problem,) = problems_of(declarations.root)
    assert problem.startswith("datasets/city/grants/schema.yaml: missing")


def test_unknown_agency_is_refused(declarations):
    declarations.agency()
    declarations.dataset(agency="nowhere")
    assert problems_of(declarations.root) == [
        "datasets/nowhere/grants/dataset.yaml: agency: unknown agency 'nowhere': "
        "there is no datasets/nowhere/agency.yaml"]


def test_agency_slug_must_match_its_folder(declarations):
    declarations.agency(slug="city")
    (declarations.root / "city" / "agency.yaml").write_text(
        (declarations.root / "city" / "agency.yaml").read_text().replace("slug: city", "slug: town"))
    declarations.dataset()
    assert problems_of(declarations.root) == [
        "datasets/city/agency.yaml: slug: 'town' must equal the agency's folder name 'city'"]


def test_duplicate_id_names_both_files(declarations):
    declarations.agency()
    declarations.agency("county")
    declarations.dataset(folder="grants")
    declarations.dataset(folder="grants-copy", agency="county")
    assert problems_of(declarations.root) == [
        "datasets/county/grants-copy/dataset.yaml: id: duplicate id 'grants', "
        "already declared in datasets/city/grants/dataset.yaml"]


def test_source_file_missing_is_refused(declarations):
    declarations.agency()
    declarations.dataset(source={"path": "data/spending.csv"})
    assert problems_of(declarations.root) == [
        "datasets/city/grants/dataset.yaml: source.path: source file missing: nothing matches "
        "'data/spending.csv' in datasets/city/grants"]


def test_source_path_may_not_leave_the_dataset_folder(declarations):
    declarations.agency()
    declarations.dataset(source={"path": "../../city/agency.yaml", "format": "csv"})
    (problem,) = problems_of(declarations.root)
    assert "source.path: '../../city/agency.yaml' must be a path inside the dataset's folder" in problem


def test_privacy_rule_on_an_unknown_column_is_refused(declarations):
    declarations.agency()
    declarations.dataset(privacy={"drop": ["emial"]})
    assert problems_of(declarations.root) == [
        "datasets/city/grants/dataset.yaml: privacy.drop: unknown column 'emial' (did you mean 'email'?)"]


def test_values_outside_the_vocabularies_are_refused(declarations):
    declarations.agency()
    declarations.dataset(theme="sport", update_frequency="fortnightly", licence="WTFPL")
    found = problems_of(declarations.root)
    assert [p.split(": ")[1] for p in found] == ["theme", "licence", "update_frequency"]
    assert all("choose one of" in p for p in found)


def test_yaml_syntax_error_gives_line_and_column(declarations):
    declarations.agency()
    declarations.dataset(raw_yaml="id: grants\ntitle: [unclosed\n")
    (problem,) = problems_of(declarations.root)
    assert problem.startswith("datasets/city/grants/dataset.yaml: is not valid YAML at line 3")


def test_a_key_written_twice_is_refused(declarations):
    declarations.agency()
    declarations.dataset(raw_yaml="id: grants\nid: other\n")
    (problem,) = problems_of(declarations.root)
    assert "key 'id' appears twice (first on line 1)" in problem


def test_never_half_loads_every_problem_is_reported_at_once(declarations):
    declarations.agency()
    declarations.dataset(folder="good", id="good_one")
    declarations.dataset(folder="bad", id="Bad Id")
    declarations.dataset(folder="worse", id="worse", licence=None)
    found = problems_of(declarations.root)
    assert len(found) == 2
    assert any("bad/dataset.yaml: id: 'Bad Id' is not a valid id" in p for p in found)
    assert any("worse/dataset.yaml: licence: missing (required)" in p for p in found)


def test_missing_declarations_folder_is_an_error(tmp_path):
    assert problems_of(tmp_path / "nowhere") == [f"{tmp_path / 'nowhere'}: the declarations folder does not exist"]


def test_fingerprint_ignores_descriptions_but_not_types(declarations):
    declarations.agency()
    declarations.dataset()
    before = load_declarations(declarations.root).datasets["grants"].fingerprint()
    schema_file = declarations.root / "city" / "grants" / "schema.yaml"
    schema_file.write_text(schema_file.read_text().replace("District of the city", "Ward of the city"))
    assert load_declarations(declarations.root).datasets["grants"].fingerprint() == before
    schema_file.write_text(schema_file.read_text().replace("type: number", "type: integer"))
    assert load_declarations(declarations.root).datasets["grants"].fingerprint() != before


def test_published_schema_drops_removed_fields_and_retypes_pseudonyms(declarations):
    declarations.agency()
    declarations.dataset(privacy={"drop": ["id"], "pseudonymise": ["email"]})
    published = load_declarations(declarations.root).datasets["grants"].published_schema()
    assert [f["name"] for f in published["fields"]] == ["district", "email", "amount"]
    email = published["fields"][1]
    assert email["type"] == "string" and "Pseudonymised" in email["description"]
    assert "primaryKey" not in published
