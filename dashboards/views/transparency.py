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
from dashboards.widgets.measures import (as_of_picker, datasets_frame, downloads, escaped, excluded_frame,
                                         overdue_frame, ranking_frame, trend_section)

st.title("Transparency")
st.write("How each agency publishes its data: on time, with complete metadata, openly, checked and with "
         "personal data protected, and how quickly it answers the public. Every share shows what it counts.")
st.page_link("views/methodology.py", label="How every measure is computed, and the weights of the score",
             icon=":material/functions:")

if not data.published():
    st.info("Nothing is published yet, so there is nothing to measure.")
    st.stop()

with st.columns([1, 3])[0]:
    at = as_of_picker(dt.datetime.now(dt.timezone.utc).date())
report = data.transparency(at)
agencies = report["agencies"]
names = {row["agency"]: row["agency_name"] for row in agencies}
st.caption(f"Measured as of {report['at'][:16].replace('T', ' ')} UTC, from the catalogue's history; releases, "
           f"quarantines and questions of the {report['window_days']} days before.")
if not report["calendars_read"]:
    st.warning("The release calendars could not be read, so announced dates are not counted.")

st.header("Ranking")
st.dataframe(ranking_frame(agencies), hide_index=True, key="ranking")
weights = ", ".join(f"{name.replace('_', ' ')} {weight}" for name, weight in WEIGHTS.items())
st.caption(f"Score (0-100): the weighted mean of the measures that apply to the agency. Weights: {weights}. "
           "A measure with nothing to count is left out and the other weights count in full.")
downloads(agencies, "transparency-ranking", key="ranking_dl")

st.subheader("Scorecards")
with st.container(horizontal=True, gap="small"):
    for row in agencies:
        st.page_link("views/scorecard.py", label=escaped(row["agency_name"]), query_params={"agency": row["agency"]},
                     icon=":material/assignment:")

st.header("Overdue datasets")
overdue = report["overdue"]
if overdue:
    st.write(f"{len(overdue)} public dataset{'s are' if len(overdue) != 1 else ' is'} overdue: past the update "
             "period its frequency promises (with a day of grace), or past an announced release date with no "
             "release since.")
    st.dataframe(overdue_frame(overdue), hide_index=True, key="overdue")
    for item in overdue:
        st.page_link("views/dataset.py", label=escaped(item["title"]), query_params={"id": item["dataset_id"]},
                     icon=":material/table:")
else:
    st.success("No public dataset is overdue.")
downloads(overdue_frame(overdue), "overdue-datasets", key="overdue_dl")

st.header("Trends")
trend_section(data.measure_history(), agency=None, key="trend")

st.header("Left out of the measures")
st.write("Nothing is left out silently. Datasets that are not public are counted for their agency, never named.")
excluded = report["excluded"]
if excluded:
    st.dataframe(excluded_frame(excluded, names), hide_index=True, key="excluded")
else:
    st.write("Nothing was left out.")
downloads(excluded_frame(excluded, names), "left-out", key="excluded_dl")

with st.expander("Every public dataset, measure by measure"):
    frame = datasets_frame(report["datasets"])
    st.dataframe(frame, hide_index=True, key="datasets")
    downloads(report["datasets"], "transparency-datasets", key="datasets_dl")
