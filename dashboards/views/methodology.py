"""Methodology page (``/methodology``): how every transparency measure is computed, from what, and the
weights of the combined score. Written from ``catalog.metrics`` itself, so it cannot drift from the code."""

import pandas as pd
import streamlit as st

from catalog import metrics
from catalog.vocabulary import FREQUENCIES
from dashboards.widgets.measures import downloads

st.title("Methodology")
st.page_link("views/transparency.py", label="Back to the transparency ranking", icon=":material/leaderboard:")

st.markdown(f"""
Every measure is computed **as of a time t** from the catalogue's history, which is only ever added to:
the releases and the quarantined deliveries, each with the time it happened, and the public's questions with
the times they were asked and first answered. Only what happened at or before t counts, so the measures of
any past moment can be computed again (`govcat metrics --at 2025-03-01`) and give the same numbers, as long
as the declarations are unchanged. A snapshot of every agency's measures is kept at every publish and at
least once a day; the trends are drawn from them.

**Who is measured.** Only public datasets are scored and named. A dataset that is restricted or not public
is counted for its agency as left out, with the reason, and never named. A public dataset left out of a
measure (a dataset updated irregularly has no due date) is listed with the measure and the reason.

**Counts.** Every share is shown with its numerator and denominator. A measure whose denominator is 0 has
no value (shown as —) rather than 0 % or 100 %.

**Window.** Releases, quarantines and questions are those of the **{metrics.WINDOW_DAYS} days** before t.
Update frequencies, release calendars and metadata are taken as they stand.

**Timeliness (udata's rule).** due day = day of the last release + the period of the declared frequency;
a dataset is on time up to **{metrics.GRACE_DAYS} day** after its due day (harvest grace) and overdue after
that; lateness is counted from the due day. Frequencies that promise no period (continuous, irregular, no
further updates) are left out and listed. Days are UTC days.

**Release calendar.** A dataset may announce release dates (`publishing: calendar:` in its declaration).
An announced date is met when a release was published on or before it and after the previous announced
date. A date not met is late by the days until the first release after it, or, when none came yet, by
the days until t; such a date also makes the dataset overdue. Dates on or after the day of t are not
counted yet.

**Questions.** Public questions, problem reports and requests for new datasets count; messages held back
because they held personal data do not. A message is answered in time when its first answer came within
**{metrics.ANSWER_DAYS} days**; one asked less than {metrics.ANSWER_DAYS} days before t and not answered yet
still has time and is not counted against the agency.
""")

st.header("The measures")
for group in dict.fromkeys(m.group for m in metrics.METRICS):
    st.subheader(group)
    st.markdown("\n".join(f"- **{m.label}** (`{m.name}`): {m.formula}." for m in metrics.METRICS if m.group == group))
table = pd.DataFrame([{"Group": m.group, "Measure": m.label, "JSON key": m.name, "Kind": m.kind, "Formula": m.formula}
                      for m in metrics.METRICS])
with st.expander("The measures as a table"):
    st.dataframe(table, hide_index=True, key="measures")
st.caption("In the JSON (`govcat metrics --json`, and the downloads), every share or mean `m` comes with "
           "`m_numerator` and `m_denominator`; `m` is null when the denominator is 0.")
downloads(table, "transparency-measures", key="measures_dl")

st.header("Periods of the update frequencies")
periods = pd.DataFrame([{"Frequency": key, "Label": label,
                         "Period (days)": "no period: not measured" if key in metrics.UNSCHEDULED or days is None
                         else str(days)} for key, (label, days) in FREQUENCIES.items()])
st.dataframe(periods, hide_index=True, key="periods")
st.caption("govcat's own periods are slightly longer than udata's (a month is 31 days, not 4 weeks), so a "
           "monthly release on the same day each month is never late.")

st.header("Formats")
formats = pd.DataFrame(
    [{"Format": key.upper(), "Of": "files govcat serves for each release", "Machine-readable": "yes" if mr else "no",
      "Non-proprietary": "yes" if np else "no", "Stars (ckanext-qa)": stars}
     for key, (mr, np, stars) in metrics.PUBLISHED_FORMATS.items()]
    + [{"Format": key.upper(), "Of": "what the agency delivers", "Machine-readable": "yes" if mr else "no",
        "Non-proprietary": "yes" if np else "no", "Stars (ckanext-qa)": None}
       for key, (mr, np) in metrics.SOURCE_FORMATS.items()])
st.dataframe(formats, hide_index=True, key="formats")
st.caption("Five stars (Berners-Lee, as ckanext-qa scores them): 0 when the data cannot be had or its licence is "
           "not open; 1 on the web; 2 machine-readable; 3 an open standard format; 4 RDF; 5 linked data.")

st.header("Weights of the combined score")
weights = pd.DataFrame([{"Measure": metrics.BY_NAME[name].label, "JSON key": name, "Weight": weight}
                        for name, weight in metrics.WEIGHTS.items()])
st.dataframe(weights, hide_index=True, key="weights")
st.markdown(f"""
score = 100 × Σ weight × value / Σ weight, over the measures that have a value for the agency (the
five-star mean counts as stars / 5). The weights add up to {sum(metrics.WEIGHTS.values())}; the scorecard
says how much of that weight applied. Agencies with the same score share a rank. The score is a summary:
read the measures.
""")
downloads(weights, "transparency-weights", key="weights_dl")
