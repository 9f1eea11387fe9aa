"""Is a dataset up to date: when its next release is due, and how late it is.

The rule: a dataset whose declared update frequency promises a period (``FREQUENCIES``:
daily 1 day, weekly 7, monthly 31, quarterly 92, every six months 183, annual 366) is due
that many days after the day of its last release, counted in whole days in UTC. It is on
time up to and including the day it is due and overdue from the next day, by the number of
days since the due day. A monthly dataset last published on 1 March is due on 1 April; on
3 April it is overdue by 2 days. Irregular datasets and those with no further updates have no
due date; a dataset with no release yet is "not yet published", whatever it promises.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import pandas as pd

from catalog.vocabulary import FREQUENCIES

STATES = {"on_time": "On time", "overdue": "Overdue", "unscheduled": "No schedule",
          "unpublished": "Not yet published"}


@dataclass(frozen=True)
class Freshness:
    state: str                          # one of STATES
    last_published: dt.date | None
    due: dt.date | None
    days_overdue: int = 0

    @property
    def label(self) -> str:
        """A short phrase for a badge: "On time", "Overdue by 3 days", "No schedule", "Not yet published"."""
        if self.state == "overdue":
            return f"Overdue by {self.days_overdue} day{'s' if self.days_overdue != 1 else ''}"
        return STATES[self.state]

    @property
    def detail(self) -> str:
        """The phrase with its date: when the next release is or was due."""
        if self.due is None:
            return self.label
        when = f"{self.due.day} {self.due:%b %Y}"
        return f"{self.label}: next release due {when}" if self.state == "on_time" else f"{self.label} (due {when})"


def freshness(frequency: str, last_published, today: dt.date | None = None, grace_days: int = 0) -> Freshness:
    """The freshness of a dataset declaring ``frequency`` whose last release was at ``last_published``.

    ``last_published`` is a datetime (naive ones are read as UTC), a date, or None / NaT when
    nothing was published yet. ``today`` defaults to the current day in UTC. ``grace_days``: days
    after the due day that still count as on time (the transparency measures allow one, as udata
    does, for harvest lag); days overdue are still counted from the due day.
    """
    if frequency not in FREQUENCIES:
        raise ValueError(f"unknown update frequency {frequency!r}")
    today = today or dt.datetime.now(dt.timezone.utc).date()
    last = _day(last_published)
    if last is None:
        return Freshness("unpublished", None, None)
    period = FREQUENCIES[frequency][1]
    if period is None:
        return Freshness("unscheduled", last, None)
    due = last + dt.timedelta(days=period)
    late = (today - due).days
    return Freshness("overdue", last, due, late) if late > grace_days else Freshness("on_time", last, due)


def freshness_columns(frame: pd.DataFrame, today: dt.date | None = None) -> pd.DataFrame:
    """``frame`` (with ``frequency`` and ``published_at``) plus freshness, due, days_overdue and freshness_label."""
    found = [freshness(f, p, today) for f, p in zip(frame["frequency"], frame["published_at"])]
    return frame.assign(freshness=[f.state for f in found], due=[f.due for f in found],
                        days_overdue=[f.days_overdue for f in found], freshness_label=[f.label for f in found],
                        freshness_detail=[f.detail for f in found])


def summary(frame: pd.DataFrame) -> dict[str, int]:
    """How many rows of a ``freshness_columns`` frame are in each state, every state present."""
    counts = frame["freshness"].value_counts() if len(frame) else {}
    return {state: int(counts.get(state, 0)) for state in STATES}


def _day(value) -> dt.date | None:
    """The UTC day of a release time, or None when there is none."""
    if value is None or value is pd.NaT or (isinstance(value, float) and value != value):
        return None
    if isinstance(value, dt.datetime):                   # pd.Timestamp too
        stamp = pd.Timestamp(value)
        return (stamp.tz_localize("UTC") if stamp.tzinfo is None else stamp.tz_convert("UTC")).date()
    if isinstance(value, dt.date):
        return value
    raise TypeError(f"not a release time: {value!r}")
