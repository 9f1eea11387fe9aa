"""Search page: words, agency and theme facets, paged results; the whole state lives in the URL."""

import pandas as pd
import streamlit as st

from catalog.search import MAX_QUERY_CHARS
from dashboards import data

PAGE_SIZE = 10
FACETS = {"agency": "Agency", "theme": "Theme"}


def _first_page() -> None:
    """A new search or filter starts again at page 1."""
    st.query_params.pop("page", None)


def _chosen(facet: str, known: set[str]) -> list[str]:
    """The facet's values ticked now: the boxes once they exist, the URL on a fresh load."""
    ticked = [value for value in known if st.session_state.get(f"{facet}:{value}")]
    if any(f"{facet}:{value}" in st.session_state for value in known):
        return sorted(ticked)
    return sorted(v for v in st.query_params.get_all(facet) if v in known)


st.title("Open government data")

if not data.published():
    st.info("Nothing is published yet. Run `govcat publish --all` (or `make demo`) and reload this page.")
    st.stop()

everything = data.find("", [], [], limit=1, offset=0)
st.write(f"{everything.total} datasets from {len(everything.facets['agency'])} public agencies: "
         "search them, look inside, download them.")

text = st.text_input("Search datasets", value=st.query_params.get("q", "")[:MAX_QUERY_CHARS], key="q",
                     max_chars=MAX_QUERY_CHARS, on_change=_first_page,
                     placeholder="e.g. hospital admissions, road collisions, population")
labels = {facet: {value: label for value, label, _ in everything.facets[facet]} for facet in FACETS}
chosen = {facet: _chosen(facet, set(labels[facet])) for facet in FACETS}

result = data.find(text, chosen["agency"], chosen["theme"], limit=PAGE_SIZE, offset=0)
pages = max(1, -(-result.total // PAGE_SIZE))
try:
    page = min(max(1, int(st.query_params.get("page", "1"))), pages)
except ValueError:
    page = 1
if page > 1:
    result = data.find(text, chosen["agency"], chosen["theme"], limit=PAGE_SIZE, offset=(page - 1) * PAGE_SIZE)

state = {"q": text, **chosen, "page": str(page) if page > 1 else ""}
st.query_params.from_dict({k: v for k, v in state.items() if v})

facets_column, results_column = st.columns([1, 2.6], gap="large")
with facets_column:
    for facet, title in FACETS.items():
        st.markdown(f"**{title}**")
        counts = {value: count for value, _, count in result.facets[facet]}
        for value, label in sorted(labels[facet].items(), key=lambda item: (-counts.get(item[0], 0), item[1])):
            if counts.get(value) or value in chosen[facet]:
                st.checkbox(f"{label} ({counts.get(value, 0)})", value=value in chosen[facet],
                            key=f"{facet}:{value}", on_change=_first_page)

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
