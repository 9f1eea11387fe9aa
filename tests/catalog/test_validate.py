"""Validation reports name row, field and rule in frictionless's terms, without cell values."""

import json

import duckdb

from catalog import casting
from catalog.sources import pull
from catalog.spec import load_declarations
from catalog.validate import validate_pulled, write_steward_report

ROWS_WITH_ERRORS = (
    "id,district,email,amount\n"
    "1,North,ann@example.org,10\n"
    "2,South,secret@example.org,-5\n"       # amount below its minimum
    "2,East,bob@example.org,abc\n"          # duplicate id, amount not a number
    "4,West\n"                              # missing cells
)


def validated(declarations, tmp_path, text: str, schema=None):
    declarations.agency()
    kwargs = {"schema": schema} if schema else {}
    declarations.dataset(files={"2024.csv": text}, privacy=None, **kwargs)
    spec = load_declarations(declarations.root).datasets["grants"]
    return spec, validate_pulled(spec, pull(spec, spec.source.deliveries(spec.folder)[0], tmp_path / "stage"))[0]


def test_valid_delivery(declarations, tmp_path):
    _, report = validated(declarations, tmp_path, "id,district,email,amount\n1,North,a@example.org,1\n")
    assert report.valid and report.rows == 1 and report.summary() == "valid: 1 rows"


def test_each_error_has_frictionless_type_row_and_field(declarations, tmp_path):
    _, report = validated(declarations, tmp_path, ROWS_WITH_ERRORS)
    assert not report.valid
    found = {(p.type, p.row, p.field_name) for p in report.problems}
    assert found == {
        ("constraint-error", 3, "amount"), ("unique-error", 4, "id"), ("type-error", 4, "amount"),
        ("primary-key", 4, None), ("missing-cell", 5, "email"), ("missing-cell", 5, "amount"),
    }
    minimum = next(p for p in report.problems if p.type == "constraint-error")
    assert minimum.rule == 'constraint "minimum" is "0"'
    assert minimum.message == "row 3, field 'amount': the value is below the minimum of 0"


def test_report_never_carries_a_cell_value(declarations, tmp_path):
    _, report = validated(declarations, tmp_path, ROWS_WITH_ERRORS)
    text = str(report.to_json()) + report.summary(limit=100)
    assert "secret@example.org" not in text and "abc" not in text and "-5" not in text


def test_header_that_differs_from_the_schema_is_reported(declarations, tmp_path):
    _, report = validated(declarations, tmp_path, "id,ward,email,amount\n1,North,a@example.org,1\n")
    assert [(p.type, p.field_number) for p in report.problems] == [("incorrect-label", 2)]


def test_typed_load_follows_the_schema(tmp_path):
    schema = {"fields": [
        {"name": "n", "type": "number", "decimalChar": ",", "groupChar": "."},
        {"name": "i", "type": "integer", "bareNumber": False},
        {"name": "b", "type": "boolean", "trueValues": ["oui"], "falseValues": ["non"]},
        {"name": "d", "type": "date", "format": "%d/%m/%Y"},
        {"name": "t", "type": "datetime"},
        {"name": "s", "type": "string"},
    ], "missingValues": ["", "n/a"]}
    path = tmp_path / "typed.csv"
    path.write_text('n,i,b,d,t,s\n"1.234,5",€12,oui,31/01/2024,2024-01-31T10:00:00Z,n/a\n'
                    ',7 units,non,01/02/2024,2024-02-01T00:00:00,x\n')
    sql = casting.typed_select(schema, casting.read_text_csv(path, ["n", "i", "b", "d", "t", "s"], ","))
    rows = duckdb.connect().execute(sql).fetchall()
    assert [tuple(map(str, r)) for r in rows] == [
        ("1234.5", "12", "True", "2024-01-31", "2024-01-31 10:00:00", "None"),
        ("None", "7", "False", "2024-02-01", "2024-02-01 00:00:00", "x"),
    ]


def test_broken_rules_are_said_in_words(declarations, tmp_path):
    schema = {"fields": [
        {"name": "id", "type": "string", "constraints": {"required": True, "pattern": "G-[0-9]+"}},
        {"name": "district", "type": "string", "constraints": {"enum": ["North", "South"]}},
        {"name": "email", "type": "string", "constraints": {"maxLength": 5}},
        {"name": "amount", "type": "date", "format": "%d/%m/%Y"},
    ]}
    _, report = validated(declarations, tmp_path, "id,district,email,amount\n,West,abcdefg,2024-01-31\nX1,North,a,\n",
                          schema=schema)
    assert [p.message for p in report.problems] == [
        "row 2, field 'id': the value is missing, but the field is required",
        "row 2, field 'district': the value is not one of: North, South",
        "row 2, field 'email': the value is longer than 5 characters",
        "row 2, field 'amount': the value is not a valid date in the form %d/%m/%Y",
        "row 3, field 'id': the value does not match the pattern G-[0-9]+",
    ]


def test_errors_grouped_by_field_and_rule_with_a_hint_and_no_values(declarations, tmp_path):
    _, report = validated(declarations, tmp_path, ROWS_WITH_ERRORS)
    groups = {(g["field"], g["type"], g["rule"]): g for g in report.groups}
    assert groups[("amount", "constraint-error", "minimum")]["rows"] == [3]
    assert groups[("email", "missing-cell", "missing-cell")]["count"] == 1
    assert all(g["hint"] for g in report.groups)
    assert "secret@example.org" not in json.dumps(report.to_json())


def test_the_stewards_report_keeps_the_values_and_frictionlesss_report(declarations, tmp_path):
    declarations.agency()
    declarations.dataset(files={"2024.csv": ROWS_WITH_ERRORS}, privacy=None)
    spec = load_declarations(declarations.root).datasets["grants"]
    report, full = validate_pulled(spec, pull(spec, spec.source.deliveries(spec.folder)[0], tmp_path / "stage"))
    write_steward_report(report, full, tmp_path / "steward.json")
    saved = json.loads((tmp_path / "steward.json").read_text())
    minimum = next(g for g in saved["groups"] if g["rule"] == "minimum")
    assert minimum["examples"] == [{"row": 3, "value": "-5"}]
    assert saved["frictionless"]["valid"] is False and saved["frictionless"]["tasks"][0]["errors"]


def test_the_error_cap_is_reported_and_still_rejects(declarations, tmp_path, monkeypatch):
    monkeypatch.setenv("GOVCAT_ERROR_LIMIT", "2")
    _, report = validated(declarations, tmp_path, ROWS_WITH_ERRORS)
    assert not report.valid and report.truncated and report.error_count == 2
