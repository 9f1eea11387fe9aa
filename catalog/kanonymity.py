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
    the one it most wants to keep first. A declared order rather than "most distinct values
    first": the publisher knows which column users need most, and the same column goes first in
    every release, so releases stay comparable. At each step the value of the next
    quasi-identifier is replaced by NULL in every record of a small class; the classes are then
    recomputed. Records still in a small class once every quasi-identifier is suppressed are
    removed (record suppression).
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

Speed: after a plain copy, one GROUP BY over the table counts the records of every combination
of values and keeps the row ids of combinations smaller than k; the suppression steps then run
over the few combinations that can change (one window pass per quasi-identifier), and the
changes are written into the copy by row id (an UPDATE per number of values lost, a DELETE).
Updating in place keeps the row order, which rebuilding the table through a join would not.
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
    qis = _listed(quasi_identifiers)
    _check_arguments(con, source, target, qis, k, max_suppression, sensitive, l, risk_threshold)
    threshold = risk_threshold if risk_threshold is not None else 1 / k
    con.execute(f"CREATE OR REPLACE TABLE {target} AS SELECT * FROM {source}")
    run = _Run.start(target, qis, k, sensitive, l)
    try:
        con.execute(f"CREATE TEMP TABLE {run.combinations} AS {_combinations_sql(run)}")
        if sensitive:
            con.execute(f"CREATE TEMP TABLE {run.classes} AS {_classes_sql(run)}")
        con.execute(f"CREATE TEMP TABLE {run.plan} AS {_plan_sql(run)}")
        counts, before, after = _measure(con, run, threshold)
        _write_back(con, run, counts)
    finally:
        con.execute("; ".join(f"DROP TABLE IF EXISTS {name}" for name in run.scratch))
    return _result(qis, k, max_suppression, sensitive, l, counts, before, after)


def risk(con: duckdb.DuckDBPyConnection, relation: str, quasi_identifiers: list[str], threshold: float) -> Risk:
    """Prosecutor risk of ``relation`` over ``quasi_identifiers``: a record's risk is 1 / its class size."""
    qis = _listed(quasi_identifiers)
    _check_columns(con, relation, qis)
    _check_threshold(threshold)
    grouping = ", ".join(quote_ident(q) for q in qis)
    classes = f"SELECT count(*) AS size FROM {relation} GROUP BY {grouping}"
    return _class_summary(con.execute(_class_summary_sql(classes, threshold)).fetchone(), threshold).risk


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


def _listed(quasi_identifiers) -> list[str]:
    if isinstance(quasi_identifiers, str):
        raise ValueError(f"k-anonymity: quasi_identifiers must be a list of column names, such as "
                         f"[{quasi_identifiers!r}]")
    return list(quasi_identifiers)


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


# --------------------------------------------------------------------------- one run


@dataclass(frozen=True)
class _Run:
    """One enforcement: the rule and the tables it works with. In the scratch tables the
    quasi-identifiers are q0, q1, ... in the declared order, and the sensitive column is s."""

    target: str
    qis: tuple[str, ...]
    k: int
    sensitive: str | None
    l: int | None
    combinations: str   # one row per combination of input values (and sensitive value): n records, row ids
    classes: str        # one row per input class: n records (and diversity); without l, the combinations
    plan: str           # the combinations that can change: values lost (level), removed or not
    changes: str        # one row per record that changes

    @classmethod
    def start(cls, target: str, qis: list[str], k: int, sensitive: str | None, l: int | None) -> "_Run":
        run = uuid.uuid4().hex[:12]
        combinations, classes, plan, changes = (f"{SCRATCH_PREFIX}{role}_{run}"
                                                for role in ("combinations", "classes", "plan", "changes"))
        return cls(target, tuple(qis), k, sensitive, l, combinations,
                   classes if sensitive else combinations, plan, changes)

    @property
    def scratch(self) -> list[str]:
        return list(dict.fromkeys((self.combinations, self.classes, self.plan, self.changes)))

    @property
    def count(self) -> int:
        return len(self.qis)

    @property
    def aliases(self) -> str:
        return ", ".join(f"q{i}" for i in range(self.count))

    def rank(self, index: int) -> int:
        """The step at which quasi-identifier ``index`` is suppressed: the last-listed at step 1."""
        return self.count - index

    def current_values(self) -> str:
        """A combination's quasi-identifier values after its first ``level`` suppressions."""
        return ", ".join(f"CASE WHEN level >= {self.rank(i)} THEN NULL ELSE q{i} END" for i in range(self.count))

    def hidden(self, index: int) -> str:
        """True when a combination's value of quasi-identifier ``index`` is hidden (it was not NULL already)."""
        return f"(q{index} IS NOT NULL AND level >= {self.rank(index)})"

    def hides_any(self) -> str:
        return "(" + " OR ".join(self.hidden(i) for i in range(self.count)) + ")"

    def small_on_input(self) -> str:
        """True for an input class (a row of ``classes``) too small, or too uniform."""
        return f"n < {self.k}" + (f" OR diversity < {self.l}" if self.sensitive else "")

    def taking_part(self) -> str:
        """Input classes that can change or be joined: the small ones, and those whose last-suppressed
        value is NULL already, the only classes suppressed records can join."""
        return f"({self.small_on_input()} OR q{self.count - 1} IS NULL)"


def _combinations_sql(run: _Run) -> str:
    """The one pass over the records: the count ``n`` of every combination of quasi-identifier
    values (and sensitive value, with l-diversity), and its first k-1 row ids, which are all of
    them for the combinations smaller than k."""
    columns = [f"{quote_ident(q)} AS q{i}" for i, q in enumerate(run.qis)]
    if run.sensitive:
        columns.append(f"{quote_ident(run.sensitive)} AS s")
    positions = ", ".join(str(p) for p in range(1, len(columns) + 1))
    return (f"SELECT {', '.join(columns)}, count(*) AS n, min(rowid, {run.k - 1}) AS row_ids "
            f"FROM {run.target} GROUP BY {positions}")


def _classes_sql(run: _Run) -> str:
    """The input classes, with l-diversity. Each combination row has its own sensitive value, so
    count(s) counts the distinct non-null ones."""
    return f"SELECT {run.aliases}, sum(n) AS n, count(s) AS diversity FROM {run.combinations} GROUP BY {run.aliases}"


def _plan_sql(run: _Run) -> str:
    """The suppression steps over the combinations taking part, one window pass per step after
    the first (whose classes are the input's). ``level`` counts the values a combination loses,
    ``removed`` marks the records suppressed entirely. The other combinations keep their values."""
    small = f"sum(n) OVER class < {run.k}" + (f" OR count(DISTINCT s) OVER class < {run.l}" if run.sensitive else "")
    window = f"WINDOW class AS (PARTITION BY {run.current_values()})"
    if run.sensitive:
        columns = ", ".join(f"c.q{i}" for i in range(run.count))
        matches = " AND ".join(f"c.q{i} IS NOT DISTINCT FROM i.q{i}" for i in range(run.count))
        first = (f"SELECT c.rowid AS combination, {columns}, c.s, c.n, CASE WHEN i.small THEN 1 ELSE 0 END AS level "
                 f"FROM {run.combinations} AS c JOIN (SELECT {run.aliases}, ({run.small_on_input()}) AS small "
                 f"FROM {run.classes} WHERE {run.taking_part()}) AS i ON {matches}")
    else:
        first = (f"SELECT rowid AS combination, {run.aliases}, n, "
                 f"CASE WHEN {run.small_on_input()} THEN 1 ELSE 0 END AS level "
                 f"FROM {run.combinations} WHERE {run.taking_part()}")
    steps = [f"step1 AS ({first})"]
    for step in range(2, run.count + 1):
        steps.append(f"step{step} AS (SELECT * REPLACE (CASE WHEN {small} THEN {step} ELSE level END AS level) "
                     f"FROM step{step - 1} {window})")
    return f"WITH {', '.join(steps)} SELECT *, {small} AS removed FROM step{run.count} {window}"


def _published_classes_sql(run: _Run) -> str:
    """One row per published class: the input classes left alone, then those the plan made."""
    kept, made = (", diversity", ", count(DISTINCT s) AS diversity") if run.sensitive else ("", "")
    return (f"SELECT n AS size{kept} FROM {run.classes} WHERE NOT {run.taking_part()} "
            f"UNION ALL SELECT sum(n) AS size{made} FROM {run.plan} WHERE NOT removed "
            f"GROUP BY {run.current_values()}")


@dataclass(frozen=True)
class _Counts:
    records_in: int
    records_removed: int
    records_suppressed: int
    cells_suppressed: dict[str, int]
    changed_combinations_from_k: int   # changing combinations of k records or more (l-diversity only)
    levels: tuple[int, ...]            # the numbers of values lost by published records that lose some


def _counts_sql(run: _Run) -> str:
    hides = run.hides_any()
    cells = ", ".join(f"coalesce(sum(n) FILTER (WHERE NOT removed AND {run.hidden(i)}), 0)" for i in range(run.count))
    return (f"SELECT (SELECT coalesce(sum(n), 0) FROM {run.classes}), "
            f"coalesce(sum(n) FILTER (WHERE removed), 0), coalesce(sum(n) FILTER (WHERE NOT removed AND {hides}), 0), "
            f"count(*) FILTER (WHERE n >= {run.k} AND (removed OR {hides})), "
            f"list(DISTINCT level ORDER BY level) FILTER (WHERE NOT removed AND {hides}), {cells} FROM {run.plan}")


def _measure(con, run: _Run, threshold: float) -> tuple[_Counts, _ClassSummary, _ClassSummary]:
    """What the plan does, and the classes before and after it, in one query over the small tables."""
    before = _class_summary_sql(f"SELECT n AS size FROM {run.classes}", threshold)
    after = _class_summary_sql(_published_classes_sql(run), threshold, diverse=bool(run.sensitive))
    row = con.execute(f"SELECT * FROM ({_counts_sql(run)}), ({before}), ({after})").fetchone()
    count = run.count
    measured, before_row, after_row = row[:5 + count], row[5 + count:10 + count], row[10 + count:]
    counts = _Counts(records_in=int(measured[0]), records_removed=int(measured[1]),
                     records_suppressed=int(measured[2]), changed_combinations_from_k=int(measured[3]),
                     levels=tuple(measured[4] or ()),
                     cells_suppressed={q: int(c) for q, c in zip(run.qis, measured[5:])})
    return counts, _class_summary(before_row, threshold), _class_summary(after_row, threshold)


# --------------------------------------------------------------------------- writing back


def _write_back(con, run: _Run, counts: _Counts) -> None:
    """Hide values and remove records in the target, in place, by row id (the row order stays)."""
    if not counts.records_removed and not counts.records_suppressed:
        return
    changing = f"(removed OR {run.hides_any()})"
    changes = (f"SELECT unnest(c.row_ids) AS row_id, p.level, p.removed FROM "
               f"(SELECT combination, level, removed FROM {run.plan} WHERE n < {run.k} AND {changing}) AS p "
               f"JOIN {run.combinations} AS c ON c.rowid = p.combination")
    if counts.changed_combinations_from_k:
        # only l-diversity changes combinations of k records or more; their row ids were not all kept
        matches = [f"t.{quote_ident(q)} IS NOT DISTINCT FROM c.q{i}" for i, q in enumerate(run.qis)]
        matches.append(f"t.{quote_ident(run.sensitive)} IS NOT DISTINCT FROM c.s")
        changes += (f" UNION ALL SELECT t.rowid, c.level, c.removed FROM {run.target} AS t JOIN "
                    f"(SELECT * FROM {run.plan} WHERE n >= {run.k} AND {changing}) AS c ON {' AND '.join(matches)}")
    con.execute(f"CREATE TEMP TABLE {run.changes} AS {changes}")
    for level in counts.levels:
        # constant NULLs, one statement per level: cheaper than reading each value back in a CASE
        hidden = ", ".join(f"{quote_ident(q)} = NULL" for i, q in enumerate(run.qis) if run.rank(i) <= level)
        con.execute(f"UPDATE {run.target} AS t SET {hidden} FROM {run.changes} AS c "
                    f"WHERE t.rowid = c.row_id AND NOT c.removed AND c.level = {level}")
    if counts.records_removed:
        con.execute(f"DELETE FROM {run.target} WHERE rowid IN (SELECT row_id FROM {run.changes} WHERE removed)")


# --------------------------------------------------------------------------- risk and the result


@dataclass(frozen=True)
class _ClassSummary:
    risk: Risk
    smallest: int | None
    least_diverse: int | None


def _class_summary_sql(classes_sql: str, threshold: float, diverse: bool = False) -> str:
    """Records, classes, the smallest class, the records at risk and the least diversity, over a
    query yielding one row per class: ``size`` (and ``diversity``)."""
    above = f"1.0::DOUBLE / size > CAST('{float(threshold)!r}' AS DOUBLE)"
    return (f"SELECT coalesce(sum(size), 0), count(*), min(size), coalesce(sum(size) FILTER (WHERE {above}), 0), "
            f"{'min(diversity)' if diverse else 'NULL'} FROM ({classes_sql})")


def _class_summary(row: tuple, threshold: float) -> _ClassSummary:
    records, classes, smallest, at_risk, least_diverse = row
    records, classes, at_risk = int(records), int(classes), int(at_risk)
    summary = Risk(records=records, classes=classes, threshold=float(threshold),
                   highest=1.0 / int(smallest) if smallest else 0.0, records_at_risk=at_risk,
                   share_at_risk=at_risk / records if records else 0.0,
                   average=classes / records if records else 0.0)
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
