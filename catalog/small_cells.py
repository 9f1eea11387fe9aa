"""Small-cell protection for tables of counts, before they are published.

A table of counts (hospital admissions by region, month and age band) can single people out
when a count is small. Each count column goes through one of three rules:

``suppress``
    Counts from 1 to k-1 are hidden (primary suppression); 0 stays 0 unless zeros are declared
    disclosive. This is the threshold rule of ONS research outputs, the ABS "rule of 10" and
    sdcTable's ``freq`` rule. More cells are then hidden (secondary suppression, as in sdcTable's
    ``protectTable``) until no hidden cell can be worked out from the totals; see below.
``round``
    The ONS "10-5 rule" (Census 2021 and the Integrated Data Service): counts from 1 to k-1 are
    hidden and every other count is rounded half up to the nearest ``base`` (k=10, base=5).
``nhs``
    The NHS Digital rule for Hospital Episode Statistics (HES) and ECDS since September 2018:
    0 stays 0, 1 to 7 are hidden and every other count is rounded to the nearest 5. The base
    and the upper end of the hidden range (``nhs_max``) may be declared; ``k`` is not used.

Under the rounding rules a count that would round into the hidden range is hidden as well
(k=12, base=5 would publish 10 for a count of 12), so no published count ever lies in 1..k-1.

Rounding needs no secondary suppression: every cell is rounded on its own, total rows included,
so subtracting a line's published cells from its published total no longer gives a hidden count,
only a range as wide as the rounding errors of the cells involved. NHS Digital replaced its
secondary suppression with this rule in 2018. A base of 1 rounds nothing, so rounding rules with
base 1 get secondary suppression like ``suppress``.

Secondary suppression and the audit
    A *line* is the cells along one dimension with the other dimensions fixed, together with
    its total cell when the table has one (a row whose value in that dimension is
    ``total_label``, e.g. "All"). Every margin is treated as known: a line without a total cell
    adds up to a number anyone may know (published elsewhere, or before suppression); a line
    with a total cell adds up to that cell, which is protected like any other and, once hidden,
    is unknown. A dimension with a single value adds no lines: its sums are the cells themselves.
    Three steps then repeat until nothing changes:

    1. the classic heuristic: a line must not hold exactly one hidden cell, so such a line also
       hides its smallest published cell, preferring non-zero cells, cells that are not totals,
       and cells that also fix another line;
    2. the exact audit (``derivable_cells``): with the hidden cells as unknowns and one equation
       per line (the sum of its unknowns equals its margin minus its published cells), a hidden
       cell can be worked out exactly when its unit vector lies in the row space of the system,
       i.e. every solution of the homogeneous system is zero there. The unknowns split into
       independent connected groups; each group is decided by an SVD rank test (numpy). A group
       too large for a dense SVD is decided by projecting random vectors onto the null space
       with conjugate gradients; a cell whose projection is not clearly non-zero counts as
       derivable, which can only make the protection hide more;
    3. each derivable cell hides the smallest published cell on a line through it. The line
       heuristic alone often leaves cells derivable in tables of three or more dimensions; a cell
       still derivable after three rounds hides the rest of the cheapest 2x2x... box of cells
       around it, which protects it for good (sdcTable's hypercube idea).

    A cell that no amount of hiding can protect (e.g. the only cell of its line, so the line's
    known sum is its value) stays hidden and is counted as ``unprotected`` in the report.

Limits: the audit rules out exact recovery by linear algebra. It does not guarantee a width for
the range an attacker can narrow a hidden count to using the fact that counts are never negative
(sdcTable's "protection level"); partners are chosen non-zero where possible because a hidden
zero beside a small count narrows that range most. Under the rounding rules nothing bounds how far
combining several rounded totals can narrow a hidden count.

The report says how many cells each step hid, never which cells or their values: knowing which
hidden cells were hidden by the primary rule would reveal them as small.
"""

from __future__ import annotations

import itertools
import numbers
from collections import deque
from dataclasses import asdict, dataclass, field

import numpy as np
import pandas as pd

RULES = ("suppress", "round", "nhs")
NHS_HIDDEN_UP_TO = 7
DENSE_AUDIT_LIMIT = 1000          # unknowns in one group above which the audit projects instead of an SVD
NULL_SPACE_TOLERANCE = 1e-8       # a null-space weight below this counts as zero: the cell is derivable
PARTNER_ATTEMPTS = 3              # rounds of single partners before a revealed cell gets a whole box
BOX_OPTIONS = 4                   # other values tried per dimension when completing a box
PROJECTION_SAMPLES = 3
PROJECTION_ZERO = 1e-6            # a projected coordinate below this counts as zero (conservative)
PROJECTION_CONVERGED = 1e-11
PROJECTION_MAX_ITERATIONS = 5_000


@dataclass(frozen=True)
class ColumnProtection:
    """What protection did to one count column: numbers of cells only, never values."""

    column: str
    cells: int
    primary: int        # hidden because the count is small
    secondary: int      # hidden so that the totals cannot reveal a small count
    rounded: int        # published non-zero counts that went through rounding
    unprotected: int    # hidden cells that the totals still reveal whatever else is hidden
    plain: str


@dataclass(frozen=True)
class SmallCellReport:
    rule: str
    k: int
    base: int | None
    hidden_up_to: int             # counts from 1 to this were hidden by the primary rule
    zero_disclosive: bool
    total_label: str | None
    columns: dict[str, ColumnProtection] = field(default_factory=dict)

    @property
    def plain(self) -> str:
        parts = [f"in '{c.column}', {c.plain}" for c in self.columns.values()]
        text = "; ".join(parts)
        return text[:1].upper() + text[1:] + "." if text else ""

    @property
    def passed(self) -> bool:
        """False when some hidden cell can still be worked out from the totals."""
        return all(c.unprotected == 0 for c in self.columns.values())

    def to_json(self) -> dict:
        return {"rule": self.rule, "k": self.k, "base": self.base, "hidden_up_to": self.hidden_up_to,
                "zero_disclosive": self.zero_disclosive, "total_label": self.total_label,
                "columns": {name: asdict(c) for name, c in self.columns.items()}, "plain": self.plain,
                "passed": self.passed}


# --------------------------------------------------------------------------- public API


def protect_counts(table: pd.DataFrame, dimensions: list[str], counts: list[str], rule: str, k: int = 10,
                   base: int = 5, zero_disclosive: bool = False, total_label: str | None = None, *,
                   nhs_max: int = NHS_HIDDEN_UP_TO) -> tuple[pd.DataFrame, SmallCellReport]:
    """Protect the small counts of a long-form table of counts (one row per cell).

    ``dimensions`` name the columns that identify a cell, ``counts`` the columns to protect,
    each with its own suppression pattern. ``rule`` is "suppress", "round" or "nhs" (see the
    module docstring); ``k`` is the threshold (counts 1..k-1 hidden), ``base`` the rounding
    base, ``nhs_max`` the top of the range the "nhs" rule hides. With ``total_label``, rows
    whose value in some dimension equals it are the table's published totals.

    Returns a copy of ``table`` whose count columns are nullable Int64, hidden counts being
    missing, and a report. Raises ValueError for unknown or repeated columns, counts that are
    missing, negative or not whole numbers, a cell given twice, an unknown rule, k < 2 or
    base < 1.
    """
    _check_arguments(table, dimensions, counts, rule, k, base, nhs_max, total_label)
    true_counts = {column: _count_values(table, column) for column in counts}
    _check_unique_cells(table, dimensions)
    hidden_up_to = _hidden_up_to(rule, k, base, nhs_max)
    needs_secondary = rule == "suppress" or base == 1
    structure = _TableLines(table, dimensions, total_label) if needs_secondary else None
    published = table.copy()
    columns = {}
    for column in counts:
        values = true_counts[column]
        primary = _primary_hidden(values, hidden_up_to, zero_disclosive)
        hidden, unprotected = primary, np.zeros(len(values), bool)
        if structure is not None:
            hidden, unprotected = _hide_from_margins(values, primary, structure)
        shown = values if rule == "suppress" else round_half_up(values, base)
        rounded = int(np.count_nonzero(~hidden & (values > 0))) if rule != "suppress" and base > 1 else 0
        published[column] = pd.arrays.IntegerArray(shown.astype("int64"), hidden.copy())
        secondary, left = int((hidden & ~primary).sum()), int(unprotected.sum())
        columns[column] = ColumnProtection(
            column, cells=len(values), primary=int(primary.sum()), secondary=secondary, rounded=rounded,
            unprotected=left, plain=_plain(rule, hidden_up_to, base, zero_disclosive, secondary, left))
    report = SmallCellReport(rule, k, base if rule != "suppress" else None, hidden_up_to, zero_disclosive,
                             total_label, columns)
    return published, report


def derivable_cells(published: pd.DataFrame, dimensions: list[str], count: str,
                    total_label: str | None = None) -> pd.Index:
    """Index labels of the hidden (missing) counts that the totals reveal exactly.

    Every margin is taken as known, as described in the module docstring; with ``total_label``
    the rows carrying it are the table's own total cells. Only which cells are missing matters,
    not the published values.
    """
    _check_columns(published, [*dimensions, count])
    _check_unique_cells(published, dimensions)
    hidden = published[count].isna().to_numpy(bool)
    revealed = _derivable(_TableLines(published, dimensions, total_label), hidden)
    return published.index[revealed]


def round_half_up(values: np.ndarray, base: int) -> np.ndarray:
    """Whole counts to the nearest multiple of ``base``, halves upwards (base 10: 15 -> 20)."""
    values = np.asarray(values, dtype=np.int64)
    return (values + base // 2) // base * base


# --------------------------------------------------------------------------- input checks


def _check_arguments(table, dimensions, counts, rule, k, base, nhs_max, total_label) -> None:
    if not isinstance(table, pd.DataFrame):
        raise ValueError("the table of counts must be a pandas DataFrame")
    dimensions, counts = list(dimensions), list(counts)
    if not dimensions:
        raise ValueError("name at least one dimension column (such as region or month)")
    if not counts:
        raise ValueError("name at least one count column")
    both = [c for c in counts if c in dimensions]
    if both:
        raise ValueError(f"{_quoted(both)} cannot be both a dimension and a count")
    _check_columns(table, [*dimensions, *counts])
    if rule not in RULES:
        raise ValueError(f"unknown small-cell rule {rule!r}; use one of {', '.join(RULES)}")
    if not _is_whole(k) or k < 2:
        raise ValueError(f"k must be a whole number of at least 2, got {k!r}")
    if not _is_whole(base) or base < 1:
        raise ValueError(f"base must be a whole number of at least 1, got {base!r}")
    if not _is_whole(nhs_max) or nhs_max < 1:
        raise ValueError(f"nhs_max must be a whole number of at least 1, got {nhs_max!r}")
    if total_label is not None and not isinstance(total_label, str):
        raise ValueError(f"total_label must be a text such as 'All', got {total_label!r}")


def _check_columns(table: pd.DataFrame, names: list[str]) -> None:
    unknown = [n for n in names if n not in table.columns]
    if unknown:
        raise ValueError(f"unknown column{'s' if len(unknown) > 1 else ''} {_quoted(unknown)}; "
                         f"the table has {_quoted([str(c) for c in table.columns])}")
    repeated = sorted({n for n in names if names.count(n) > 1})
    if repeated:
        raise ValueError(f"{_quoted(repeated)} is named more than once")


def _count_values(table: pd.DataFrame, column: str) -> np.ndarray:
    """The column as int64, or a ValueError saying which rows are not counts (never their values)."""
    series = table[column].infer_objects()
    if pd.api.types.is_bool_dtype(series) or not pd.api.types.is_numeric_dtype(series):
        raise ValueError(f"count column '{column}' must hold whole numbers, but its type is {series.dtype}")
    missing = series.isna().to_numpy(bool)
    if missing.any():
        raise ValueError(f"count column '{column}' has {_rows(table, missing)} without a count; a table of "
                         f"counts needs every count (write 0 for none)")
    as_numbers = series.to_numpy(dtype="float64")
    fractional = ~np.isfinite(as_numbers) | (as_numbers != np.floor(as_numbers))
    if fractional.any():
        raise ValueError(f"count column '{column}' has {_rows(table, fractional)} that are not whole numbers")
    negative = as_numbers < 0
    if negative.any():
        raise ValueError(f"count column '{column}' has {_rows(table, negative)} with a negative count")
    return series.to_numpy(dtype="int64")


def _check_unique_cells(table: pd.DataFrame, dimensions: list[str]) -> None:
    repeated = table.duplicated(subset=list(dimensions), keep=False).to_numpy(bool)
    if repeated.any():
        first = table.loc[repeated, list(dimensions)].iloc[0]
        cell = ", ".join(f"{name}={value!r}" for name, value in first.items())
        raise ValueError(f"{int(repeated.sum())} rows repeat a cell (e.g. {cell}); each combination of "
                         f"{_quoted(list(dimensions))} must appear once")


def _is_whole(value) -> bool:
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)


def _rows(table: pd.DataFrame, mask: np.ndarray) -> str:
    """How many rows, and the index label of the first: where to look, never what is there."""
    first = table.index[int(np.flatnonzero(mask)[0])]
    count = int(mask.sum())
    return f"{count} row{'s' if count > 1 else ''} (the first with index {first!r})"


def _quoted(names) -> str:
    return ", ".join(f"'{n}'" for n in names)


# --------------------------------------------------------------------------- primary rules


def _hidden_up_to(rule: str, k: int, base: int, nhs_max: int) -> int:
    """The largest count the primary rule hides: k-1 (or nhs_max), extended under rounding to every
    count that would round to a published value below the threshold."""
    if rule == "suppress":
        return k - 1
    threshold = k if rule == "round" else nhs_max + 1
    largest = threshold - 1
    while 0 < round_half_up(largest + 1, base) < threshold:
        largest += 1
    return largest


def _primary_hidden(values: np.ndarray, hidden_up_to: int, zero_disclosive: bool) -> np.ndarray:
    lowest = 0 if zero_disclosive else 1
    return (values >= lowest) & (values <= hidden_up_to)


# --------------------------------------------------------------------------- lines of the table


class _TableLines:
    """Every line of the table, as cell positions (rows of the table).

    Entries are (line, cell, sign) triples sorted by line, a line's total cell last with sign -1
    (the line says: sum of body cells - total cell = 0, or = a known number when it has no total).
    A dimension with a single value adds no lines: its sums are the cells themselves.
    """

    def __init__(self, table: pd.DataFrame, dimensions: list[str], total_label: str | None):
        self.cells = len(table)
        codes = [pd.factorize(table[d], use_na_sentinel=False)[0] for d in dimensions]
        is_total = [_is_total_value(table[d], total_label) for d in dimensions]
        self.is_total = np.logical_or.reduce(is_total) if is_total else np.zeros(self.cells, bool)
        levels = [int(c.max()) + 1 if len(c) else 0 for c in codes]
        varying = [axis for axis, n in enumerate(levels) if n >= 2]
        self.codes = np.stack([codes[axis] for axis in varying], axis=1) if varying else np.zeros((self.cells, 0), int)
        self.levels = [levels[axis] for axis in varying]
        self.complete = self.cells == int(np.prod(self.levels))
        line_parts, sign_parts, lines_so_far = [], [], 0
        for axis, dimension in enumerate(varying):
            group = _group_ids([self.codes[:, i] for i in range(len(varying)) if i != axis], self.cells)
            line_parts.append(group + lines_so_far)
            sign_parts.append(np.where(is_total[dimension], -1, 1))
            lines_so_far += int(group.max()) + 1
        line = np.concatenate(line_parts) if line_parts else np.zeros(0, np.int64)
        sign = np.concatenate(sign_parts) if sign_parts else np.zeros(0, np.int64)
        cell = np.tile(np.arange(self.cells), len(varying))
        # a total with no body cell in its line says nothing about other cells
        body_cells = np.bincount(line, weights=sign > 0, minlength=lines_so_far)
        keep = body_cells[line] > 0
        line, sign, cell = line[keep], sign[keep], cell[keep]
        _, line = np.unique(line, return_inverse=True)
        order = np.lexsort((-sign, line))
        self.entry_line, self.entry_cell, self.entry_sign = line[order], cell[order], sign[order]
        self.lines = int(line.max()) + 1 if len(line) else 0
        self._members: list[list[int]] | None = None
        self._through: list[list[int]] | None = None
        self._unprotectable: np.ndarray | None = None
        self._cell_at: dict[tuple, int] | None = None

    @property
    def members(self) -> list[list[int]]:
        if self._members is None:
            starts = np.searchsorted(self.entry_line, np.arange(1, self.lines))
            self._members = [part.tolist() for part in np.split(self.entry_cell, starts)] if self.lines else []
        return self._members

    @property
    def through(self) -> list[list[int]]:
        """For each cell, the lines it lies on."""
        if self._through is None:
            order = np.argsort(self.entry_cell, kind="stable")
            starts = np.searchsorted(self.entry_cell[order], np.arange(1, self.cells))
            self._through = [part.tolist() for part in np.split(self.entry_line[order], starts)]
        return self._through

    @property
    def unprotectable(self) -> np.ndarray:
        """Cells the margins reveal even when every cell of the table is hidden."""
        if self._unprotectable is None:
            lengths = np.bincount(self.entry_line, minlength=self.lines)
            if self.complete and lengths.min(initial=2) >= 2:
                # every cell is a corner of a complete box, which keeps it hidden (see cheapest_box)
                self._unprotectable = np.zeros(self.cells, bool)
            else:
                self._unprotectable = _derivable(self, np.ones(self.cells, bool))
        return self._unprotectable

    def cheapest_box(self, cell: int, cost: np.ndarray) -> list[int] | None:
        """The corners of the cheapest 2x2x... box of cells with ``cell`` as a corner, or None
        when the table has no complete box through it.

        Filling the corners with alternating +1 and -1 (the sign flipped once more on each
        total coordinate) adds zero to every line, so once all corners are hidden, the corner
        values can move without changing any margin: none of them can be worked out. Only the
        BOX_OPTIONS cheapest other values of each dimension are tried.
        """
        if self._cell_at is None:
            self._cell_at = {tuple(row): i for i, row in enumerate(self.codes.tolist())}
        here = self.codes[cell].tolist()
        options = []
        for axis, levels in enumerate(self.levels):
            priced = []
            for level in range(levels):
                neighbour = self._cell_at.get(tuple(here[:axis] + [level] + here[axis + 1:]))
                if level != here[axis] and neighbour is not None:
                    priced.append((cost[neighbour], level))
            if not priced:
                return None
            options.append([(here[axis], level) for _, level in sorted(priced)[:BOX_OPTIONS]])
        best, best_cost = None, np.inf
        for sides in itertools.product(*options):
            corners = [self._cell_at.get(corner) for corner in itertools.product(*sides)]
            if None in corners:
                continue
            price = cost[corners].sum()
            if price < best_cost:
                best, best_cost = corners, price
        return best


def _is_total_value(column: pd.Series, total_label: str | None) -> np.ndarray:
    if total_label is None:
        return np.zeros(len(column), bool)
    return column.astype(object).eq(total_label).fillna(False).to_numpy(bool)


def _group_ids(codes: list[np.ndarray], rows: int) -> np.ndarray:
    """One id per distinct combination of the given code columns."""
    if not codes or rows == 0:
        return np.zeros(rows, np.int64)
    _, ids = np.unique(np.stack(codes, axis=1), axis=0, return_inverse=True)
    return ids.ravel().astype(np.int64)


# --------------------------------------------------------------------------- secondary suppression


def _hide_from_margins(values: np.ndarray, primary: np.ndarray, lines: _TableLines) -> tuple[np.ndarray, np.ndarray]:
    """Primary pattern -> (hidden cells, hidden cells still revealed), alternating the line
    heuristic and the exact audit until the audit finds nothing more it can fix."""
    hidden = primary.copy()
    if not hidden.any():
        return hidden, np.zeros_like(hidden)
    given_up = np.zeros_like(hidden)
    attempts = np.zeros(len(hidden), np.int64)
    while True:
        _fix_lines_with_one_hidden(values, hidden, lines)
        revealed = _derivable(lines, hidden)
        given_up |= revealed & lines.unprotectable
        to_fix = np.flatnonzero(revealed & ~given_up)
        if not len(to_fix):
            return hidden, revealed
        more = _cells_to_hide_with(to_fix, attempts[to_fix] >= PARTNER_ATTEMPTS, values, hidden, lines)
        attempts[to_fix] += 1
        if not more:
            return hidden, revealed
        hidden[list(more)] = True


def _cells_to_hide_with(revealed: np.ndarray, boxed: np.ndarray, values: np.ndarray, hidden: np.ndarray,
                        lines: _TableLines) -> set[int]:
    """For each revealed cell, the best published cell near it (cheap, and often enough once the
    line heuristic has run again); for a cell still revealed after PARTNER_ATTEMPTS rounds, the
    rest of its cheapest box, which protects it for good."""
    cost = _hiding_cost(values, hidden, lines) if boxed.any() else None
    more: set[int] = set()
    for cell, needs_box in zip(revealed.tolist(), boxed.tolist()):
        box = lines.cheapest_box(cell, cost) if needs_box else None
        if box is not None:
            more.update(c for c in box if not hidden[c])
            cost[box] = 0.0
            continue
        partner = _best_partner(cell, values, hidden, lines)
        if partner is not None:
            more.add(partner)
    return more


def _hiding_cost(values: np.ndarray, hidden: np.ndarray, lines: _TableLines) -> np.ndarray:
    """What hiding each cell costs: nothing if hidden, else one cell plus its count (a zero costs as
    much as the largest count: it protects little, as counts are never negative), totals last."""
    largest = float(values.max(initial=0))
    body = 1.0 + np.where(values == 0, largest, values).astype(float)
    total_penalty = (2.0 ** lines.codes.shape[1]) * (largest + 2.0)
    return np.where(hidden, 0.0, body + total_penalty * lines.is_total)


def _fix_lines_with_one_hidden(values: np.ndarray, hidden: np.ndarray, lines: _TableLines) -> None:
    """Hide more cells until no line holds exactly one hidden cell. Cells the margins reveal
    whatever is hidden count as published here: hiding a partner for them protects nothing."""
    known = lines.unprotectable
    hidden_per_line = np.bincount(lines.entry_line, weights=(hidden & ~known)[lines.entry_cell],
                                  minlength=lines.lines).astype(int).tolist()
    members, through = lines.members, lines.through
    waiting = deque(line for line, n in enumerate(hidden_per_line) if n == 1)
    while waiting:
        line = waiting.popleft()
        if hidden_per_line[line] != 1:
            continue
        candidates = [c for c in members[line] if not hidden[c] and not known[c]]
        if not candidates:
            continue
        partner = min(candidates, key=lambda c: _preference(c, line, values, lines, hidden_per_line))
        hidden[partner] = True
        for crossing in through[partner]:
            hidden_per_line[crossing] += 1
            if hidden_per_line[crossing] == 1:
                waiting.append(crossing)


def _preference(cell: int, line: int, values: np.ndarray, lines: _TableLines, hidden_per_line: list[int]) -> tuple:
    """Sort key of a partner cell: non-zero first, body before totals, then cells that also
    fix another line, then the smallest count (least information lost)."""
    also_fixes = sum(1 for other in lines.through[cell] if other != line and hidden_per_line[other] == 1)
    return (values[cell] == 0, bool(lines.is_total[cell]), -also_fixes, int(values[cell]), cell)


def _best_partner(cell: int, values: np.ndarray, hidden: np.ndarray, lines: _TableLines) -> int | None:
    """The published cell to hide next to a revealed one: the preferred published cell on a line
    through it or, when those lines are all hidden, on the nearest lines through hidden cells."""
    seen_cells, seen_lines = {cell}, set()
    frontier = set(lines.through[cell])
    while frontier:
        seen_lines |= frontier
        on_frontier = {c for line in frontier for c in lines.members[line]}
        published = [c for c in on_frontier if not hidden[c]]
        if published:
            return min(published, key=lambda c: (bool(lines.unprotectable[c]), values[c] == 0,
                                                 bool(lines.is_total[c]), int(values[c]), c))
        reached = on_frontier - seen_cells
        seen_cells |= reached
        frontier = {line for c in reached for line in lines.through[c]} - seen_lines
    return None


# --------------------------------------------------------------------------- the audit


def _derivable(lines: _TableLines, hidden: np.ndarray) -> np.ndarray:
    """Which hidden cells the line equations determine exactly."""
    revealed = np.zeros(lines.cells, bool)
    on_hidden = hidden[lines.entry_cell]
    if not on_hidden.any():
        return revealed
    eq_line, eq_cell, eq_sign = (lines.entry_line[on_hidden], lines.entry_cell[on_hidden],
                                 lines.entry_sign[on_hidden].astype(float))
    unknown_cells, unknown = np.unique(eq_cell, return_inverse=True)
    _, equation = np.unique(eq_line, return_inverse=True)
    group = _connected_groups(equation, unknown, len(unknown_cells))
    order = np.argsort(group[unknown], kind="stable")
    starts = np.flatnonzero(np.diff(group[unknown][order])) + 1
    for entries in np.split(order, starts):
        unknowns, local_unknown = np.unique(unknown[entries], return_inverse=True)
        _, local_equation = np.unique(equation[entries], return_inverse=True)
        found = _derivable_in_group(local_equation.ravel(), local_unknown.ravel(), eq_sign[entries], len(unknowns))
        revealed[unknown_cells[unknowns[found]]] = True
    return revealed


def _connected_groups(equation: np.ndarray, unknown: np.ndarray, unknowns: int) -> np.ndarray:
    """Label the unknowns so that two unknowns sharing an equation share a label."""
    parent = list(range(unknowns))

    def root(u: int) -> int:
        while parent[u] != u:
            parent[u] = parent[parent[u]]
            u = parent[u]
        return u

    first_of_equation: dict[int, int] = {}
    for eq, u in zip(equation.tolist(), unknown.tolist()):
        anchor = first_of_equation.setdefault(eq, u)
        a, b = root(anchor), root(u)
        if a != b:
            parent[b] = a
    return np.array([root(u) for u in range(unknowns)], dtype=np.int64)


def _derivable_in_group(equation: np.ndarray, unknown: np.ndarray, sign: np.ndarray, unknowns: int) -> np.ndarray:
    equations = int(equation.max()) + 1
    if unknowns > DENSE_AUDIT_LIMIT:
        return _derivable_by_projection(equation, unknown, sign, equations, unknowns)
    system = np.zeros((equations, unknowns))
    system[equation, unknown] = sign
    return _derivable_by_svd(system)


def _derivable_by_svd(system: np.ndarray) -> np.ndarray:
    """e_i is in the row space exactly when the orthogonal projection onto the row space keeps
    all of it: the weight 1 - |V_r[:, i]|^2 left for the null space is zero."""
    _, singular, right = np.linalg.svd(system, full_matrices=False)
    tolerance = singular.max(initial=0.0) * max(system.shape) * np.finfo(float).eps
    rank = int(np.count_nonzero(singular > tolerance))
    null_weight = 1.0 - np.sum(right[:rank] ** 2, axis=0)
    return null_weight < NULL_SPACE_TOLERANCE


def _derivable_by_projection(equation, unknown, sign, equations: int, unknowns: int) -> np.ndarray:
    """Large groups: project random vectors onto the null space of the system A (CGLS on
    min |A^T y - r|, whose residual r - A^T y converges to the projection of r). A derivable
    cell has a zero coordinate in every projection; a coordinate not clearly away from zero is
    taken as derivable, which errs towards hiding more."""
    def times(x):          # A x
        return np.stack([np.bincount(equation, weights=sign * x[unknown, j], minlength=equations)
                         for j in range(x.shape[1])], axis=1)

    def transposed(y):     # A^T y
        return np.stack([np.bincount(unknown, weights=sign * y[equation, j], minlength=unknowns)
                         for j in range(y.shape[1])], axis=1)

    projection = np.random.default_rng(0).standard_normal((unknowns, PROJECTION_SAMPLES))
    residual = times(projection)                   # A (r - A^T y): zero once r - A^T y is in the null space
    direction = residual.copy()
    gamma = np.sum(residual ** 2, axis=0)
    target = PROJECTION_CONVERGED * np.sqrt(unknowns)
    for _ in range(PROJECTION_MAX_ITERATIONS):
        if np.all(np.sqrt(gamma) <= target):
            break
        step = transposed(direction)
        curvature = np.sum(step ** 2, axis=0)
        alpha = np.divide(gamma, curvature, out=np.zeros_like(gamma), where=curvature > 0)
        projection -= alpha * step
        residual = times(projection)
        new_gamma = np.sum(residual ** 2, axis=0)
        beta = np.divide(new_gamma, gamma, out=np.zeros_like(gamma), where=gamma > 0)
        direction = residual + beta * direction
        gamma = new_gamma
    if not np.all(np.sqrt(gamma) <= target):
        raise RuntimeError(f"the small-cell audit did not converge on a group of {unknowns} hidden cells; "
                           f"nothing can be published safely")
    return np.max(np.abs(projection), axis=1) < PROJECTION_ZERO


# --------------------------------------------------------------------------- the plain sentence


def _plain(rule: str, hidden_up_to: int, base: int, zero_disclosive: bool, secondary: int, unprotected: int) -> str:
    lowest = 0 if zero_disclosive else 1
    hidden = (f"counts of {lowest}" if hidden_up_to == lowest
              else f"counts of {lowest} and {hidden_up_to}" if hidden_up_to == lowest + 1
              else f"counts from {lowest} to {hidden_up_to}")
    text = f"{hidden} are hidden"
    if secondary:
        text += (f", and {secondary} more cell{'s are' if secondary > 1 else ' is'} hidden so that "
                 f"{'they' if secondary > 1 else 'it'} cannot be worked out from the totals")
    if rule != "suppress":
        rest = "shown as they are" if base == 1 else f"rounded to the nearest {base}"
        zeros = "zeros are shown as 0 and " if rule == "nhs" and not zero_disclosive else ""
        text += f"; {zeros}other counts are {rest}"
    if unprotected:
        text += (f"; {unprotected} hidden cell{'s' if unprotected > 1 else ''} can still be worked out from the "
                 f"totals whatever else is hidden")
    return text
