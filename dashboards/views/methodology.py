"""Methodology page (``/methodology``): how every transparency measure is computed, from what, and the
weights of the combined score. Written from ``catalog.metrics`` itself, so it cannot drift from the code."""

import pandas as pd
import streamlit as st

from catalog import metrics
from catalog.vocabulary import FREQUENCIES
from dashboards.i18n import t
from dashboards.widgets.measures import downloads

st.title(t("nav.methodology"))
st.page_link("views/transparency.py", label=t("methodology.back"), icon=":material/leaderboard:")

st.markdown(t("methodology.rules", window=metrics.WINDOW_DAYS, grace=metrics.GRACE_DAYS,
                 answer=metrics.ANSWER_DAYS))

st.header(t("methodology.measures"))
for group in dict.fromkeys(m.group for m in metrics.METRICS):
    st.subheader(group)
    st.markdown("\n".join(f"- **{m.label}** (`{m.name}`): {m.formula}." for m in metrics.METRICS if m.group == group))
table = pd.DataFrame([{"Group": m.group, "Measure": m.label, "JSON key": m.name, "Kind": m.kind, "Formula": m.formula}
                      for m in metrics.METRICS])
with st.expander(t("methodology.as_table")):
    st.dataframe(table, hide_index=True, key="measures", column_config={
        "Group": t("methodology.col_group"), "Measure": t("methodology.col_measure"),
        "JSON key": t("methodology.col_key"), "Kind": t("methodology.col_kind"),
        "Formula": t("methodology.col_formula")})
st.caption(t("methodology.json"))
downloads(table, "transparency-measures", key="measures_dl")

st.header(t("methodology.periods"))
periods = pd.DataFrame([{"Frequency": key, "Label": label,
                         "Period (days)": t("methodology.no_period") if key in metrics.UNSCHEDULED or days is None
                         else str(days)} for key, (label, days) in FREQUENCIES.items()])
st.dataframe(periods, hide_index=True, key="periods", column_config={
    "Frequency": t("methodology.col_frequency"), "Label": t("methodology.col_label"),
    "Period (days)": t("methodology.col_period")})
st.caption(t("methodology.periods_note"))

st.header(t("methodology.formats"))
yes, no = t("methodology.word_yes"), t("methodology.word_no")
formats = pd.DataFrame(
    [{"Format": key.upper(), "Of": t("methodology.served"), "Machine-readable": yes if mr else no,
      "Non-proprietary": yes if np else no, "Stars (ckanext-qa)": stars}
     for key, (mr, np, stars) in metrics.PUBLISHED_FORMATS.items()]
    + [{"Format": key.upper(), "Of": t("methodology.delivered"), "Machine-readable": yes if mr else no,
        "Non-proprietary": yes if np else no, "Stars (ckanext-qa)": None}
       for key, (mr, np) in metrics.SOURCE_FORMATS.items()])
st.dataframe(formats, hide_index=True, key="formats", column_config={
    "Format": t("methodology.col_format"), "Of": t("methodology.col_of"),
    "Machine-readable": t("methodology.col_machine"), "Non-proprietary": t("methodology.col_open"),
    "Stars (ckanext-qa)": t("methodology.col_stars")})
st.caption(t("methodology.stars"))

st.header(t("methodology.weights"))
weights = pd.DataFrame([{"Measure": metrics.BY_NAME[name].label, "JSON key": name, "Weight": weight}
                        for name, weight in metrics.WEIGHTS.items()])
st.dataframe(weights, hide_index=True, key="weights", column_config={
    "Measure": t("methodology.col_measure"), "JSON key": t("methodology.col_key"),
    "Weight": t("methodology.col_weight")})
st.markdown(t("methodology.score", total=sum(metrics.WEIGHTS.values())))
downloads(weights, "transparency-weights", key="weights_dl")
