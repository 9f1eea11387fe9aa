"""Scorecard page (``/scorecard?agency=<slug>``): one agency's transparency measures, each with its
numerator and denominator, its datasets measure by measure, what was left out, and its trends."""

import datetime as dt

import streamlit as st

from catalog.metrics import METRICS
from dashboards import data
from dashboards.widgets.measures import (as_of_picker, datasets_frame, downloads, escaped, excluded_frame,
                                         overdue_frame, scorecard_frame, trend_section)

slug = st.query_params.get("agency", "")

if not data.published():
    st.title("Scorecard")
    st.info("Nothing is published yet, so there is nothing to measure.")
    st.stop()

with st.sidebar:
    at = as_of_picker(dt.datetime.now(dt.timezone.utc).date())
report = data.transparency(at)
found = [row for row in report["agencies"] if row["agency"] == slug]

if not found:
    st.title("Scorecard")
    if slug:
        st.error(f"There is no agency “{escaped(slug[:80])}”. Pick one below.")
    for row in report["agencies"]:
        st.page_link("views/scorecard.py", label=escaped(row["agency_name"]), query_params={"agency": row["agency"]},
                     icon=":material/assignment:")
    st.stop()

row = found[0]
st.title(f"{escaped(row['agency_name'])}: scorecard")
with st.container(horizontal=True, gap="small"):
    st.page_link("views/transparency.py", label="All agencies", icon=":material/leaderboard:")
    st.page_link("views/agency.py", label="Its datasets", query_params={"slug": slug},
                 icon=":material/account_balance:")
    st.page_link("views/methodology.py", label="Methodology", icon=":material/functions:")
st.caption(f"Measured as of {report['at'][:16].replace('T', ' ')} UTC; releases, quarantines and questions of "
           f"the {report['window_days']} days before.")

rank, score, public, hidden = st.columns(4)
rank.metric("Rank", f"{row['rank']} of {sum(r['rank'] is not None for r in report['agencies'])}"
            if row["rank"] is not None else "not ranked")
score.metric("Score (0-100)", f"{row['score']:.1f}" if row["score"] is not None else "—")
public.metric("Public datasets", row["datasets_public"])
hidden.metric("Not public (not scored)", row["excluded_not_public"])
if row["score"] is not None:
    st.caption(f"The score weighs the measures that apply to this agency: {row['score_weight_applied']} of the "
               "100 points of weight.")

for group in dict.fromkeys(m.group for m in METRICS):
    st.subheader(group)
    st.dataframe(scorecard_frame(row, group), hide_index=True, key=f"group_{group}",
                 column_config={"How": st.column_config.TextColumn(width="large")})
downloads(row, f"scorecard-{slug}", key="scorecard_dl")

mine = [d for d in report["datasets"] if d["agency"] == slug]
st.header("Datasets")
late = [d for d in report["overdue"] if d["agency"] == slug]
if late:
    st.error(f"{len(late)} dataset{'s are' if len(late) != 1 else ' is'} overdue.", icon=":material/schedule:")
    st.dataframe(overdue_frame(late), hide_index=True, key="overdue")
if mine:
    st.dataframe(datasets_frame(mine), hide_index=True, key="datasets")
else:
    st.write("This agency has no public dataset.")
downloads(mine, f"scorecard-{slug}-datasets", key="datasets_dl")

excluded = [e for e in report["excluded"] if e["agency"] == slug]
if excluded:
    st.subheader("Left out of the measures")
    st.dataframe(excluded_frame(excluded, {slug: row["agency_name"]}), hide_index=True, key="excluded")

st.header("Trends")
trend_section(data.measure_history(), agency=slug, key="trend")
