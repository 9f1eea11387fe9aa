"""Every known way out of the SQL sandbox, tried and refused with a message a person can act on.

The attacks are those measured against DuckDB in the stack notes (section 4): files, network,
extensions, settings, writes, batches, server paths, runaway time and memory, and datasets
the public may not see. Each runs against the Sandbox the explorer and ``govcat sql`` use.
"""

from pathlib import Path

import pytest

from catalog import flow, query
from catalog.errors import QueryError
from catalog.query import ROW_LIMIT, Sandbox
from catalog.spec import load_declarations
from tests.conftest import GOOD_ROWS, REPO, TEST_KEY, Declarations

THREE_ROWS = GOOD_ROWS + "3,East,cy@example.org,7\n"
SHARING = {"agencies": ["county"], "legal_basis": "Data sharing agreement DSA-2026-04"}
ONLY_SELECT = "only SELECT queries are allowed"
OUT_OF_REACH = "files, URLs and extensions are out of reach"
ONE_STATEMENT = "send exactly one SQL statement"


def publish_mixed_home(root: Path) -> Path:
    """A home with a public dataset in two releases, a restricted one and a non-public one."""
    declarations, home = Declarations(root / "datasets"), root / "home"
    declarations.agency()
    declarations.agency("county", name="County Council")
    declarations.dataset(files={"2024.csv": GOOD_ROWS})
    declarations.dataset(folder="case_files", id="case_files", access="restricted", sharing=SHARING,
                         title="Case files shared with the county", files={"2024.csv": GOOD_ROWS})
    declarations.dataset(folder="internal", id="internal_notes", access="non-public", files={"2024.csv": GOOD_ROWS})
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("GOVCAT_PSEUDONYM_KEY", TEST_KEY)
        loaded = load_declarations(declarations.root)
        for spec in loaded.datasets.values():
            assert flow.publish_delivery(loaded, spec, home).status == "published"
        declarations.dataset(files={"2024.csv": THREE_ROWS})
        loaded = load_declarations(declarations.root)
        assert flow.publish_delivery(loaded, loaded.datasets["grants"], home).status == "published"
    return home


@pytest.fixture(scope="module")
def home(tmp_path_factory) -> Path:
    return publish_mixed_home(tmp_path_factory.mktemp("escapes"))


@pytest.fixture(scope="module")
def sandbox(home) -> Sandbox:
    opened = Sandbox(home)
    yield opened
    opened.close()


@pytest.fixture(scope="module")
def outside(tmp_path_factory) -> Path:
    """A folder outside the home that an attack tries to write to or load from."""
    folder = tmp_path_factory.mktemp("outside")
    (folder / "evil.duckdb_extension").write_bytes(b"\x7fELF not really an extension")
    return folder


def server_paths(home: Path) -> list[str]:
    return [str(home), str(home.resolve()), str(Path.home()), str(REPO), "/etc/", "/tmp/"]


def refused(sandbox: Sandbox, sql: str) -> str:
    with pytest.raises(QueryError) as caught:
        sandbox.query(sql)
    return str(caught.value)


def settings_now(sandbox: Sandbox) -> dict:
    """The connection's settings, read past the query check (which refuses current_setting to the public)."""
    names = ("threads", "max_memory", "enable_external_access", "lock_configuration", "temp_directory")
    sql = "SELECT " + ", ".join(f"current_setting('{name}') AS {name}" for name in names)
    return sandbox._run(sql, None, 10, 10.0, 2 ** 20).table.to_pylist()[0]


ATTACKS = [  # (sql with {outside} for the attacker's folder, what the refusal says)
    ("SELECT * FROM read_csv('/etc/passwd')", OUT_OF_REACH),
    ("SELECT * FROM read_text('/etc/passwd')", OUT_OF_REACH),
    ("SELECT * FROM read_blob('/etc/passwd')", OUT_OF_REACH),
    ("SELECT * FROM glob('/etc/*')", OUT_OF_REACH),
    ("SELECT * FROM sniff_csv('/etc/passwd')", OUT_OF_REACH),
    ("SELECT * FROM 'https://example.org/data.csv'", OUT_OF_REACH),
    ("SELECT * FROM read_csv('https://example.org/data.csv')", OUT_OF_REACH),
    ("SELECT * FROM read_parquet('s3://bucket/data.parquet')", OUT_OF_REACH),
    ("COPY (SELECT * FROM grants) TO '{outside}/stolen.csv'", ONLY_SELECT),
    ("COPY grants TO '{outside}/stolen.parquet' (FORMAT parquet)", ONLY_SELECT),
    ("EXPORT DATABASE '{outside}/export'", ONLY_SELECT),
    ("ATTACH '{outside}/other.duckdb' AS other", ONLY_SELECT),
    ("ATTACH ':memory:' AS scratch", ONLY_SELECT),
    ("INSTALL httpfs", ONLY_SELECT),
    ("LOAD httpfs", ONLY_SELECT),
    ("LOAD '{outside}/evil.duckdb_extension'", ONLY_SELECT),
    ("SET max_memory = '64GB'", ONLY_SELECT),
    ("SET threads = 8", ONLY_SELECT),
    ("PRAGMA memory_limit = '64GB'", ONLY_SELECT),
    ("PRAGMA threads = 8", ONLY_SELECT),
    ("RESET lock_configuration", ONLY_SELECT),
    ("SET lock_configuration = false", ONLY_SELECT),
    ("SET temp_directory = '{outside}'", ONLY_SELECT),
    ("SET enable_external_access = true", ONLY_SELECT),
    ("SELECT 1; SET threads = 8", ONE_STATEMENT),
    ("SELECT 1; COPY grants TO '{outside}/stolen.csv'", ONE_STATEMENT),
    ("DELETE FROM grants", ONLY_SELECT),
    ("UPDATE grants SET amount = 0", ONLY_SELECT),
    ("INSERT INTO grants VALUES (9, 'West', 'x@example.org', 1)", ONLY_SELECT),
    ("DROP VIEW grants", ONLY_SELECT),
    ("CREATE TABLE copied AS SELECT * FROM grants", ONLY_SELECT),
    ("CREATE TEMP TABLE filler AS SELECT repeat('x', 1000) AS s FROM range(100000000)", ONLY_SELECT),
    ("CREATE TABLE memory.main.filler AS SELECT * FROM range(100000000)", ONLY_SELECT),
    ("CREATE MACRO leak() AS 1", ONLY_SELECT),
    ("SET VARIABLE secret = 1", ONLY_SELECT),
    ("CALL pragma_version()", ONLY_SELECT),
    ("PRAGMA database_list", ONLY_SELECT),
    ("/* looks harmless */ PRAGMA database_list", ONLY_SELECT),
    ("EXPLAIN ANALYZE SELECT * FROM grants", ONLY_SELECT),
    ("SELECT * FROM query('CREATE TEMP TABLE filler AS SELECT * FROM range(100000000)')", OUT_OF_REACH),
    ("SELECT * FROM query('COPY grants TO ''{outside}/stolen.csv''')", OUT_OF_REACH),
    ("SELECT * FROM query_table('grants')", OUT_OF_REACH),
    ("SELECT * FROM duckdb_views()", OUT_OF_REACH),
    ("SELECT current_setting('allowed_paths') AS p", OUT_OF_REACH),
    ("SELECT * FROM information_schema.views", "no published table 'information_schema.views'"),
    ("SELECT sql FROM sqlite_master", "no published table 'sqlite_master'"),
    ("SELECT * FROM pg_catalog.pg_views", "no published table"),
    ("SELECT * FROM grants WHERE id IN (SELECT 1 FROM duckdb_databases())", OUT_OF_REACH),
    ("WITH v AS (SELECT * FROM duckdb_views()) SELECT * FROM v", OUT_OF_REACH),
]


@pytest.mark.parametrize("sql,reason", ATTACKS, ids=[sql.split("{")[0][:48] for sql, _ in ATTACKS])
def test_each_attack_is_refused_with_a_clear_message(sandbox, home, outside, sql, reason):
    before = settings_now(sandbox)
    message = refused(sandbox, sql.format(outside=outside))
    assert reason in message
    assert "\n" not in message and "Traceback" not in message
    assert not any(path in message for path in server_paths(home) if path not in sql)
    assert not any(outside.iterdir()) or [p.name for p in outside.iterdir()] == ["evil.duckdb_extension"]
    assert settings_now(sandbox) == before
    assert sandbox.query("SELECT count(*) AS n FROM grants").table.to_pylist() == [{"n": 3}]


def test_the_locks_hold_even_if_the_statement_check_is_bypassed(home, outside, monkeypatch):
    """Defence in depth: with only-one-SELECT switched off, DuckDB itself still refuses every way out of the
    process (files, network, extensions, settings). Changes to its own in-memory catalogue are stopped by the
    statement check alone, and bounded by the memory limit."""
    monkeypatch.setattr(query, "check_select", lambda sql: None)
    monkeypatch.setattr(Sandbox, "_referenced_tables", lambda self, sql, cursor: {"grants"})
    sandbox = Sandbox(home)
    try:
        before = settings_now(sandbox)
        for sql in ("COPY (SELECT * FROM grants) TO '{outside}/stolen.csv'", "EXPORT DATABASE '{outside}/export'",
                    "ATTACH '{outside}/other.duckdb' AS other", "INSTALL httpfs", "LOAD httpfs",
                    "LOAD '{outside}/evil.duckdb_extension'", "SET max_memory = '64GB'", "SET threads = 8",
                    "PRAGMA memory_limit = '64GB'", "RESET lock_configuration", "SET temp_directory = '{outside}'",
                    "SET enable_external_access = true", "DELETE FROM grants"):
            message = refused(sandbox, sql.format(outside=outside))
            assert str(home) not in message and str(Path.home()) not in message, sql
        assert sorted(p.name for p in outside.iterdir()) == ["evil.duckdb_extension"]
        assert settings_now(sandbox) == before
        assert before["enable_external_access"] is False and before["lock_configuration"] is True
        databases = sandbox.query("PRAGMA database_list").table.to_pylist()
        assert not any(str(home) in str(row) for row in databases)
    finally:
        sandbox.close()


def test_no_server_path_is_visible_in_settings_or_catalogs(sandbox, home):
    """The public may not read them at all; and read past that check, settings name no server folder."""
    for sql in ("SELECT * FROM duckdb_settings()", "SELECT * FROM duckdb_views()", "SELECT * FROM duckdb_databases()",
                "SELECT current_setting('home_directory') AS h"):
        assert OUT_OF_REACH in refused(sandbox, sql)
    listed = str(sandbox.columns())
    for path in server_paths(home):
        assert path not in listed, path


def test_extension_and_secret_listings_name_no_server_folder(sandbox, home):
    for sql in ("SELECT * FROM duckdb_extensions()", "SELECT * FROM duckdb_secrets()"):
        try:
            shown = str(sandbox.query(sql).table.to_pylist())
        except QueryError as exc:
            shown = str(exc)
        assert str(Path.home()) not in shown and str(home) not in shown, sql


def test_a_query_that_runs_forever_is_stopped_at_the_time_limit(sandbox):
    for sql in ("SELECT count(*) FROM range(1000000000000)",
                "SELECT count(*) FROM range(100000) a, range(100000) b, range(100000) c"):
        with pytest.raises(QueryError, match="took longer than 0.5 seconds and was stopped"):
            sandbox.query(sql, time_limit=0.5)
    assert sandbox.query("SELECT sum(amount) AS total FROM grants").table.to_pylist() == [{"total": 20.5}]


def test_a_memory_bomb_is_stopped_and_the_sandbox_still_answers(sandbox):
    before = settings_now(sandbox)
    with pytest.raises(QueryError, match="needs more memory than the sandbox allows"):
        sandbox.query("SELECT string_agg(repeat('x', 1000), '') FROM range(10000000)")
    with pytest.raises(QueryError, match="the result is larger than 64 MB"):
        sandbox.query("SELECT repeat('x', 100000) AS s FROM range(5000)")
    assert settings_now(sandbox) == before
    assert sandbox.query("SELECT count(*) AS n FROM grants").table.to_pylist() == [{"n": 3}]


def test_the_row_limit_cuts_the_result_and_says_so(sandbox):
    result = sandbox.query("SELECT * FROM range(25000)")
    assert result.table.num_rows == ROW_LIMIT and result.truncated
    assert result.table.column("range").to_pylist()[-1] == ROW_LIMIT - 1
    exact = sandbox.query(f"SELECT * FROM range({ROW_LIMIT})")
    assert exact.table.num_rows == ROW_LIMIT and not exact.truncated


def test_each_release_is_its_own_table(sandbox):
    counts = sandbox.query('SELECT (SELECT count(*) FROM grants) AS now, (SELECT count(*) FROM "grants@1") AS first, '
                           '(SELECT count(*) FROM "grants@2") AS second').table.to_pylist()
    assert counts == [{"now": 3, "first": 2, "second": 3}]


@pytest.mark.parametrize("hidden", ["case_files", "case_files@1", "internal_notes", "internal_notes@1"])
def test_restricted_and_non_public_datasets_are_not_visible(sandbox, hidden):
    message = refused(sandbox, f'SELECT * FROM "{hidden}"')
    assert message == refused(sandbox, 'SELECT * FROM "no_such_table"').replace("no_such_table", hidden)
    assert "published tables: grants;" in message
    listed = str(sandbox.columns())
    assert "grants" in listed and hidden.split("@")[0] not in listed
    assert set(sandbox.columns()) == {"grants", "grants@1", "grants@2"}


def test_a_steward_of_a_named_agency_sees_the_restricted_dataset_and_the_public_does_not(home):
    county = Sandbox(home, agency="county")
    try:
        assert county.query("SELECT count(*) AS n FROM case_files").table.to_pylist() == [{"n": 2}]
        assert "internal_notes" not in county.tables
    finally:
        county.close()
