"""Theme page (``/theme?slug=<theme>``): every public dataset on one theme, from every agency, with
whether each is up to date. Without a slug: every theme, with its count of datasets."""

import streamlit as st

from dashboards import data
from dashboards.i18n import t
from dashboards.listing import dataset_list, escaped, freshness_summary, with_freshness

slug = st.query_params.get("slug", "")

if not data.published():
    st.title(t("theme.title"))
    st.info(t("common.nothing_published"))
    st.stop()

themes = data.themes()
found = themes[themes["slug"] == slug]

if found.empty:
    st.title(t("theme.title"))
    if slug:
        st.error(t("theme.unknown", slug=escaped(slug[:80])))
    st.write(t("theme.intro"))
    for _, theme in themes.iterrows():
        st.page_link("views/theme.py", label=f"{escaped(theme['label'])} ({int(theme['datasets'])})",
                     query_params={"slug": theme["slug"]}, icon=":material/category:",
                     disabled=not theme["datasets"])
    st.stop()

theme = found.iloc[0]
st.title(theme["label"])
st.caption(t("theme.code", code=theme["code"]))

datasets = with_freshness(data.published_by(theme=slug))
freshness_summary(datasets)
if not datasets.empty:
    counts = datasets.groupby(["agency", "agency_name"]).size().reset_index(name="count")
    st.markdown(f"**{t('theme.published_by')}**")
    with st.container(horizontal=True, gap="small"):
        for _, agency in counts.sort_values(["count", "agency_name"], ascending=[False, True]).iterrows():
            st.page_link("views/agency.py", label=f"{escaped(agency['agency_name'])} ({int(agency['count'])})",
                         query_params={"slug": agency["agency"]}, icon=":material/account_balance:")
    st.page_link("views/search.py", label=t("theme.search_within"), query_params={"theme": slug},
                 icon=":material/search:")
st.subheader(t("common.datasets"))
dataset_list(datasets, show_agency=True, show_theme=False)
