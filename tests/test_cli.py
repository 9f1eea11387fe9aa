"""The govcat command: exit codes and messages a steward can act on."""

import json
import sys
from pathlib import Path

import pytest

from catalog.cli import main
from tests.conftest import GOOD_ROWS


def govcat(capsys, *args) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def test_the_command_is_installed_beside_python():
    assert (Path(sys.executable).parent / "govcat").exists()


def test_check_passes_on_good_declarations(declarations, capsys):
    declarations.agency()
    declarations.dataset()
    code, out, _ = govcat(capsys, "check", "--datasets", str(declarations.root))
    assert (code, out) == (0, "1 agencies and 1 datasets: every declaration is valid\n")


def test_check_fails_with_every_problem_listed(declarations, capsys, monkeypatch):
    declarations.agency()
    declarations.dataset(licence="nope", title=None)
    monkeypatch.setenv("GOVCAT_DATASETS", str(declarations.root))
    code, out, err = govcat(capsys, "check")
    assert code == 1 and out == ""
    assert "2 problems in the dataset declarations" in err
    assert "datasets/city/grants/dataset.yaml: title: missing (required)" in err
    assert "datasets/city/grants/dataset.yaml: licence: unknown licence 'nope'" in err


def test_publish_needs_ids_or_all(declarations, home, capsys):
    declarations.agency()
    declarations.dataset()
    code, _, err = govcat(capsys, "publish", "--datasets", str(declarations.root), "--home", str(home))
    assert code == 1 and "name the datasets to publish, or use --all" in err


def test_publish_unknown_id_suggests_the_right_one(declarations, home, capsys):
    declarations.agency()
    declarations.dataset()
    code, _, err = govcat(capsys, "publish", "grant", "--datasets", str(declarations.root), "--home", str(home))
    assert code == 1 and "unknown dataset 'grant' (did you mean 'grants'?)" in err


def test_publish_list_and_sql_through_dagster(declarations, home, capsys, monkeypatch):
    monkeypatch.delenv("DAGSTER_HOME", raising=False)
    declarations.agency()
    declarations.dataset(files={"2024-a.csv": GOOD_ROWS, "2024-b.csv": "id,district,email,amount\n1,N,a@b.org,x\n"})
    places = ["--datasets", str(declarations.root), "--home", str(home)]
    code, out, _ = govcat(capsys, "list", "--json", *places)
    assert code == 0 and json.loads(out)[0]["status"] == "unpublished"
    code, out, _ = govcat(capsys, "publish", "grants", "--note", "first release", *places)
    assert code == 3
    assert out.splitlines() == [
        "grants: published release 1 (2 rows from 2024-a.csv)",
        "grants: quarantined 2024-b.csv: 1 error: row 2, field 'amount': the value is not a valid number",
    ]
    assert (home / "dagster" / "dagster.yaml").exists()
    code, out, _ = govcat(capsys, "publish", "--all", *places)
    assert (code, out) == (0, "grants: unchanged (release 1 is current; 2024-b.csv stays quarantined)\n")
    code, out, _ = govcat(capsys, "list", "--json", *places)
    (record,) = json.loads(out)
    assert {k: record[k] for k in ("id", "agency", "title", "release", "rows", "status")} == {
        "id": "grants", "agency": "city", "title": "Community grants", "release": 1, "rows": 2,
        "status": "quarantined"}
    code, out, _ = govcat(capsys, "sql", "SELECT district, amount FROM grants ORDER BY id", "--json", *places)
    assert (code, json.loads(out)) == (0, [{"district": "North", "amount": 10.5}, {"district": "South", "amount": 3.0}])


def test_refused_query_exits_non_zero_with_the_reason(home, capsys):
    code, out, err = govcat(capsys, "sql", "DROP TABLE grants", "--home", str(home))
    assert (code, out) == (1, "")
    assert err == "govcat: only SELECT queries are allowed: the published data is read-only\n"


def test_failed_query_exits_non_zero_with_the_reason(home, capsys):
    code, _, err = govcat(capsys, "sql", "SELECT * FROM nothing_here", "--home", str(home))
    assert code == 1 and "no published table 'nothing_here'" in err and "Traceback" not in err


def test_keygen_never_overwrites(tmp_path, capsys):
    code, out, _ = govcat(capsys, "keygen", "--home", str(tmp_path))
    assert code == 0 and "pseudonym.key" in out
    key = (tmp_path / "secrets" / "pseudonym.key").read_text()
    code, _, err = govcat(capsys, "keygen", "--home", str(tmp_path))
    assert code == 1 and "never overwritten" in err
    assert govcat(capsys, "keygen", "--if-missing", "--home", str(tmp_path))[0] == 0
    assert (tmp_path / "secrets" / "pseudonym.key").read_text() == key


def test_usage_errors_exit_2(capsys):
    with pytest.raises(SystemExit) as caught:
        main(["frobnicate"])
    assert caught.value.code == 2


def test_publish_without_a_key_fails_with_the_remedy_and_publishes_nothing(declarations, home, capsys, monkeypatch):
    monkeypatch.delenv("GOVCAT_PSEUDONYM_KEY")
    declarations.agency()
    declarations.dataset()
    code, out, _ = govcat(capsys, "publish", "--all", "--datasets", str(declarations.root), "--home", str(home))
    assert code == 1
    assert out == ("grants: failed: the run failed: a pseudonymisation key is needed and none is set: set "
                   "GOVCAT_PSEUDONYM_KEY, or point GOVCAT_PSEUDONYM_KEY_FILE at a key file, or create one with "
                   "`govcat keygen`\n")
    assert not list(home.glob("releases/grants/[0-9]*")) and not list(home.glob("staging/grants/*"))
