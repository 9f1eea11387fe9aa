"""Search page: words, agency and theme facets, paged results; the whole state lives in the URL."""

import pandas as pd
import streamlit as st

from dashboards import data

PAGE_SIZE = 10


def _first_page() -> None:
    """A new search or filter starts again at page 1."""
    st.query_params.pop("page", None)


st.title("Open government data")

if not data.published():
    st.info("Nothing is published yet. Run `govcat publish --all` (or `make demo`) and reload this page.")
    st.stop()

everything = data.find("", [], [], limit=1, offset=0)
st.write(f"{everything.total} datasets from {len(everything.facets['agency'])} public agencies: "
         "search them, look inside, download them.")

params = st.query_params
text = st.text_input("Search datasets", value=params.get("q", ""), key="q", max_chars=200, on_change=_first_page,
                     placeholder="e.g. hospital admissions, road collisions, population")
agency_labels = {value: label for value, label, _ in everything.facets["agency"]}
theme_labels = {value: label for value, label, _ in everything.facets["theme"]}
chosen_agencies = [a for a in params.get_all("agency") if a in agency_labels]
chosen_themes = [t for t in params.get_all("theme") if t in theme_labels]

facets_column, results_column = st.columns([1, 3], gap="large")
first = data.find(text, chosen_agencies, chosen_themes, limit=PAGE_SIZE, offset=0)
counts = {name: {value: count for value, _, count in first.facets[name]} for name in ("agency", "theme")}

with facets_column:
    st.subheader("Filter")
    agencies = st.multiselect(
        "Agency", options=list(agency_labels), default=chosen_agencies, key="agency", on_change=_first_page,
        format_func=lambda a: f"{agency_labels[a]} ({counts['agency'].get(a, 0)})")
    themes = st.multiselect(
        "Theme", options=list(theme_labels), default=chosen_themes, key="theme", on_change=_first_page,
        format_func=lambda t: f"{theme_labels[t]} ({counts['theme'].get(t, 0)})")

result = first if (agencies, themes) == (chosen_agencies, chosen_themes) else data.find(text, agencies, themes, PAGE_SIZE, 0)
pages = max(1, -(-result.total // PAGE_SIZE))
try:
    page = min(max(1, int(params.get("page", "1"))), pages)
except ValueError:
    page = 1
if page > 1:
    result = data.find(text, agencies, themes, limit=PAGE_SIZE, offset=(page - 1) * PAGE_SIZE)

state = {"q": text, "agency": agencies, "theme": themes, "page": str(page) if page > 1 else ""}
st.query_params.from_dict({k: v for k, v in state.items() if v})

with results_column:
    found = f"{result.total} dataset{'s' if result.total != 1 else ''}"
    st.caption(f"{found} found" + (f" for “{text}”" if text else ""))
    if result.total == 0:
        st.write("No dataset matches. Try fewer or other words, or clear the filters.")
    for _, hit in result.hits.iterrows():
        with st.container(border=True):
            st.page_link("views/dataset.py", label=f"**{hit['title']}**", query_params={"id": hit["id"]},
                         icon=":material/table:")
            release = (f"release {int(hit['release'])} · {int(hit['rows']):,} rows" if pd.notna(hit["release"])
                       else "not yet published")
            held = " · latest delivery held back" if hit["status"] == "quarantined" else ""
            st.caption(f"{hit['agency_name']} · {hit['theme_label']} · {hit['frequency_label']} · {release}{held}")
            description = hit["description"]
            st.write(description if len(description) <= 280 else description[:277].rsplit(" ", 1)[0] + "…")
    if pages > 1:
        back, where, forward = st.columns([1, 2, 1])
        if back.button("← Previous", disabled=page <= 1, key="previous"):
            st.query_params["page"] = str(page - 1)
            st.rerun()
        where.caption(f"Page {page} of {pages}")
        if forward.button("Next →", disabled=page >= pages, key="next"):
            st.query_params["page"] = str(page + 1)
            st.rerun()
