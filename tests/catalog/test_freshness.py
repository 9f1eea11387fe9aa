"""When a dataset's next release is due and whether it is late."""

import datetime as dt

import pandas as pd
import pytest

from catalog.freshness import freshness, freshness_columns, summary

MARCH_1 = dt.datetime(2026, 3, 1, 9, 30, tzinfo=dt.timezone.utc)


def test_monthly_is_due_31_days_after_the_last_release_and_on_time_on_that_day():
    on_due_day = freshness("monthly", MARCH_1, today=dt.date(2026, 4, 1))
    assert (on_due_day.state, on_due_day.due, on_due_day.label) == ("on_time", dt.date(2026, 4, 1), "On time")
    assert on_due_day.detail == "On time: next release due 1 Apr 2026"


def test_overdue_counts_the_days_since_the_due_day():
    one_late = freshness("monthly", MARCH_1, today=dt.date(2026, 4, 2))
    assert (one_late.state, one_late.days_overdue, one_late.label) == ("overdue", 1, "Overdue by 1 day")
    late = freshness("monthly", MARCH_1, today=dt.date(2026, 4, 13))
    assert late.label == "Overdue by 12 days" and late.detail == "Overdue by 12 days (due 1 Apr 2026)"


@pytest.mark.parametrize("frequency, days", [("daily", 1), ("weekly", 7), ("quarterly", 92), ("biannual", 183),
                                             ("annual", 366)])
def test_each_promised_period(frequency, days):
    due = dt.date(2026, 3, 1) + dt.timedelta(days=days)
    assert freshness(frequency, MARCH_1, today=due).state == "on_time"
    assert freshness(frequency, MARCH_1, today=due + dt.timedelta(days=1)).state == "overdue"


def test_the_day_of_a_release_is_its_day_in_utc():
    late_evening_in_auckland = dt.datetime(2026, 3, 2, 8, 0, tzinfo=dt.timezone(dt.timedelta(hours=13)))
    assert freshness("daily", late_evening_in_auckland, today=dt.date(2026, 3, 2)).due == dt.date(2026, 3, 2)
    assert freshness("daily", dt.datetime(2026, 3, 1, 23, 0), today=dt.date(2026, 3, 2)).due == dt.date(2026, 3, 2)


def test_no_promise_and_no_release():
    assert freshness("irregular", MARCH_1, today=dt.date(2030, 1, 1)).label == "No schedule"
    assert freshness("never", MARCH_1, today=dt.date(2030, 1, 1)).state == "unscheduled"
    for nothing in (None, pd.NaT, float("nan")):
        assert freshness("monthly", nothing, today=dt.date(2030, 1, 1)).label == "Not yet published"


def test_grace_days_forgive_a_little_lateness():
    assert freshness("daily", MARCH_1, today=dt.date(2026, 3, 3), grace_days=1).state == "on_time"
    assert freshness("daily", MARCH_1, today=dt.date(2026, 3, 4), grace_days=1).days_overdue == 2


def test_an_unknown_frequency_is_an_error():
    with pytest.raises(ValueError, match="unknown update frequency 'fortnightly'"):
        freshness("fortnightly", MARCH_1)


def test_a_table_of_datasets_gets_its_freshness_and_a_summary():
    frame = pd.DataFrame({"id": ["a", "b", "c", "d"], "frequency": ["weekly", "weekly", "irregular", "annual"],
                          "published_at": pd.to_datetime(["2026-03-01", "2026-02-01", "2026-01-01", None], utc=True)})
    table = freshness_columns(frame, today=dt.date(2026, 3, 5))
    assert table["freshness_label"].tolist() == ["On time", "Overdue by 25 days", "No schedule", "Not yet published"]
    assert summary(table) == {"on_time": 1, "overdue": 1, "unscheduled": 1, "unpublished": 1}
    assert summary(freshness_columns(frame.iloc[:0])) == {"on_time": 0, "overdue": 0, "unscheduled": 0,
                                                          "unpublished": 0}
