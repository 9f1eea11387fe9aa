"""A query result as CSV that a spreadsheet opens as data, never as formulas.

A text cell or column name that a spreadsheet could run as a formula gets a leading
apostrophe (the rule is ``catalog.downloads.neutralised``). Numbers, dates and other typed
values are written as they are, so a negative amount stays a number. Rows end in CRLF
(RFC 4180), so a cell holding a lone carriage return is quoted rather than split.
"""

from __future__ import annotations

import pandas as pd

from catalog.downloads import neutralised


def safe_csv(frame: pd.DataFrame) -> bytes:
    """The frame as UTF-8 CSV with a header row; column names may repeat, as in ``SELECT 1 AS a, 2 AS a``."""
    columns = [_safe_column(frame.iloc[:, i]) for i in range(frame.shape[1])]
    safe = pd.concat(columns, axis=1) if columns else pd.DataFrame(index=frame.index)
    safe.columns = [neutralised(str(name)) for name in frame.columns]
    return safe.to_csv(index=False, lineterminator="\r\n").encode("utf-8")


def _safe_column(column: pd.Series) -> pd.Series:
    if pd.api.types.is_numeric_dtype(column) or pd.api.types.is_datetime64_any_dtype(column):
        return column.reset_index(drop=True)
    return column.map(neutralised, na_action="ignore").astype(object).reset_index(drop=True)
