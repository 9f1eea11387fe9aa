"""A small public dataset whose values try every export: formulas, quotes, line breaks, accents,
negative numbers, dates, times and gaps; and a restricted one beside it."""

from __future__ import annotations

from pathlib import Path

from catalog import flow
from catalog.spec import load_declarations

SCHEMA = {"fields": [
    {"name": "id", "type": "integer", "constraints": {"required": True, "unique": True}},
    {"name": "payee", "type": "string", "title": "Who was paid"},
    {"name": "note", "type": "string"},
    {"name": "amount", "type": "number"},
    {"name": "paid", "type": "date"},
    {"name": "logged", "type": "datetime"},
    {"name": "approved", "type": "boolean"},
], "primaryKey": ["id"]}
ROWS = ('id,payee,note,amount,paid,logged,approved\n'
        '1,Café Nord,=SUM(A1:A9),-12.5,2024-01-31,2024-01-31T09:15:00,true\n'
        '2,+Plus Ltd,"-minus, with a comma",3,2024-02-01,2024-02-01T17:00:30,false\n'
        '3,@handle,"\tstarts with a tab",0.1,2024-02-29,,true\n'
        '4,"Quote ""Co""","two\nlines",1000000,2024-03-01,2024-03-01T00:00:00,\n')
SHARING = {"agencies": ["county"], "legal_basis": "Data sharing agreement DSA-2026-04"}


def publish_ledger(declarations, home: Path, second_release: bool = False) -> Path:
    """Publish ``ledger`` (public) and ``casefiles`` (restricted) into ``home``; optionally a second
    ledger release with one more row."""
    declarations.agency()
    declarations.agency("county", name="County Council")
    declarations.dataset(folder="ledger", id="ledger", title="Payments ledger", schema=SCHEMA,
                         files={"2024.csv": ROWS}, privacy=None, keywords=["payments"])
    declarations.dataset(folder="casefiles", id="casefiles", title="Case files shared with the county",
                         access="restricted", sharing=SHARING)
    loaded = load_declarations(declarations.root)
    for spec in loaded.datasets.values():
        assert flow.publish_delivery(loaded, spec, home).status == "published"
    if second_release:
        path = loaded.datasets["ledger"].folder / "data" / "2024.csv"
        path.write_text(ROWS + "5,Late Ltd,added later,7,2024-04-01,2024-04-01T08:00:00,true\n", encoding="utf-8")
        assert flow.publish_delivery(loaded, loaded.datasets["ledger"], home).status == "published"
    return home


def published_home(tmp_path_factory) -> Path:
    """A home with the ledger (two releases) and the restricted case files, published once."""
    import pytest

    from tests.conftest import TEST_KEY, Declarations

    root = tmp_path_factory.mktemp("ledger")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("GOVCAT_PSEUDONYM_KEY", TEST_KEY)
        return publish_ledger(Declarations(root / "datasets"), root / "home", second_release=True)


def copy_of(home: Path, tmp_path: Path) -> Path:
    """A copy a test may change (its exports, its files) without touching the others' home."""
    import shutil

    shutil.copytree(home, tmp_path / "home")
    return tmp_path / "home"
