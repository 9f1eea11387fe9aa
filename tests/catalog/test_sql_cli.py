"""`govcat sql`: a refused or failed query exits non-zero and says why in one line, with no traceback."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

from catalog.cli import main
from tests.catalog.test_sandbox_escapes import publish_mixed_home
from tests.conftest import REPO


@pytest.fixture(scope="module")
def home(tmp_path_factory) -> Path:
    return publish_mixed_home(tmp_path_factory.mktemp("sql_cli"))


def govcat(capsys, *args) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


@pytest.mark.parametrize("sql,reason", [
    ("COPY grants TO 'stolen.csv'", "only SELECT queries are allowed: the published data is read-only"),
    ("SELECT * FROM read_csv('/etc/passwd')", "files, URLs and extensions are out of reach"),
    ("SELECT * FROM 'https://example.org/data.csv'", "files, URLs and extensions are out of reach"),
    ("SELECT 1; SET threads = 8", "send exactly one SQL statement"),
    ("SET max_memory = '64GB'", "only SELECT queries are allowed"),
    ("SELECT * FROM case_files", "no published table 'case_files' (published tables: grants;"),
    ("SELECT * FROM internal_notes", "no published table 'internal_notes' (published tables: grants;"),
    ("SELEC district FROM grants", 'syntax error at or near "SELEC"'),
    ("SELECT nope FROM grants", 'column "nope" not found'),
    ("SELECT string_agg(repeat('x', 1000), '') FROM range(10000000)", "needs more memory than the sandbox allows"),
    ("", "the query is empty"),
])
def test_a_refused_or_failed_query_exits_1_with_the_reason(home, capsys, sql, reason):
    code, out, err = govcat(capsys, "sql", sql, "--home", str(home))
    assert (code, out) == (1, "")
    assert err.startswith("govcat: ") and reason in err
    assert err.count("\n") == 1 and "Traceback" not in err
    assert str(home) not in err and str(Path.home()) not in err and "root:" not in err


def test_the_real_command_exits_non_zero_for_a_refused_query(home):
    env = {k: v for k, v in os.environ.items() if k not in ("GOVCAT_HOME", "GOVCAT_DEBUG")}
    done = subprocess.run([sys.executable, "-m", "catalog.cli", "sql", "SELECT * FROM read_text('/etc/passwd')",
                           "--home", str(home)], capture_output=True, text=True, cwd=REPO, env=env, timeout=60)
    assert done.returncode == 1 and done.stdout == ""
    assert done.stderr.startswith("govcat: files, URLs and extensions are out of reach")
    assert "root:" not in done.stderr and "Traceback" not in done.stderr


def test_an_answered_query_exits_0_and_an_earlier_release_can_be_pinned(home, capsys):
    code, out, _ = govcat(capsys, "sql", "SELECT count(*) AS n FROM grants", "--json", "--home", str(home))
    assert (code, out.split()) == (0, ["[", "{", '"n":', "3", "}", "]"])
    code, out, _ = govcat(capsys, "sql", "SELECT count(*) AS n FROM grants", "--json", "--as-of", "grants=1",
                          "--home", str(home))
    assert (code, out.split()) == (0, ["[", "{", '"n":', "2", "}", "]"])


@pytest.mark.parametrize("pin,reason", [
    ("grants=9", "grants has no release 9; its releases are 1 to 2"),
    ("case_files=1", "there is no published dataset 'case_files'"),
    ("grants=first", "--as-of 'grants=first': write it as DATASET=N"),
])
def test_a_bad_release_pin_exits_1_with_the_reason(home, capsys, pin, reason):
    code, out, err = govcat(capsys, "sql", "SELECT 1", "--as-of", pin, "--home", str(home))
    assert (code, out) == (1, "") and reason in err and "Traceback" not in err


def test_more_rows_than_the_limit_are_cut_and_the_cut_is_said(home, capsys):
    code, out, err = govcat(capsys, "sql", "SELECT * FROM range(5) t(n)", "--limit", "2", "--home", str(home))
    assert code == 0 and out.split() == ["n", "0", "1"]
    assert err == "govcat: only the first 2 rows are shown (use --limit to see more)\n"


def test_a_value_python_cannot_hold_is_printed_as_duckdb_writes_it(home, capsys):
    code, out, err = govcat(capsys, "sql", "SELECT DATE '5877642-06-25' AS far, DATE 'infinity' AS never",
                            "--home", str(home))
    assert (code, err) == (0, "")
    assert out.split() == ["far", "never", "5877642-06-25", "infinity"]
