"""The dataset list of the agency and theme pages: freshness at a glance, sorted and paged from the URL."""

from __future__ import annotations

import re

import pandas as pd
import streamlit as st

from catalog.freshness import freshness_columns, summary
from dashboards.i18n import day, number, t

PAGE_SIZE = 20
SORTS = ("name", "updated", "overdue")
# Streamlit's badge colours; each label's text passes WCAG AA (4.5:1) on its badge in the light and dark themes
BADGE_COLOURS = {"on_time": "green", "overdue": "red", "unscheduled": "gray", "unpublished": "orange"}


def escaped(text) -> str:
    """Text shown through Markdown exactly as written."""
    return re.sub(r"([\\`*_{}\[\]()<>#+|~!$:-])", r"\\\1", str(text))


def when(value) -> str:
    """A day in the reader's words ("3 Nov 2026"), or theirs for never."""
    return day(value)


def _sort_labels() -> dict[str, str]:
    return {"name": t("listing.sort_name"), "updated": t("listing.sort_updated"),
            "overdue": t("listing.sort_overdue")}


def _state_labels() -> dict[str, str]:
    """The states of ``catalog.freshness.STATES`` in the reader's words."""
    return {"on_time": t("listing.on_time"), "overdue": t("listing.overdue"),
            "unscheduled": t("listing.unscheduled"), "unpublished": t("listing.unpublished")}


def freshness_label(item) -> str:
    """The badge's words: "On time", "Overdue by 3 days", "No schedule", "Not yet published"."""
    if item["freshness"] == "overdue":
        days = int(item["days_overdue"])
        return t("listing.overdue_by", count=days, days=str(days))  # written as catalog.freshness does, ungrouped
    return _state_labels()[item["freshness"]]


def badge(state: str, label: str) -> str:
    return f":{BADGE_COLOURS[state]}-badge[{label}]"


def freshness_summary(frame: pd.DataFrame) -> None:
    """Counts of datasets on time, overdue, with no schedule and not yet published, side by side."""
    counts = summary(frame)
    columns = st.columns(len(counts) + 1)
    columns[0].metric(t("listing.public_datasets"), number(len(frame)))
    for column, (state, count) in zip(columns[1:], counts.items()):
        column.metric(_state_labels()[state], number(count))


def dataset_list(frame: pd.DataFrame, *, show_agency: bool, show_theme: bool) -> None:
    """``frame`` (from ``publishers.datasets`` with ``freshness_columns``), one bordered card per dataset."""
    if frame.empty:
        st.write(t("listing.empty"))
        return
    asked = st.query_params.get("sort", "name")
    sort = st.selectbox(t("common.sort_by"), list(SORTS), format_func=_sort_labels().get, key="list_sort",
                        index=list(SORTS).index(asked) if asked in SORTS else 0, on_change=_first_page)
    if sort == "updated":
        frame = frame.sort_values("published_at", ascending=False, na_position="last", kind="stable")
    elif sort == "overdue":
        frame = frame.sort_values("days_overdue", ascending=False, kind="stable")
    pages = max(1, -(-len(frame) // PAGE_SIZE))
    try:
        page = min(max(1, int(st.query_params.get("page", "1"))), pages)
    except ValueError:
        page = 1
    _keep_in_url(sort=sort if sort != "name" else "", page=str(page) if page > 1 else "")
    for _, item in frame.iloc[(page - 1) * PAGE_SIZE: page * PAGE_SIZE].iterrows():
        with st.container(border=True):
            st.page_link("views/dataset.py", label=f"**{escaped(item['title'])}**", query_params={"id": item["id"]},
                         icon=":material/table:")
            if show_agency or show_theme:
                with st.container(horizontal=True, gap="small"):
                    if show_agency:
                        st.page_link("views/agency.py", label=escaped(item["agency_name"]),
                                     query_params={"slug": item["agency"]}, icon=":material/account_balance:")
                    if show_theme:
                        st.page_link("views/theme.py", label=escaped(item["theme_label"]),
                                     query_params={"slug": item["theme"]}, icon=":material/category:")
            st.markdown(f"{badge(item['freshness'], freshness_label(item))} {item['frequency_label']} · "
                        + t("listing.last_published", when=when(item["published_at"]))
                        + (" · " + t("listing.next_due", when=when(item["due"])) if item["freshness"] == "on_time"
                           else "")
                        + (" · " + t("listing.was_due", when=when(item["due"])) if item["freshness"] == "overdue"
                           else ""))
    pager(page, pages)



def pager(page: int, pages: int) -> None:
    """Previous and next buttons that move ``?page=`` (nothing when everything fits on one page)."""
    if pages <= 1:
        return
    back, where, forward = st.columns([1, 2, 1])
    if back.button(t("common.previous"), disabled=page <= 1, key="previous"):
        st.query_params["page"] = str(page - 1)
        st.rerun()
    where.caption(t("common.page_of", page=page, pages=pages))
    if forward.button(t("common.next"), disabled=page >= pages, key="next"):
        st.query_params["page"] = str(page + 1)
        st.rerun()

def with_freshness(frame: pd.DataFrame) -> pd.DataFrame:
    return freshness_columns(frame)


def _first_page() -> None:
    st.query_params.pop("page", None)


def _keep_in_url(**values: str) -> None:
    for key, value in values.items():
        if value:
            st.query_params[key] = value
        else:
            st.query_params.pop(key, None)
