"""SQL console: one read-only SELECT over the public tables; the query lives in the URL, so a link reruns it."""

import re

import streamlit as st

from catalog.errors import QueryError
from catalog.query import MAX_SQL_CHARS, ROW_LIMIT, TIME_LIMIT_SECONDS
from catalog.spreadsheet_safety import safe_csv
from dashboards import data

NUMBERS = ("DOUBLE", "FLOAT", "REAL", "DECIMAL", "BIGINT", "INTEGER", "HUGEINT", "SMALLINT")
NOT_A_GROUP = re.compile(r"(^|_)(id|number|code|email|name|description)$|^(description|street|address)", re.I)


def _escaped(text: str) -> str:
    """Text shown through Markdown exactly as written (SQL and messages hold * _ ` [ ] and the like)."""
    return re.sub(r"([\\`*_{}\[\]()<>#+|~!$-])", r"\\\1", str(text))


def _name(identifier: str) -> str:
    """An identifier as SQL: bare when it can be, double-quoted otherwise ("world_gdp@2", "Country Name")."""
    if re.fullmatch(r"[a-z_][a-z0-9_]*", identifier):
        return identifier
    return '"' + identifier.replace('"', '""') + '"'


def _releases(tables: dict) -> dict[str, list[int]]:
    """Each dataset id with the release numbers it can be read at."""
    found: dict[str, list[int]] = {name: [] for name in tables if "@" not in name}
    for name in tables:
        dataset_id, at, number = name.rpartition("@")
        if at and dataset_id in found and number.isdigit():
            found[dataset_id].append(int(number))
    return {dataset_id: sorted(numbers) for dataset_id, numbers in found.items()}


def _examples(tables: dict, releases: dict[str, list[int]]) -> list[tuple[str, str]]:
    """A few (label, query) pairs written against the tables actually published, each on another table."""
    current = sorted(releases)
    used: set[str] = set()

    def pick(fits):
        for table in [t for t in current if t not in used] + [t for t in current if t in used]:
            found = fits(tables[table])
            if found:
                used.add(table)
                return table, found
        return None, None

    def group_and_number(columns):
        groups = [c for c, kind in columns if kind == "VARCHAR" and not NOT_A_GROUP.search(c)]
        numbers = [c for c, kind in columns if kind.startswith(NUMBERS) and not re.search(r"year|id$", c, re.I)]
        return (groups[0], numbers[0]) if groups and numbers else None

    examples = []
    table, found = pick(lambda columns: next((c for c, kind in columns if kind in ("DATE", "TIMESTAMP")), None))
    if table:
        examples.append((f"Rows per year in {table}",
                         f"SELECT year({_name(found)}) AS year, count(*) AS rows\nFROM {_name(table)}\n"
                         f"GROUP BY year\nORDER BY year"))
    table, found = pick(group_and_number)
    if table:
        group, number = map(_name, found)
        examples.append((f"Totals of {found[1]} by {found[0]}",
                         f"SELECT {group}, count(*) AS rows, round(sum({number}), 2) AS total\nFROM {_name(table)}\n"
                         f"GROUP BY {group}\nORDER BY total DESC"))
    table, _ = pick(lambda columns: True)
    if table:
        examples.insert(0, (f"The first rows of {table}", f"SELECT *\nFROM {_name(table)}\nLIMIT 20"))
    if current:
        table = max(current, key=lambda t: (len(releases[t]), t not in used))
        numbers = releases[table]
        if len(numbers) > 1:
            examples.append((f"Release {numbers[0]} of {table} beside the current one",
                             f"SELECT 'release {numbers[0]}' AS version, count(*) AS rows "
                             f"FROM {_name(f'{table}@{numbers[0]}')}\nUNION ALL\n"
                             f"SELECT 'current (release {numbers[-1]})', count(*) FROM {_name(table)}"))
        elif numbers:
            examples.append((f"Cite release {numbers[-1]} of {table}",
                             f"SELECT count(*) AS rows\nFROM {_name(f'{table}@{numbers[-1]}')}"))
    return examples


def _use(sql: str) -> None:
    st.session_state["sql"] = sql
    st.query_params["sql"] = sql


def _run() -> None:
    sql = st.session_state.get("sql", "").strip()
    if sql:
        st.query_params["sql"] = sql
    else:
        st.query_params.pop("sql", None)


def _shown(frame):
    """The frame with repeated column names told apart (``SELECT 1 AS a, 2 AS a``), which the table needs."""
    seen: dict[str, int] = {}
    names = []
    for name in map(str, frame.columns):
        seen[name] = seen.get(name, 0) + 1
        names.append(name if seen[name] == 1 else f"{name} ({seen[name]})")
    return frame.set_axis(names, axis=1) if names != list(frame.columns) else frame


def _took(seconds: float) -> str:
    return f"{seconds * 1000:.0f} ms" if seconds < 1 else f"{seconds:.2f} s"


st.title("SQL console")
st.write(f"Ask the published data a question in SQL (DuckDB's dialect). Each public dataset is a table named by "
         f"its id, holding its current release; release N of it stays readable as the table \"<id>@N\", so a "
         f"result can be cited and reproduced. One SELECT at a time, read-only, at most {ROW_LIMIT:,} rows "
         f"shown and {TIME_LIMIT_SECONDS:g} seconds per query. The address of the page holds the query: "
         f"share it and the same query runs again.")

if not data.published():
    st.info("Nothing is published yet, so there is nothing to query. Run `govcat publish --all` "
            "(or `make demo`) and reload this page.")
    st.stop()

tables = data.sql_tables()
releases = _releases(tables)
asked = st.query_params.get("sql", "")[:MAX_SQL_CHARS]

editor, helpers = st.columns([2.2, 1], gap="large")
with editor:
    if "sql" not in st.session_state:  # a fresh load: the editor starts with the query in the address
        st.session_state["sql"] = asked
    st.text_area("One SELECT statement", key="sql", height=180, max_chars=MAX_SQL_CHARS,
                 placeholder="SELECT * FROM world_gdp WHERE \"Year\" = 2020 ORDER BY \"Value\" DESC")
    st.button("Run", key="run", type="primary", icon=":material/play_arrow:", on_click=_run)
with helpers:
    st.markdown("**Examples** (on the tables published now)")
    for number, (label, sql) in enumerate(_examples(tables, releases)):
        st.button(label, key=f"example:{number}", on_click=_use, args=(sql,), help=sql,
                  icon=":material/lightbulb:", width="stretch", wrap=True)

if asked.strip():
    try:
        result = data.run_sql(asked)
    except QueryError as refused:
        st.error(f"The query did not run: {_escaped(refused)}", icon=":material/block:")
    else:
        frame = result.to_pandas()
        shown = (f"Showing the first {ROW_LIMIT:,} rows: the query returns more. Filter or aggregate, or use "
                 f"LIMIT and OFFSET, to see the rest" if result.truncated
                 else f"{len(frame):,} row{'s' if len(frame) != 1 else ''}")
        st.caption(f"{shown} · the query took {_took(result.seconds)}")
        st.dataframe(_shown(frame), hide_index=True, key="result")
        st.download_button("Download CSV", data=lambda: safe_csv(frame), file_name="query.csv", mime="text/csv",
                           on_click="ignore", icon=":material/download:", key="csv")

st.subheader("Tables you can query")
if not releases:
    st.write("No public dataset has a published release yet.")
hits = data.find("", limit=1000).hits
titles = dict(zip(hits["id"], hits["title"])) if not hits.empty else {}
for dataset_id, numbers in releases.items():
    title = titles.get(dataset_id, "")
    with st.expander(f"{dataset_id}" + (f": {title}" if title else ""), icon=":material/table:"):
        names = ", ".join(f"\"{dataset_id}@{n}\"" for n in numbers)
        st.caption(f"\"{dataset_id}\" is release {numbers[-1]}, the current one. Every release by number: {names}."
                   if numbers else f"\"{dataset_id}\" is its current release.")
        st.dataframe({"column": [c for c, _ in tables[dataset_id]], "type": [k for _, k in tables[dataset_id]]},
                     hide_index=True, key=f"columns:{dataset_id}")
        st.page_link("views/dataset.py", label="About this dataset", query_params={"id": dataset_id},
                     icon=":material/info:")
