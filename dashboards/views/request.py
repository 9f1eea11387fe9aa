"""Request data: ask for a dataset the catalogue does not have yet, and read what others asked for."""

import streamlit as st

from catalog import feedback
from dashboards import data
from dashboards.i18n import t
from dashboards.widgets import feedback_panel

st.title(t("request.title"))

if not data.published():
    st.info(t("request.nothing_published"))
    st.stop()

st.write(t("request.intro", dont_know=t("feedback.dont_know")))
st.page_link("views/search.py", label=t("request.search_first"), icon=":material/search:")

agencies = feedback.agencies(data.home())
feedback_panel.request_form(agencies)

asked = feedback.requests(data.home())
st.subheader(t("request.so_far", count=len(asked)))
if not asked:
    st.caption(t("request.none_yet"))
feedback_panel.thread(asked, agencies)
