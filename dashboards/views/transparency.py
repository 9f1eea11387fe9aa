"""Transparency page (``/transparency``): how each agency publishes, for oversight bodies.

A ranking of agencies by a published weighted score, links to each agency's scorecard, the
overdue datasets, what was left out of the measures and why, and the measures' history. Every
table downloads as CSV and JSON. ``?at=YYYY-MM-DD`` measures as of the end of a past day;
``?measure=`` picks the trend shown.
"""

import datetime as dt

import streamlit as st

from catalog.metrics import WEIGHTS
from dashboards import data
from dashboards.i18n import t
from dashboards.widgets.measures import (as_of_picker, datasets_frame, downloads, escaped, excluded_frame,
                                         overdue_frame, ranking_frame, trend_section)

st.title(t("transparency.title"))
st.write(t("transparency.intro"))
st.page_link("views/methodology.py", label=t("transparency.methodology"),
             icon=":material/functions:")

if not data.published():
    st.info(t("transparency.nothing_published"))
    st.stop()

with st.columns([1, 3])[0]:
    at = as_of_picker(dt.datetime.now(dt.timezone.utc).date())
report = data.transparency(at)
agencies = report["agencies"]
names = {row["agency"]: row["agency_name"] for row in agencies}
st.caption(t("transparency.as_of", at=report["at"][:16].replace("T", " "), days=report["window_days"]))
if not report["calendars_read"]:
    st.warning(t("transparency.no_calendars"))

st.header(t("transparency.ranking"))
st.dataframe(ranking_frame(agencies), hide_index=True, key="ranking")
weights = ", ".join(f"{name.replace('_', ' ')} {weight}" for name, weight in WEIGHTS.items())
st.caption(t("transparency.score", weights=weights))
downloads(agencies, "transparency-ranking", key="ranking_dl")

st.subheader(t("transparency.scorecards"))
with st.container(horizontal=True, gap="small"):
    for row in agencies:
        st.page_link("views/scorecard.py", label=escaped(row["agency_name"]), query_params={"agency": row["agency"]},
                     icon=":material/assignment:")

st.header(t("transparency.overdue"))
overdue = report["overdue"]
if overdue:
    st.write(t("transparency.overdue_count", count=len(overdue)))
    st.dataframe(overdue_frame(overdue), hide_index=True, key="overdue")
    for item in overdue:
        st.page_link("views/dataset.py", label=escaped(item["title"]), query_params={"id": item["dataset_id"]},
                     icon=":material/table:")
else:
    st.success(t("transparency.none_overdue"))
downloads(overdue_frame(overdue), "overdue-datasets", key="overdue_dl")

st.header(t("transparency.trends"))
trend_section(data.measure_history(), agency=None, key="trend")

st.header(t("transparency.left_out"))
st.write(t("transparency.left_out_intro"))
excluded = report["excluded"]
if excluded:
    st.dataframe(excluded_frame(excluded, names), hide_index=True, key="excluded")
else:
    st.write(t("transparency.nothing_left_out"))
downloads(excluded_frame(excluded, names), "left-out", key="excluded_dl")

with st.expander(t("transparency.every_dataset")):
    frame = datasets_frame(report["datasets"])
    st.dataframe(frame, hide_index=True, key="datasets")
    downloads(report["datasets"], "transparency-datasets", key="datasets_dl")
