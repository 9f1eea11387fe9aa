"""Entry point of the explorer: ``streamlit run dashboards/app.py`` (or ``govcat explore``)."""

import streamlit as st

from dashboards.i18n import language_picker, t

st.set_page_config(page_title=t("app.page_title"), page_icon="🗂️", layout="wide")
language_picker()

st.navigation([
    st.Page("views/search.py", title=t("nav.search"), icon=":material/search:", default=True),
    st.Page("views/dataset.py", title=t("nav.dataset"), icon=":material/table:", url_path="dataset",
            visibility="hidden"),
    st.Page("views/calculate.py", title=t("nav.calculate"), icon=":material/functions:", url_path="calculate",
            visibility="hidden"),
    st.Page("views/agency.py", title=t("nav.agencies"), icon=":material/account_balance:", url_path="agency"),
    st.Page("views/theme.py", title=t("nav.themes"), icon=":material/category:", url_path="theme"),
    st.Page("views/sql.py", title=t("nav.sql"), icon=":material/terminal:", url_path="sql"),
    st.Page("views/request.py", title=t("nav.request"), icon=":material/add_comment:", url_path="request"),
    st.Page("views/transparency.py", title=t("nav.transparency"), icon=":material/leaderboard:",
            url_path="transparency"),
    st.Page("views/scorecard.py", title=t("nav.scorecard"), icon=":material/assignment:", url_path="scorecard",
            visibility="hidden"),
    st.Page("views/methodology.py", title=t("nav.methodology"), icon=":material/functions:", url_path="methodology",
            visibility="hidden"),
    st.Page("views/steward.py", title=t("nav.stewards"), icon=":material/badge:"),
]).run()
