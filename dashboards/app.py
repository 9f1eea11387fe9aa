"""Entry point of the explorer: ``streamlit run dashboards/app.py`` (or ``govcat explore``)."""

import streamlit as st

st.set_page_config(page_title="govcat · open government data", page_icon="🗂️", layout="wide")

st.navigation([
    st.Page("views/search.py", title="Search", icon=":material/search:", default=True),
    st.Page("views/dataset.py", title="Dataset", icon=":material/table:", url_path="dataset", visibility="hidden"),
    st.Page("views/calculate.py", title="Calculate", icon=":material/functions:", url_path="calculate",
            visibility="hidden"),
    st.Page("views/agency.py", title="Agencies", icon=":material/account_balance:", url_path="agency"),
    st.Page("views/theme.py", title="Themes", icon=":material/category:", url_path="theme"),
    st.Page("views/sql.py", title="SQL", icon=":material/terminal:", url_path="sql"),
    st.Page("views/request.py", title="Request data", icon=":material/add_comment:", url_path="request"),
    st.Page("views/transparency.py", title="Transparency", icon=":material/leaderboard:", url_path="transparency"),
    st.Page("views/scorecard.py", title="Scorecard", icon=":material/assignment:", url_path="scorecard",
            visibility="hidden"),
    st.Page("views/methodology.py", title="Methodology", icon=":material/functions:", url_path="methodology",
            visibility="hidden"),
    st.Page("views/steward.py", title="Stewards", icon=":material/badge:"),
]).run()
