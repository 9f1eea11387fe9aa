"""Row filters: checked against a release's columns, run as parameters, shown as runnable SQL, kept in links."""

from __future__ import annotations

import csv
import datetime as dt
import io

import pytest

from catalog import filters as flt
from catalog import flow
from catalog.errors import QueryError
from catalog.query import Sandbox
from catalog.spec import load_declarations
from catalog.table_view import release_columns
from tests.conftest import TEST_KEY, Declarations

TABLE = "works"
DISTRICTS = ["North", "South", "O'Brien Park", "East ~ West"]
SCHEMA = {"fields": [
    {"name": "id", "type": "integer", "constraints": {"required": True, "unique": True}},
    {"name": "district", "type": "string"},
    {"name": "note", "type": "string"},
    {"name": "amount", "type": "number"},
    {"name": "paid_on", "type": "date"},
    {"name": "logged_at", "type": "datetime"},
    {"name": "at_time", "type": "time"},
    {"name": "urgent", "type": "boolean"},
    {"name": "latitude", "type": "number"},
    {"name": "longitude", "type": "number"},
], "primaryKey": ["id"]}


def _rows() -> list[dict]:
    """120 street works, every column kind, some values missing; deterministic."""
    rows = []
    for i in range(1, 121):
        rows.append({
            "id": i, "district": DISTRICTS[i % 4],
            "note": None if i % 5 == 0 else f"Repair {i}: {'Bins' if i % 3 == 0 else 'road surface'}",
            "amount": None if i % 17 == 0 else round((i * 37) % 100 + i / 8, 2),
            "paid_on": dt.date(2024, 1, 1) + dt.timedelta(days=i * 5),
            "logged_at": dt.datetime(2024, 1, 1) + dt.timedelta(hours=i * 61),
            "at_time": dt.time((i * 7) % 24, (i * 13) % 60),
            "urgent": i % 3 == 0,
            "latitude": 50.9 + (i % 6) / 1000, "longitude": 6.3 + (i % 4) / 1000,
        })
    return rows


ROWS = _rows()


def _csv(rows: list[dict]) -> str:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=list(rows[0]), lineterminator="\n")
    writer.writeheader()
    for row in rows:
        cells = {}
        for name, value in row.items():
            if value is None:
                cells[name] = ""
            elif isinstance(value, bool):
                cells[name] = "true" if value else "false"
            elif isinstance(value, (dt.datetime, dt.time)):
                cells[name] = value.isoformat(timespec="seconds")
            else:
                cells[name] = value
        writer.writerow(cells)
    return out.getvalue()


def publish_works(root) -> tuple:
    """Publish the street-works table into ``root/home`` (and a non-public dataset beside it);
    returns (home, the rows as Python values)."""
    declarations, home = Declarations(root / "datasets"), root / "home"
    declarations.agency()
    declarations.dataset(folder=TABLE, id=TABLE, title="Street works", schema=SCHEMA, privacy=None,
                         description="Street works paid by the city, by district.",
                         files={"2024.csv": _csv(ROWS)})
    declarations.dataset(folder="hidden", id="hidden_works", access="non-public", title="Street works (internal)")
    loaded = load_declarations(declarations.root)
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("GOVCAT_PSEUDONYM_KEY", TEST_KEY)
        for spec in loaded.datasets.values():
            outcome = flow.publish_delivery(loaded, spec, home)
            assert outcome.status == "published", outcome
    return home, ROWS


@pytest.fixture(scope="module")
def sandbox(tmp_path_factory) -> Sandbox:
    home, _ = publish_works(tmp_path_factory.mktemp("filters"))
    return Sandbox(home)


@pytest.fixture(scope="module")
def kinds(sandbox) -> dict[str, str]:
    return release_columns(sandbox, TABLE)


def matching_ids(sandbox, kinds, filters, inline: bool) -> list[int]:
    pieces = ["SELECT id FROM works", *flt.where(flt.compile_filters(filters, kinds)), " ORDER BY id"]
    sql, params = flt.render(pieces, inline=inline)
    assert not (inline and params)
    return sandbox.query(sql, params).table.column("id").to_pylist()


def test_each_column_gets_the_kind_of_its_published_type(kinds):
    assert kinds == {"id": "number", "district": "text", "note": "text", "amount": "number", "paid_on": "date",
                     "logged_at": "datetime", "at_time": "time", "urgent": "boolean", "latitude": "number",
                     "longitude": "number"}


DAY = dt.date(2024, 3, 1)
MOMENT = dt.datetime(2024, 3, 1, 12, 0)
LOGGED_DAY = ROWS[23]["logged_at"].date()
CASES = [
    (flt.Filter("district", "eq", ("O'Brien Park",)), lambda r: r["district"] == "O'Brien Park"),
    (flt.Filter("district", "in", ("North", "East ~ West")), lambda r: r["district"] in ("North", "East ~ West")),
    (flt.Filter("note", "contains", ("BINS",)), lambda r: r["note"] is not None and "bins" in r["note"].lower()),
    (flt.Filter("note", "starts", ("repair 1",)), lambda r: r["note"] is not None and r["note"].startswith("Repair 1")),
    (flt.Filter("note", "empty"), lambda r: not r["note"]),
    (flt.Filter("note", "notempty"), lambda r: bool(r["note"])),
    (flt.Filter("amount", "eq", (str(ROWS[9]["amount"]),)), lambda r: r["amount"] == ROWS[9]["amount"]),
    (flt.Filter("amount", "ne", ("50",)), lambda r: r["amount"] is not None and r["amount"] != 50),
    (flt.Filter("amount", "lt", ("40",)), lambda r: r["amount"] is not None and r["amount"] < 40),
    (flt.Filter("amount", "le", ("40.5",)), lambda r: r["amount"] is not None and r["amount"] <= 40.5),
    (flt.Filter("amount", "gt", ("1e2",)), lambda r: r["amount"] is not None and r["amount"] > 100),
    (flt.Filter("amount", "ge", (" 60 ",)), lambda r: r["amount"] is not None and r["amount"] >= 60),
    (flt.Filter("amount", "between", ("20", "30.25")),
     lambda r: r["amount"] is not None and 20 <= r["amount"] <= 30.25),
    (flt.Filter("paid_on", "on", ("2024-03-01",)), lambda r: r["paid_on"] == DAY),
    (flt.Filter("paid_on", "before", ("2024-03-01",)), lambda r: r["paid_on"] < DAY),
    (flt.Filter("paid_on", "after", ("2024-03-01",)), lambda r: r["paid_on"] > DAY),
    (flt.Filter("paid_on", "between", ("2024-02-10", "2024-04-30")),
     lambda r: dt.date(2024, 2, 10) <= r["paid_on"] <= dt.date(2024, 4, 30)),
    (flt.Filter("logged_at", "on", (LOGGED_DAY.isoformat(),)), lambda r: r["logged_at"].date() == LOGGED_DAY),
    (flt.Filter("logged_at", "before", ("2024-03-01 12:00",)), lambda r: r["logged_at"] < MOMENT),
    (flt.Filter("logged_at", "after", ("2024-03-01",)), lambda r: r["logged_at"].date() > DAY),
    (flt.Filter("logged_at", "after", ("2024-03-01T12:00:00",)), lambda r: r["logged_at"] > MOMENT),
    (flt.Filter("logged_at", "between", ("2024-02-01", "2024-02-29")),
     lambda r: dt.date(2024, 2, 1) <= r["logged_at"].date() <= dt.date(2024, 2, 29)),
    (flt.Filter("at_time", "before", ("06:30",)), lambda r: r["at_time"] < dt.time(6, 30)),
    (flt.Filter("at_time", "between", ("08:00", "17:59:59")),
     lambda r: dt.time(8) <= r["at_time"] <= dt.time(17, 59, 59)),
    (flt.Filter("urgent", "true"), lambda r: r["urgent"]),
    (flt.Filter("urgent", "false"), lambda r: not r["urgent"]),
    (flt.Filter("amount", "missing"), lambda r: r["amount"] is None),
    (flt.Filter("note", "present"), lambda r: r["note"] is not None),
]


@pytest.mark.parametrize("chosen, keep", CASES, ids=[f.describe() for f, _ in CASES])
def test_each_operator_keeps_exactly_the_rows_it_says(sandbox, kinds, chosen, keep):
    expected = [r["id"] for r in ROWS if keep(r)]
    assert expected, "every case must match some rows"
    assert matching_ids(sandbox, kinds, [chosen], inline=False) == expected
    assert matching_ids(sandbox, kinds, [chosen], inline=True) == expected, "the SQL shown gives the same rows"


def test_filters_combine_with_and(sandbox, kinds):
    chosen = [flt.Filter("urgent", "true"), flt.Filter("amount", "gt", ("50",)),
              flt.Filter("district", "eq", ("North",))]
    expected = [r["id"] for r in ROWS if r["urgent"] and (r["amount"] or 0) > 50 and r["district"] == "North"]
    assert expected and matching_ids(sandbox, kinds, chosen, inline=True) == expected


@pytest.mark.parametrize("value", ["x' OR '1'='1", "North'; SELECT 1; --", "\\'", "North\" OR 1=1 --"])
def test_hostile_values_are_only_values(sandbox, kinds, value):
    chosen = [flt.Filter("district", "eq", (value,))]
    assert matching_ids(sandbox, kinds, chosen, inline=False) == []
    assert matching_ids(sandbox, kinds, chosen, inline=True) == []


def test_values_never_enter_the_executed_sql(kinds):
    sql, params = flt.render(flt.compile_filters([flt.Filter("district", "eq", ("Bobby'); DROP",))], kinds))
    assert sql == '"district" = ?' and params == ["Bobby'); DROP"]


@pytest.mark.parametrize("chosen", [
    [flt.Filter("district", "in", ("North", "South")), flt.Filter("note", "contains", ("50% off ~ today",))],
    [flt.Filter("a~b%c", "eq", ("~",)), flt.Filter("amount", "between", ("1", "2"))],
    [flt.Filter("note", "empty"), flt.Filter("Straße", "eq", ("é ü",))],
])
def test_a_link_gives_back_the_same_filters(chosen):
    encoded = flt.to_query(chosen)
    assert all(part.count("~") == len(f.values) + 1 for part, f in zip(encoded, chosen))
    assert flt.from_query(encoded) == chosen


@pytest.mark.parametrize("chosen, message", [
    (flt.Filter("distrikt", "eq", ("North",)),
     "no column “distrikt” in this release; its columns are: id, district"),
    (flt.Filter("amount", "contains", ("5",)), "“contains” does not apply to the number column “amount”"),
    (flt.Filter("urgent", "eq", ("yes",)), "does not apply to the boolean column “urgent”; use one of: is true"),
    (flt.Filter("amount", "gt", ("1,5",)), "“1,5” is not a number such as 1234.5"),
    (flt.Filter("amount", "gt", ("nan",)), "“nan” is not a number"),
    (flt.Filter("paid_on", "on", ("1 March 2024",)), "“1 March 2024” is not a date written 2024-03-31"),
    (flt.Filter("paid_on", "on", ("2024-02-30",)), "is not a date"),
    (flt.Filter("at_time", "before", ("half past six",)), "is not a time written 14:30"),
    (flt.Filter("amount", "between", ("30", "20")), "the first value must not be after the second; swap them"),
    (flt.Filter("amount", "between", ("30",)), "takes two values; it was given 1"),
    (flt.Filter("note", "empty", ("x",)), "takes no value"),
    (flt.Filter("district", "in", ()), "needs between 1 and 200 values"),
    (flt.Filter("district", "sounds like", ("x",)), "the operator “sounds like” does not apply"),
])
def test_a_bad_filter_says_what_to_change(kinds, chosen, message):
    with pytest.raises(QueryError) as raised:
        flt.compile_filters([chosen], kinds)
    assert message in str(raised.value)


@pytest.mark.parametrize("encoded, message", [
    (["district"], "is not written column~operator~value"),
    (["~eq~x"], "is not written column~operator~value"),
    ([f"district~eq~{n}" for n in range(flt.MAX_FILTERS + 1)], f"at most {flt.MAX_FILTERS} filters"),
])
def test_a_malformed_link_is_refused_with_a_reason(encoded, message):
    with pytest.raises(QueryError, match=message):
        flt.from_query(encoded)


def test_literals_read_back_as_the_same_values(sandbox):
    values = [3, -2.5, 1e20, "it's", True, dt.date(2024, 2, 29), dt.datetime(2024, 2, 29, 23, 59, 58), dt.time(6, 5, 4)]
    sql = "SELECT " + ", ".join(f"{flt.literal(v)} AS c{n}" for n, v in enumerate(values))
    assert list(sandbox.query(sql).table.to_pylist()[0].values()) == values
