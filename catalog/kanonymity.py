"""k-anonymity by local suppression, distinct l-diversity, and re-identification risk, in DuckDB.

Definitions
    quasi-identifiers   columns that together could single a person out (age band, sex, district)
    equivalence class   the records sharing the same values on every quasi-identifier. A suppressed
                        value (NULL) is a value of its own: it matches other NULLs and nothing else,
                        which is conservative (an attacker is not assumed to know what was hidden).
                        Values missing in the input are NULL too and count the same way.
    k-anonymous         every class has at least k records.
    l-diverse           (distinct) every class has at least l distinct non-null values of the
                        sensitive column.
    small class         a class with fewer than k records or, with l-diversity, fewer than l
                        distinct sensitive values.

Local suppression (as sdcMicro's ``kAnon`` with an importance order)
    The quasi-identifiers are suppressed one at a time, the last-listed first, so a dataset lists
    the one it most wants to keep first. At each step the value of the next quasi-identifier is
    replaced by NULL in every record of a small class; the classes are then recomputed. Records
    still in a small class once every quasi-identifier is suppressed are removed (record
    suppression).
    A class that is not small never becomes small again (records only ever join it), so the
    records that change are exactly those of the classes small on the input, and a record's
    fate is one number: how many quasi-identifiers (from the end of the list) it lost.

Measures
    suppressed share    (records that had at least one value hidden + records removed) / records
                        in. ``passed`` is false when it exceeds the declared maximum; the caller
                        rejects the release, this module never raises for it.
    cell share          quasi-identifier cells hidden / quasi-identifier cells published
                        (information loss), beside the records removed.
    risk                prosecutor model, as ARX and sdcMicro report it: a record's risk is
                        1 / the size of its class. Reported: the highest record risk, the records
                        (and their share) whose risk exceeds a threshold (default 1/k, i.e. the
                        records in classes smaller than k) and the average record risk, which
                        equals classes / records. Before (the input) and after (the output).

Speed: one GROUP BY over the table counts the records of every combination of values and keeps
the row ids of combinations smaller than k; the suppression steps then run over that small
table of combinations (one window pass per quasi-identifier), and the changes are written back
with an UPDATE and a DELETE by row id. Both keep the row order of the copy, which a join would not.
Nothing reported contains a data value: only counts, shares and column names.
"""

from __future__ import annotations

import math
import uuid
from dataclasses import asdict, dataclass

import duckdb

from catalog.casting import quote_ident

SCRATCH_PREFIX = "govcat_kanonymity_"


@dataclass(frozen=True)
class Risk:
    """Prosecutor re-identification risk of a table over its quasi-identifiers."""

    records: int
    classes: int
    threshold: float
    highest: float           # 1 / the smallest class; 0 for an empty table
    records_at_risk: int     # records whose risk exceeds ``threshold``
    share_at_risk: float
    average: float           # mean record risk = classes / records

    def to_json(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class KAnonymityResult:
    """What enforcing k-anonymity did, in counts and shares; never a data value."""

    quasi_identifiers: list[str]
    k: int
    max_suppression: float
    sensitive: str | None
    l: int | None
    records_in: int
    records_out: int
    records_suppressed: int          # published records with at least one value hidden
    records_removed: int
    cells_suppressed: dict[str, int]  # values hidden per quasi-identifier, in published records
    cell_share: float                # hidden / all quasi-identifier cells published
    suppressed_share: float          # (records_suppressed + records_removed) / records_in
    k_achieved: int | None           # the smallest class published; None when nothing is
    l_achieved: int | None           # the fewest distinct sensitive values in a class
    passed: bool                     # suppressed_share within max_suppression
    risk_before: Risk
    risk_after: Risk
    plain: str

    def to_json(self) -> dict:
        return asdict(self)


# --------------------------------------------------------------------------- public API


def enforce_k_anonymity(con: duckdb.DuckDBPyConnection, source: str, target: str, quasi_identifiers: list[str],
                        k: int, max_suppression: float, sensitive: str | None = None, l: int | None = None,
                        risk_threshold: float | None = None) -> KAnonymityResult:
    """Create table ``target`` from relation ``source`` (SQL names, used as given), k-anonymous
    (and l-diverse) over ``quasi_identifiers`` by local suppression, in the input's row order.

    Raises ValueError for invalid arguments; a release needing more suppression than
    ``max_suppression`` is reported with ``passed`` false."""
    qis = list(quasi_identifiers)
    _check_arguments(con, source, target, qis, k, max_suppression, sensitive, l, risk_threshold)
    threshold = risk_threshold if risk_threshold is not None else 1 / k
    con.execute(f"CREATE OR REPLACE TABLE {target} AS SELECT * FROM {source}")
    scratch = _Scratch.named()
    try:
        con.execute(f"CREATE TEMP TABLE {scratch.combinations} AS {_combinations_sql(target, qis, k, sensitive)}")
        con.execute(f"CREATE TEMP TABLE {scratch.plan} AS {_plan_sql(scratch.combinations, len(qis), k, sensitive, l)}")
        counts = _plan_counts(con, scratch, qis, k)
        _write_back(con, target, scratch, qis, k, sensitive, counts)
        before = _class_summary(con, _input_classes_sql(scratch.combinations, len(qis), sensitive), threshold)
        after = _class_summary(con, _published_classes_sql(scratch, len(qis), sensitive), threshold,
                               diverse=sensitive is not None)
    finally:
        for name in scratch.names():
            con.execute(f"DROP TABLE IF EXISTS {name}")
    return _result(qis, k, max_suppression, sensitive, l, counts, before, after)


def risk(con: duckdb.DuckDBPyConnection, relation: str, quasi_identifiers: list[str], threshold: float) -> Risk:
    """Prosecutor risk of ``relation`` over ``quasi_identifiers``: a record's risk is 1 / its class size."""
    qis = list(quasi_identifiers)
    _check_columns(con, relation, qis)
    _check_threshold(threshold)
    grouping = ", ".join(quote_ident(q) for q in qis)
    summary = _class_summary(con, f"SELECT count(*) AS size FROM {relation} GROUP BY {grouping}", threshold)
    return summary.risk


# --------------------------------------------------------------------------- checks


def _check_arguments(con, source: str, target: str, qis: list[str], k, max_suppression, sensitive, l,
                     risk_threshold) -> None:
    if source.strip().lower() == target.strip().lower():
        raise ValueError("k-anonymity: source and target must be different tables")
    if not _is_whole(k) or k < 2:
        raise ValueError(f"k-anonymity: k must be a whole number of at least 2, not {k!r}")
    if not _is_real(max_suppression) or not 0 <= max_suppression <= 1:
        raise ValueError(f"k-anonymity: max_suppression must be a share between 0 and 1, not {max_suppression!r}")
    if (sensitive is None) != (l is None):
        raise ValueError("k-anonymity: l-diversity needs both a sensitive column and l")
    if l is not None and (not _is_whole(l) or l < 2):
        raise ValueError(f"k-anonymity: l must be a whole number of at least 2, not {l!r}")
    if sensitive is not None and sensitive in qis:
        raise ValueError(f"k-anonymity: the sensitive column {sensitive!r} cannot also be a quasi-identifier")
    if risk_threshold is not None:
        _check_threshold(risk_threshold)
    columns = _check_columns(con, source, qis + ([sensitive] if sensitive else []))
    if "rowid" in {c.lower() for c in columns}:
        raise ValueError("k-anonymity: a column named 'rowid' hides DuckDB's row id; rename it first")


def _check_columns(con, relation: str, names: list[str]) -> list[str]:
    """The relation's column names, after checking that ``names`` are some of them, once each."""
    if not names or not all(isinstance(n, str) for n in names):
        raise ValueError("k-anonymity: name at least one quasi-identifier column")
    if len(set(names)) != len(names):
        raise ValueError(f"k-anonymity: a column is named twice in {names}")
    columns = [d[0] for d in con.execute(f"SELECT * FROM {relation} LIMIT 0").description]
    unknown = [n for n in names if n not in columns]
    if unknown:
        raise ValueError(f"k-anonymity: no column {', '.join(map(repr, unknown))} in the table; "
                         f"its columns are {', '.join(map(repr, columns))}")
    return columns


def _check_threshold(threshold) -> None:
    if not _is_real(threshold) or not 0 < threshold <= 1:
        raise ValueError(f"k-anonymity: the risk threshold must be a share above 0 and at most 1, not {threshold!r}")


def _is_whole(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_real(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and not math.isnan(value)


# --------------------------------------------------------------------------- the plan


@dataclass(frozen=True)
class _Scratch:
    """Names of the temporary tables of one run."""

    combinations: str   # one row per combination of input values: its records and their row ids
    plan: str           # the combinations that may change: how many values each loses, removed or not
    changes: str        # one row per record that changes

    @classmethod
    def named(cls) -> "_Scratch":
        run = uuid.uuid4().hex[:12]
        return cls(*(f"{SCRATCH_PREFIX}{role}_{run}" for role in ("combinations", "plan", "changes")))

    def names(self) -> tuple[str, str, str]:
        return self.combinations, self.plan, self.changes


def _aliases(count: int) -> str:
    return ", ".join(f"q{i}" for i in range(count))


def _rank(index: int, count: int) -> int:
    """The step at which quasi-identifier ``index`` is suppressed: the last-listed at step 1."""
    return count - index


def _current_values(count: int) -> str:
    """The quasi-identifier values of a combination after its first ``level`` suppressions."""
    return ", ".join(f"CASE WHEN level >= {_rank(i, count)} THEN NULL ELSE q{i} END" for i in range(count))


def _hidden(index: int, count: int) -> str:
    """True when a combination's value of quasi-identifier ``index`` is hidden (it was not already NULL)."""
    return f"(q{index} IS NOT NULL AND level >= {_rank(index, count)})"


def _hides_any(count: int) -> str:
    return "(" + " OR ".join(_hidden(i, count) for i in range(count)) + ")"


def _combinations_sql(table: str, qis: list[str], k: int, sensitive: str | None) -> str:
    """The one pass over the records: the count ``n`` of every combination of quasi-identifier
    values (and sensitive value, with l-diversity), and its first k-1 row ids, which are all of
    them for the combinations smaller than k."""
    columns = [f"{quote_ident(q)} AS q{i}" for i, q in enumerate(qis)]
    if sensitive:
        columns.append(f"{quote_ident(sensitive)} AS s")
    positions = ", ".join(str(p) for p in range(1, len(columns) + 1))
    return (f"SELECT {', '.join(columns)}, count(*) AS n, min(rowid, {k - 1}) AS row_ids "
            f"FROM {table} GROUP BY {positions}")


def _plan_sql(combinations: str, count: int, k: int, sensitive: str | None, l: int | None) -> str:
    """The suppression steps, one window pass each, over the combinations that can take part:
    those of small input classes, and those whose last-suppressed value is already NULL (the only
    classes suppressed records can join). ``level`` counts the values lost, ``removed`` marks
    records suppressed entirely. The other combinations keep their values."""
    small = f"sum(n) OVER class < {k}" + (f" OR count(DISTINCT s) OVER class < {l}" if sensitive else "")
    window = f"WINDOW class AS (PARTITION BY {_current_values(count)})"
    last = f"q{count - 1}"
    columns = _aliases(count) + (", s" if sensitive else "")
    if sensitive:  # on the input a class's rows have distinct sensitive values: count(s) will do
        small_on_input = f"sum(n) OVER class < {k} OR count(s) OVER class < {l}"
        first_step = (f"SELECT * REPLACE (CASE WHEN {small_on_input} THEN 1 ELSE 0 END AS level) FROM step0 "
                      f"{window} QUALIFY ({small_on_input}) OR {last} IS NULL")
    else:  # every combination is a class of its own on the input: no window needed
        first_step = (f"SELECT * REPLACE (CASE WHEN n < {k} THEN 1 ELSE 0 END AS level) FROM step0 "
                      f"WHERE n < {k} OR {last} IS NULL")
    steps = [f"step0 AS (SELECT rowid AS combination, {columns}, n, 0 AS level FROM {combinations})",
             f"step1 AS ({first_step})"]
    for step in range(2, count + 1):
        steps.append(f"step{step} AS (SELECT * REPLACE (CASE WHEN {small} THEN {step} ELSE level END AS level) "
                     f"FROM step{step - 1} {window})")
    return f"WITH {', '.join(steps)} SELECT *, {small} AS removed FROM step{count} {window}"


def _input_classes_sql(combinations: str, count: int, sensitive: str | None) -> str:
    if not sensitive:  # each combination is a class
        return f"SELECT n AS size FROM {combinations}"
    return f"SELECT sum(n) AS size FROM {combinations} GROUP BY {_aliases(count)}"


def _published_classes_sql(scratch: _Scratch, count: int, sensitive: str | None) -> str:
    """One row per published class: the combinations left alone (whose rows have distinct
    sensitive values), then those the plan changed."""
    kept, changed = (", count(s) AS diversity", ", count(DISTINCT s) AS diversity") if sensitive else ("", "")
    return (f"SELECT sum(n) AS size{kept} FROM {scratch.combinations} "
            f"WHERE rowid NOT IN (SELECT combination FROM {scratch.plan}) GROUP BY {_aliases(count)} "
            f"UNION ALL SELECT sum(n) AS size{changed} FROM {scratch.plan} WHERE NOT removed "
            f"GROUP BY {_current_values(count)}")


@dataclass(frozen=True)
class _Counts:
    records_in: int
    records_removed: int
    records_suppressed: int
    cells_suppressed: dict[str, int]
    changed_combinations_from_k: int   # changing combinations of k records or more (l-diversity only)
    levels: tuple[int, ...]            # the numbers of values lost by published records that lose some


def _plan_counts(con, scratch: _Scratch, qis: list[str], k: int) -> _Counts:
    count = len(qis)
    cells = ", ".join(f"coalesce(sum(n) FILTER (WHERE NOT removed AND {_hidden(i, count)}), 0)" for i in range(count))
    row = con.execute(
        f"SELECT (SELECT coalesce(sum(n), 0) FROM {scratch.combinations}), "
        f"coalesce(sum(n) FILTER (WHERE removed), 0), "
        f"coalesce(sum(n) FILTER (WHERE NOT removed AND {_hides_any(count)}), 0), "
        f"count(*) FILTER (WHERE n >= {k} AND (removed OR {_hides_any(count)})), "
        f"list(DISTINCT level ORDER BY level) FILTER (WHERE NOT removed AND {_hides_any(count)}), {cells} "
        f"FROM {scratch.plan}").fetchone()
    return _Counts(records_in=int(row[0]), records_removed=int(row[1]), records_suppressed=int(row[2]),
                   cells_suppressed={q: int(c) for q, c in zip(qis, row[5:])},
                   changed_combinations_from_k=int(row[3]), levels=tuple(row[4] or ()))


# --------------------------------------------------------------------------- writing back


def _write_back(con, target: str, scratch: _Scratch, qis: list[str], k: int, sensitive: str | None,
                counts: _Counts) -> None:
    """Hide values and remove records in ``target``, in place, by row id (the row order stays)."""
    if not counts.records_removed and not counts.records_suppressed:
        return
    count = len(qis)
    changing = f"(removed OR {_hides_any(count)})"
    changes = (f"SELECT unnest(c.row_ids) AS row_id, p.level, p.removed FROM "
               f"(SELECT combination, level, removed FROM {scratch.plan} WHERE n < {k} AND {changing}) AS p "
               f"JOIN {scratch.combinations} AS c ON c.rowid = p.combination")
    if counts.changed_combinations_from_k:
        # only l-diversity changes combinations of k records or more; their row ids were not all kept
        matches = [f"t.{quote_ident(q)} IS NOT DISTINCT FROM c.q{i}" for i, q in enumerate(qis)]
        matches.append(f"t.{quote_ident(sensitive)} IS NOT DISTINCT FROM c.s")
        changes += (f" UNION ALL SELECT t.rowid, c.level, c.removed FROM {target} AS t JOIN "
                    f"(SELECT * FROM {scratch.plan} WHERE n >= {k} AND {changing}) AS c ON {' AND '.join(matches)}")
    con.execute(f"CREATE TEMP TABLE {scratch.changes} AS {changes}")
    for level in counts.levels:
        # constant NULLs, one statement per level: cheaper than reading each value back in a CASE
        hidden = ", ".join(f"{quote_ident(q)} = NULL" for i, q in enumerate(qis) if _rank(i, count) <= level)
        con.execute(f"UPDATE {target} AS t SET {hidden} FROM {scratch.changes} AS c "
                    f"WHERE t.rowid = c.row_id AND NOT c.removed AND c.level = {level}")
    if counts.records_removed:
        con.execute(f"DELETE FROM {target} WHERE rowid IN (SELECT row_id FROM {scratch.changes} WHERE removed)")


# --------------------------------------------------------------------------- risk and the result


@dataclass(frozen=True)
class _ClassSummary:
    risk: Risk
    smallest: int | None
    least_diverse: int | None


def _class_summary(con, classes_sql: str, threshold: float, diverse: bool = False) -> _ClassSummary:
    """Risk and extremes over a query yielding one row per class: ``size`` (and ``diversity``)."""
    diversity = "min(diversity)" if diverse else "NULL"
    records, classes, smallest, at_risk, least_diverse = con.execute(
        f"SELECT coalesce(sum(size), 0), count(*), min(size), coalesce(sum(size) FILTER "
        f"(WHERE 1.0::DOUBLE / size > CAST('{float(threshold)!r}' AS DOUBLE)), 0), {diversity} FROM ({classes_sql})"
    ).fetchone()
    records, at_risk = int(records), int(at_risk)
    summary = Risk(records=records, classes=int(classes), threshold=float(threshold),
                   highest=1.0 / int(smallest) if smallest else 0.0, records_at_risk=at_risk,
                   share_at_risk=at_risk / records if records else 0.0,
                   average=int(classes) / records if records else 0.0)
    return _ClassSummary(summary, int(smallest) if smallest is not None else None,
                         int(least_diverse) if least_diverse is not None else None)


def _result(qis, k, max_suppression, sensitive, l, counts: _Counts, before: _ClassSummary,
            after: _ClassSummary) -> KAnonymityResult:
    records_out = counts.records_in - counts.records_removed
    touched = counts.records_suppressed + counts.records_removed
    share = touched / counts.records_in if counts.records_in else 0.0
    cells = sum(counts.cells_suppressed.values())
    published_cells = records_out * len(qis)
    passed = share <= max_suppression
    plain = _plain(qis, k, max_suppression, sensitive, l, counts, share, passed)
    return KAnonymityResult(
        quasi_identifiers=list(qis), k=k, max_suppression=float(max_suppression), sensitive=sensitive, l=l,
        records_in=counts.records_in, records_out=records_out, records_suppressed=counts.records_suppressed,
        records_removed=counts.records_removed, cells_suppressed=dict(counts.cells_suppressed),
        cell_share=cells / published_cells if published_cells else 0.0, suppressed_share=share,
        k_achieved=after.smallest, l_achieved=after.least_diverse if sensitive else None, passed=passed,
        risk_before=before.risk, risk_after=after.risk, plain=plain)


def _plain(qis, k, max_suppression, sensitive, l, counts: _Counts, share: float, passed: bool) -> str:
    """One sentence for the public, e.g. "to make every combination of age band, sex and district
    shared by at least 5 records, 312 values (0.3% of records) were hidden and 4 records removed"."""
    goal = f"every combination of {_names(qis)}"
    diversity = f" with at least {l} different values of {_name(sensitive)}" if sensitive else ""
    cells = sum(counts.cells_suppressed.values())
    removed = counts.records_removed
    if not cells and not removed:
        return f"{goal} was already shared by at least {k} records{diversity}; nothing was hidden"
    done = []
    if cells:
        done.append(f"{_count(cells, 'value')} ({_percent(counts.records_suppressed / counts.records_in)} "
                    f"of records) {'was' if cells == 1 else 'were'} hidden")
    if removed:
        done.append(f"{_count(removed, 'record')} {'was ' if not cells else ''}removed")
    sentence = f"to make {goal} shared by at least {k} records{diversity}, {' and '.join(done)}"
    if not passed:
        sentence += (f"; that touches {_percent(share)} of the records, more than the "
                     f"{_percent(max_suppression)} allowed")
    return sentence


def _name(column: str) -> str:
    return column.replace("_", " ").strip()


def _names(columns: list[str]) -> str:
    names = [_name(c) for c in columns]
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]


def _count(number: int, noun: str) -> str:
    return f"{number:,} {noun}{'' if number == 1 else 's'}"


def _percent(share: float) -> str:
    if 0 < share < 0.001:
        return "less than 0.1%"
    return f"{share:.1%}"
