"""SQL console: one read-only SELECT over the public tables; the query lives in the URL, so a link reruns it."""

import re

import streamlit as st

from catalog.errors import QueryError
from catalog.query import MAX_SQL_CHARS, ROW_LIMIT, TIME_LIMIT_SECONDS
from catalog.spreadsheet_safety import safe_csv
from dashboards import data
from dashboards.i18n import number as digits, t

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
        examples.append((t("sql.example_per_year", table=table),
                         f"SELECT year({_name(found)}) AS year, count(*) AS rows\nFROM {_name(table)}\n"
                         f"GROUP BY year\nORDER BY year"))
    table, found = pick(group_and_number)
    if table:
        group, number = map(_name, found)
        examples.append((t("sql.example_totals", number=found[1], group=found[0]),
                         f"SELECT {group}, count(*) AS rows, round(sum({number}), 2) AS total\nFROM {_name(table)}\n"
                         f"GROUP BY {group}\nORDER BY total DESC"))
    table, _ = pick(lambda columns: True)
    if table:
        examples.insert(0, (t("sql.example_first_rows", table=table), f"SELECT *\nFROM {_name(table)}\nLIMIT 20"))
    if current:
        table = max(current, key=lambda t: (len(releases[t]), t not in used))
        numbers = releases[table]
        if len(numbers) > 1:
            examples.append((t("sql.example_beside", release=numbers[0], table=table),
                             f"SELECT 'release {numbers[0]}' AS version, count(*) AS rows "
                             f"FROM {_name(f'{table}@{numbers[0]}')}\nUNION ALL\n"
                             f"SELECT 'current (release {numbers[-1]})', count(*) FROM {_name(table)}"))
        elif numbers:
            examples.append((t("sql.example_cite", release=numbers[-1], table=table),
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
    return f"{digits(seconds * 1000)} ms" if seconds < 1 else f"{digits(seconds, decimals=2)} s"


st.title(t("sql.title"))
st.write(t("sql.intro", rows=ROW_LIMIT, seconds=f"{TIME_LIMIT_SECONDS:g}".replace(".", t("format.decimal"))))

if not data.published():
    st.info(t("sql.nothing_published"))
    st.stop()

tables = data.sql_tables()
releases = _releases(tables)
asked = st.query_params.get("sql", "")[:MAX_SQL_CHARS]

editor, helpers = st.columns([2.2, 1], gap="large")
with editor:
    if "sql" not in st.session_state:  # a fresh load: the editor starts with the query in the address
        st.session_state["sql"] = asked
    st.text_area(t("sql.editor"), key="sql", height=180, max_chars=MAX_SQL_CHARS,
                 placeholder="SELECT * FROM world_gdp WHERE \"Year\" = 2020 ORDER BY \"Value\" DESC")
    st.button(t("sql.run"), key="run", type="primary", icon=":material/play_arrow:", on_click=_run)
with helpers:
    st.markdown(t("sql.examples"))
    for number, (label, sql) in enumerate(_examples(tables, releases)):
        st.button(label, key=f"example:{number}", on_click=_use, args=(sql,), help=sql,
                  icon=":material/lightbulb:", width="stretch", wrap=True)

if asked.strip():
    try:
        result = data.run_sql(asked)
    except QueryError as refused:
        st.error(t("sql.refused", reason=_escaped(refused)), icon=":material/block:")
    else:
        frame = result.to_pandas()
        shown = t("sql.truncated", rows=ROW_LIMIT) if result.truncated else t("common.rows", count=len(frame))
        st.caption(t("sql.took", shown=shown, took=_took(result.seconds)))
        st.dataframe(_shown(frame), hide_index=True, key="result")
        st.download_button(t("common.download_csv"), data=lambda: safe_csv(frame), file_name="query.csv",
                           mime="text/csv", on_click="ignore", icon=":material/download:", key="csv")

st.subheader(t("sql.tables"))
if not releases:
    st.write(t("sql.no_tables"))
hits = data.find("", limit=1000).hits
titles = dict(zip(hits["id"], hits["title"])) if not hits.empty else {}
for dataset_id, numbers in releases.items():
    title = titles.get(dataset_id, "")
    with st.expander(f"{dataset_id}" + (f": {title}" if title else ""), icon=":material/table:"):
        names = ", ".join(f"\"{dataset_id}@{n}\"" for n in numbers)
        st.caption(t("sql.releases", table=dataset_id, release=numbers[-1], names=names) if numbers
                   else t("sql.current_only", table=dataset_id))
        st.dataframe({"column": [c for c, _ in tables[dataset_id]], "type": [k for _, k in tables[dataset_id]]},
                     hide_index=True, key=f"columns:{dataset_id}",
                     column_config={"column": t("sql.column"), "type": t("sql.type")})
        st.page_link("views/dataset.py", label=t("sql.about"), query_params={"id": dataset_id},
                     icon=":material/info:")
