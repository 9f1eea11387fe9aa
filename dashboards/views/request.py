"""Request data: ask for a dataset the catalogue does not have yet, and read what others asked for."""

import streamlit as st

from catalog import feedback
from dashboards import data
from dashboards.widgets import feedback_panel

st.title("Request data")

if not data.published():
    st.info("Nothing is published yet, so requests cannot be taken. Come back once the catalogue is up.")
    st.stop()

st.write("Cannot find the data you need? Tell the agencies what you are looking for and what you would use it "
         "for. If you do not know which agency holds it, choose “Don't know”: every agency's stewards see it.")
st.page_link("views/search.py", label="Search the catalogue first", icon=":material/search:")

agencies = feedback.agencies(data.home())
feedback_panel.request_form(agencies)

asked = feedback.requests(data.home())
st.subheader(f"Requests so far ({len(asked)})")
if not asked:
    st.caption("No dataset has been requested yet.")
feedback_panel.thread(asked, agencies)
