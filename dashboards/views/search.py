"""Search page: words, six facets, sorting and paging, a "did you mean" for misspelt words.

The whole state (``q``, every ticked facet value, ``sort``, ``page``) lives in the URL, so a
shared link reopens the same view.
"""

import pandas as pd
import streamlit as st

from catalog.search import MAX_QUERY_CHARS, SORTS
from dashboards import data
from dashboards.i18n import DEFAULT, language, t
from dashboards.listing import escaped, pager, when

PAGE_SIZE = 10
FACETS = ("agency", "theme", "updated", "format", "licence", "frequency")
FOLDED = ("format", "licence", "frequency")          # shown in a closed expander unless one is ticked


def _facet_titles() -> dict[str, str]:
    return {"agency": t("search.facet_agency"), "theme": t("search.facet_theme"),
            "updated": t("search.facet_updated"), "format": t("search.facet_format"),
            "licence": t("search.facet_licence"), "frequency": t("search.facet_frequency")}


def _updated_labels() -> dict[str, str]:
    """The "last updated" buckets of ``catalog.search.UPDATED`` in the reader's words."""
    return {"week": t("search.updated_week"), "month": t("search.updated_month"), "year": t("search.updated_year"),
            "older": t("search.updated_older"), "never": t("search.updated_never")}


def _sort_labels() -> dict[str, str]:
    return {"relevance": t("search.sort_relevance"), "updated": t("search.sort_updated"),
            "name": t("search.sort_name")}


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
        return t("search.not_yet_published")
    return t("search.release", release=int(hit["release"]), rows=t("common.rows", count=int(hit["rows"])),
             updated=when(hit["published_at"]))


st.title(t("search.title"))

if not data.published():
    st.info(t("search.nothing_published"))
    st.stop()

everything = data.find("", limit=0)
st.write(t("search.intro", datasets=t("search.datasets", count=everything.total),
           agencies=t("search.agencies", count=len(everything.facets["agency"]))))

if "q" not in st.session_state:                      # a fresh load: the words come from the URL
    st.session_state["q"] = st.query_params.get("q", "")[:MAX_QUERY_CHARS]
text = st.text_input(t("search.search_label"), key="q", max_chars=MAX_QUERY_CHARS, on_change=_first_page,
                     placeholder=t("search.search_placeholder"))
labels = {facet: {value: label for value, label, _ in everything.facets[facet]} for facet in FACETS}
labels["updated"] = {value: _updated_labels().get(value, label) for value, label in labels["updated"].items()}
chosen = {facet: _chosen(facet, set(labels[facet])) for facet in FACETS}

facets_column, results_column = st.columns([1, 2.6], gap="large")
with results_column:
    asked = st.query_params.get("sort", "relevance")
    sort = st.selectbox(t("common.sort_by"), list(SORTS), format_func=_sort_labels().get, key="sort",
                        on_change=_first_page, index=list(SORTS).index(asked) if asked in SORTS else 0)

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

state = {"q": text, **chosen, "sort": sort if sort != "relevance" else "", "page": str(page) if page > 1 else "",
         "lang": language() if language() != DEFAULT else ""}  # a shared link opens in the same language
st.query_params.from_dict({k: v for k, v in state.items() if v})

with facets_column:
    boxes = []
    for facet, title in _facet_titles().items():
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
        st.button(t("common.clear_filters"), key="clear", on_click=_clear_filters, args=(boxes,),
                  icon=":material/close:")

with results_column:
    found = t("search.found", count=result.total)
    st.caption(t("search.found_for", found=found, text=escaped(text)) if text else found)
    if result.suggestion:
        st.button(t("search.did_you_mean", suggestion=escaped(result.suggestion)), key="suggestion", type="tertiary",
                  on_click=_use_suggestion, args=(result.suggestion,), icon=":material/spellcheck:")
    if result.total == 0:
        st.write(t("search.no_match"))
    for _, hit in result.hits.iterrows():
        with st.container(border=True):
            st.page_link("views/dataset.py", label=f"**{escaped(hit['title'])}**", query_params={"id": hit["id"]},
                         icon=":material/table:")
            with st.container(horizontal=True, gap="small"):
                st.page_link("views/agency.py", label=escaped(hit["agency_name"]), query_params={"slug": hit["agency"]},
                             icon=":material/account_balance:")
                st.page_link("views/theme.py", label=escaped(hit["theme_label"]), query_params={"slug": hit["theme"]},
                             icon=":material/category:")
            held = " · " + t("search.held_back") if hit["status"] == "quarantined" else ""
            st.caption(f"{hit['frequency_label']} · {hit['source_format'].upper()} · {_release(hit)}{held}")
            description = hit["description"]
            st.write(description if len(description) <= 280 else description[:277].rsplit(" ", 1)[0] + "…")
    pager(page, pages)
