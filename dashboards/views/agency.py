"""Agency page (``/agency?slug=<agency>``): who the agency is, how to reach it, and everything it publishes,
with whether each dataset is up to date. Without a slug: every agency, with its count of datasets."""

import streamlit as st

from dashboards import data
from dashboards.i18n import t
from dashboards.listing import dataset_list, escaped, freshness_summary, when, with_freshness

slug = st.query_params.get("slug", "")

if not data.published():
    st.title(t("agency.title"))
    st.info(t("common.nothing_published"))
    st.stop()

agencies = data.agencies()
found = agencies[agencies["slug"] == slug]

if found.empty:
    st.title(t("agency.title"))
    if slug:
        st.error(t("agency.unknown", slug=escaped(slug[:80])))
    st.write(t("agency.intro"))
    for _, agency in agencies.iterrows():
        st.page_link("views/agency.py", label=f"{escaped(agency['name'])} ({int(agency['datasets'])})",
                     query_params={"slug": agency["slug"]}, icon=":material/account_balance:")
    st.stop()

agency = found.iloc[0]
st.title(agency["name"])
if agency["description"]:
    st.write(agency["description"])
homepage, contact, latest = st.columns(3)
homepage.markdown(f"**{t('agency.homepage')}**  \n"
                  + (f"[{escaped(agency['homepage'])}]({agency['homepage']})" if agency["homepage"] else "—"))
contact.markdown(f"**{t('agency.contact')}**  \n{escaped(agency['contact_name'])}  \n"
                 f"[{escaped(agency['contact_email'])}](mailto:{agency['contact_email']})")
latest.markdown(f"**{t('agency.last_published')}**  \n{when(agency['last_published'])}")

datasets = with_freshness(data.published_by(agency=slug))
freshness_summary(datasets)
if not datasets.empty:
    counts = datasets.groupby(["theme", "theme_label"]).size().reset_index(name="count")
    st.markdown(f"**{t('agency.themes')}**")
    with st.container(horizontal=True, gap="small"):
        for _, theme in counts.sort_values(["count", "theme_label"], ascending=[False, True]).iterrows():
            st.page_link("views/theme.py", label=f"{escaped(theme['theme_label'])} ({int(theme['count'])})",
                         query_params={"slug": theme["theme"]}, icon=":material/category:")
    st.page_link("views/search.py", label=t("agency.search_within"), query_params={"agency": slug},
                 icon=":material/search:")
st.subheader(t("common.datasets"))
dataset_list(datasets, show_agency=False, show_theme=True)
