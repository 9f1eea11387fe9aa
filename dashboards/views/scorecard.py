"""Scorecard page (``/scorecard?agency=<slug>``): one agency's transparency measures, each with its
numerator and denominator, its datasets measure by measure, what was left out, and its trends."""

import datetime as dt

import streamlit as st

from catalog.metrics import METRICS
from dashboards import data
from dashboards.i18n import number, t
from dashboards.widgets.measures import (as_of_picker, datasets_frame, downloads, escaped, excluded_frame,
                                         overdue_frame, scorecard_frame, trend_section)

slug = st.query_params.get("agency", "")

if not data.published():
    st.title(t("scorecard.title"))
    st.info(t("transparency.nothing_published"))
    st.stop()

with st.sidebar:
    at = as_of_picker(dt.datetime.now(dt.timezone.utc).date())
report = data.transparency(at)
found = [row for row in report["agencies"] if row["agency"] == slug]

if not found:
    st.title(t("scorecard.title"))
    if slug:
        st.error(t("agency.unknown", slug=escaped(slug[:80])))
    for row in report["agencies"]:
        st.page_link("views/scorecard.py", label=escaped(row["agency_name"]), query_params={"agency": row["agency"]},
                     icon=":material/assignment:")
    st.stop()

row = found[0]
st.title(t("scorecard.title_of", agency=escaped(row["agency_name"])))
with st.container(horizontal=True, gap="small"):
    st.page_link("views/transparency.py", label=t("scorecard.all_agencies"), icon=":material/leaderboard:")
    st.page_link("views/agency.py", label=t("scorecard.its_datasets"), query_params={"slug": slug},
                 icon=":material/account_balance:")
    st.page_link("views/methodology.py", label=t("nav.methodology"), icon=":material/functions:")
st.caption(t("scorecard.as_of", at=report["at"][:16].replace("T", " "), days=report["window_days"]))

rank, score, public, hidden = st.columns(4)
rank.metric(t("scorecard.rank"), t("scorecard.rank_of", rank=row["rank"],
                                   ranked=sum(r["rank"] is not None for r in report["agencies"]))
            if row["rank"] is not None else t("scorecard.not_ranked"))
score.metric(t("scorecard.score"), number(row["score"], decimals=1) if row["score"] is not None else "—")
public.metric(t("listing.public_datasets"), row["datasets_public"])
hidden.metric(t("scorecard.not_public"), row["excluded_not_public"])
if row["score"] is not None:
    st.caption(t("scorecard.weight", weight=row["score_weight_applied"]))

for group in dict.fromkeys(m.group for m in METRICS):
    st.subheader(group)
    st.dataframe(scorecard_frame(row, group), hide_index=True, key=f"group_{group}",
                 column_config={"How": st.column_config.TextColumn(width="large")})
downloads(row, f"scorecard-{slug}", key="scorecard_dl")

mine = [d for d in report["datasets"] if d["agency"] == slug]
st.header(t("common.datasets"))
late = [d for d in report["overdue"] if d["agency"] == slug]
if late:
    st.error(t("scorecard.overdue", count=len(late)), icon=":material/schedule:")
    st.dataframe(overdue_frame(late), hide_index=True, key="overdue")
if mine:
    st.dataframe(datasets_frame(mine), hide_index=True, key="datasets")
else:
    st.write(t("scorecard.no_dataset"))
downloads(mine, f"scorecard-{slug}-datasets", key="datasets_dl")

excluded = [e for e in report["excluded"] if e["agency"] == slug]
if excluded:
    st.subheader(t("transparency.left_out"))
    st.dataframe(excluded_frame(excluded, {slug: row["agency_name"]}), hide_index=True, key="excluded")

st.header(t("transparency.trends"))
trend_section(data.measure_history(), agency=slug, key="trend")
