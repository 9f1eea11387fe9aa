"""Entry point of the explorer: ``streamlit run dashboards/app.py`` (or ``govcat explore``)."""

import streamlit as st

st.set_page_config(page_title="govcat · open government data", page_icon="🗂️", layout="wide")

st.navigation([
    st.Page("views/search.py", title="Search", icon=":material/search:", default=True),
    st.Page("views/dataset.py", title="Dataset", icon=":material/table:", url_path="dataset", visibility="hidden"),
    st.Page("views/steward.py", title="Stewards", icon=":material/badge:"),
]).run()
