"""Search page: words, six facets, sorting and paging, a "did you mean" for misspelt words.

The whole state (``q``, every ticked facet value, ``sort``, ``page``) lives in the URL, so a
shared link reopens the same view.
"""

import pandas as pd
import streamlit as st

from catalog.search import MAX_QUERY_CHARS, SORTS
from dashboards import data
from dashboards.listing import escaped, when

PAGE_SIZE = 10
FACETS = {"agency": "Agency", "theme": "Theme", "updated": "Last updated", "format": "Format",
          "licence": "Licence", "frequency": "Update frequency"}
FOLDED = ("format", "licence", "frequency")          # shown in a closed expander unless one is ticked


def _first_page() -> None:
    """A new search, filter or order starts again at page 1."""
    st.query_params.pop("page", None)


def _use_suggestion(text: str) -> None:
    st.session_state["q"] = text
    _first_page()


def _clear_filters(boxes: list[str]) -> None:
    for key in boxes:
        st.session_state[key] = False
    for facet in FACETS:
        st.query_params.pop(facet, None)
    _first_page()


def _chosen(facet: str, known: set[str]) -> list[str]:
    """The facet's values ticked now: the boxes once they exist, the URL on a fresh load."""
    ticked = [value for value in known if st.session_state.get(f"{facet}:{value}")]
    if any(f"{facet}:{value}" in st.session_state for value in known):
        return sorted(ticked)
    return sorted(v for v in st.query_params.get_all(facet) if v in known)


def _release(hit) -> str:
    if pd.isna(hit["release"]):
        return "not yet published"
    return f"release {int(hit['release'])} · {int(hit['rows']):,} rows · updated {when(hit['published_at'])}"


st.title("Open government data")

if not data.published():
    st.info("Nothing is published yet. Run `govcat publish --all` (or `make demo`) and reload this page.")
    st.stop()

everything = data.find("", limit=0)
st.write(f"{everything.total} datasets from {len(everything.facets['agency'])} public agencies: "
         "search them, look inside, download them.")

if "q" not in st.session_state:                      # a fresh load: the words come from the URL
    st.session_state["q"] = st.query_params.get("q", "")[:MAX_QUERY_CHARS]
text = st.text_input("Search datasets", key="q", max_chars=MAX_QUERY_CHARS, on_change=_first_page,
                     placeholder="e.g. hospital admissions, road collisions, population")
labels = {facet: {value: label for value, label, _ in everything.facets[facet]} for facet in FACETS}
chosen = {facet: _chosen(facet, set(labels[facet])) for facet in FACETS}

facets_column, results_column = st.columns([1, 2.6], gap="large")
with results_column:
    asked = st.query_params.get("sort", "relevance")
    sort = st.selectbox("Sort by", list(SORTS), format_func=SORTS.get, key="sort", on_change=_first_page,
                        index=list(SORTS).index(asked) if asked in SORTS else 0)

try:
    page = max(1, int(st.query_params.get("page", "1")))
except ValueError:
    page = 1
filters = {facet: values for facet, values in chosen.items() if values}
result = data.find(text, limit=PAGE_SIZE, offset=(page - 1) * PAGE_SIZE, filters=filters, sort=sort)
pages = max(1, -(-result.total // PAGE_SIZE))
if page > pages:
    page = pages
    result = data.find(text, limit=PAGE_SIZE, offset=(page - 1) * PAGE_SIZE, filters=filters, sort=sort)

state = {"q": text, **chosen, "sort": sort if sort != "relevance" else "", "page": str(page) if page > 1 else ""}
st.query_params.from_dict({k: v for k, v in state.items() if v})

with facets_column:
    boxes = []
    for facet, title in FACETS.items():
        counts = {value: count for value, _, count in result.facets[facet]}
        shown = [(value, label) for value, label in labels[facet].items()
                 if counts.get(value) or value in chosen[facet]]
        if facet not in ("updated", "frequency"):
            shown.sort(key=lambda item: (-counts.get(item[0], 0), item[1].lower()))
        if not shown:
            continue
        place = (st.expander(title, expanded=bool(chosen[facet])) if facet in FOLDED
                 else st.container())
        with place:
            if facet not in FOLDED:
                st.markdown(f"**{title}**")
            for value, label in shown:
                key = f"{facet}:{value}"
                boxes.append(key)
                st.checkbox(f"{label} ({counts.get(value, 0)})", value=value in chosen[facet], key=key,
                            on_change=_first_page)
    if filters:
        st.button("Clear all filters", key="clear", on_click=_clear_filters, args=(boxes,), icon=":material/close:")

with results_column:
    found = f"{result.total} dataset{'s' if result.total != 1 else ''}"
    st.caption(f"{found} found" + (f" for “{text}”" if text else ""))
    if result.suggestion:
        st.button(f"Did you mean **{escaped(result.suggestion)}**?", key="suggestion", type="tertiary",
                  on_click=_use_suggestion, args=(result.suggestion,), icon=":material/spellcheck:")
    if result.total == 0:
        st.write("No dataset matches. Try fewer or other words, or clear the filters.")
    for _, hit in result.hits.iterrows():
        with st.container(border=True):
            st.page_link("views/dataset.py", label=f"**{escaped(hit['title'])}**", query_params={"id": hit["id"]},
                         icon=":material/table:")
            with st.container(horizontal=True, gap="small"):
                st.page_link("views/agency.py", label=escaped(hit["agency_name"]), query_params={"slug": hit["agency"]},
                             icon=":material/account_balance:")
                st.page_link("views/theme.py", label=escaped(hit["theme_label"]), query_params={"slug": hit["theme"]},
                             icon=":material/category:")
            held = " · latest delivery held back" if hit["status"] == "quarantined" else ""
            st.caption(f"{hit['frequency_label']} · {hit['source_format'].upper()} · {_release(hit)}{held}")
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
