"""Agency page (``/agency?slug=<agency>``): who the agency is, how to reach it, and everything it publishes,
with whether each dataset is up to date. Without a slug: every agency, with its count of datasets."""

import streamlit as st

from dashboards import data
from dashboards.listing import dataset_list, escaped, freshness_summary, when, with_freshness

slug = st.query_params.get("slug", "")

if not data.published():
    st.title("Agencies")
    st.info("Nothing is published yet.")
    st.stop()

agencies = data.agencies()
found = agencies[agencies["slug"] == slug]

if found.empty:
    st.title("Agencies")
    if slug:
        st.error(f"There is no agency “{escaped(slug[:80])}”. Pick one below.")
    st.write("Every public body publishing in this catalogue, with how many public datasets it has.")
    for _, agency in agencies.iterrows():
        st.page_link("views/agency.py", label=f"{escaped(agency['name'])} ({int(agency['datasets'])})",
                     query_params={"slug": agency["slug"]}, icon=":material/account_balance:")
    st.stop()

agency = found.iloc[0]
st.title(agency["name"])
if agency["description"]:
    st.write(agency["description"])
homepage, contact, latest = st.columns(3)
homepage.markdown(f"**Homepage**  \n[{escaped(agency['homepage'])}]({agency['homepage']})" if agency["homepage"]
                  else "**Homepage**  \n—")
contact.markdown(f"**Contact**  \n{escaped(agency['contact_name'])}  \n"
                 f"[{escaped(agency['contact_email'])}](mailto:{agency['contact_email']})")
latest.markdown(f"**Last published**  \n{when(agency['last_published'])}")

datasets = with_freshness(data.published_by(agency=slug))
freshness_summary(datasets)
if not datasets.empty:
    counts = datasets.groupby(["theme", "theme_label"]).size().reset_index(name="count")
    st.markdown("**Themes**")
    with st.container(horizontal=True, gap="small"):
        for _, theme in counts.sort_values(["count", "theme_label"], ascending=[False, True]).iterrows():
            st.page_link("views/theme.py", label=f"{escaped(theme['theme_label'])} ({int(theme['count'])})",
                         query_params={"slug": theme["theme"]}, icon=":material/category:")
    st.page_link("views/search.py", label="Search within this agency's datasets", query_params={"agency": slug},
                 icon=":material/search:")
st.subheader("Datasets")
dataset_list(datasets, show_agency=False, show_theme=True)
