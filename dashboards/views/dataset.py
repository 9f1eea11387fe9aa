"""Dataset page: what it is, its columns, its first rows, its releases, its reports, downloads."""

import json
import re

import pandas as pd
import streamlit as st

from catalog.browse import diff_summary
from dashboards import data
from dashboards.i18n import moment, number, t
from dashboards.widgets import profile_panel
from dashboards.widgets import table_panel
from dashboards.widgets import feedback_panel
from dashboards.widgets import download_panel


def _escaped(text: str) -> str:
    """Text shown through Markdown exactly as written (patterns and lists in reasons contain [ ] * _)."""
    return re.sub(r"([\\`*_{}\[\]()<>#+|~!$-])", r"\\\1", str(text))


def _sentence(text: str) -> str:
    text = text.strip().rstrip(".")
    return text[:1].upper() + text[1:] + "."


def _risk_table(measure: dict) -> pd.DataFrame | None:
    """Re-identification risk before and after the rules, as shares a reader can compare."""
    before, after = measure.get("risk_before"), measure.get("risk_after")
    if not before or not after:
        return None
    rows = [(t("dataset.risk_highest"), "highest"),
            (t("dataset.risk_at_risk", threshold=_percent(after.get("threshold", 0), 0)), "share_at_risk"),
            (t("dataset.risk_average"), "average")]
    return pd.DataFrame({"measure": [label for label, _ in rows],
                         "before": [_percent(before[key]) for _, key in rows],
                         "after": [_percent(after[key]) for _, key in rows]})


def _percent(share: float, decimals: int = 1) -> str:
    return t("profile.percent", share=number(share * 100, decimals=decimals))


def _when(value) -> str:
    return moment(value) if pd.notna(value) else t("format.never")


def _card(label: str, value: str) -> None:
    st.markdown(f"**{label}**  \n{value or '—'}")


dataset_id = st.query_params.get("id", "")
record = data.dataset(dataset_id) if data.published() and dataset_id else None

if record is None:
    st.title(t("dataset.title"))
    if dataset_id:
        st.error(t("calculate.unknown", id=_escaped(dataset_id[:80])))
    st.page_link("views/search.py", label=t("calculate.search"), icon=":material/search:")
    if data.published():
        st.subheader(t("dataset.every"))
        for _, item in data.find("", [], [], limit=1000, offset=0).hits.sort_values("title").iterrows():
            st.page_link("views/dataset.py", label=f"{item['title']} ({item['agency_name']})",
                         query_params={"id": item["id"]})
    st.stop()

st.query_params["id"] = record["id"]
st.title(record["title"])
with st.container(horizontal=True, gap="small", vertical_alignment="center", key="published_by"):
    st.caption(t("theme.published_by"), width="content")
    st.page_link("views/agency.py", label=record["agency_name"], query_params={"slug": record["agency"]},
                 icon=":material/account_balance:")
    st.page_link("views/theme.py", label=record["theme_label"], query_params={"slug": record["theme"]},
                 icon=":material/category:")
    st.caption(f"id `{record['id']}`", width="content")
st.write(record["description"])

if record["status"] == "quarantined":
    st.warning(t("dataset.quarantined", reason=_escaped(record["status_reason"])) + "  \n"
               + (t("dataset.still_current") if pd.notna(record["release"]) else ""),
               icon=":material/report:")


left, middle, right = st.columns(3)
with left:
    licence = f"[{record['licence_title']}]({record['licence_url']})" if record["licence_url"] else record["licence_title"]
    _card(t("dataset.licence"), licence)
    _card(t("dataset.updated"), record["frequency_label"])
    _card(t("dataset.access"), record["access_label"])
with middle:
    release = (t("dataset.release", release=int(record["release"]), rows=t("common.rows", count=int(record["rows"])))
               if pd.notna(record["release"]) else t("listing.unpublished"))
    _card(t("dataset.current_release"), release)
    _card(t("agency.last_published"), _when(record["published_at"]))
    ends = [v for v in (record["temporal_start"], record["temporal_end"]) if v]
    declared = t("dataset.span", start=ends[0], end=ends[1]) if len(ends) == 2 else "".join(ends)
    covered = declared
    if pd.notna(record["data_start"]):
        spanned = t("dataset.span", start=record["data_start"], end=record["data_end"])
        covered = t("dataset.in_release", span=spanned, release=int(record["release"]))
        if declared and declared != spanned:
            covered += "  \n" + t("dataset.series_covers", span=declared)
    _card(t("dataset.time_covered"), covered)
with right:
    _card(t("dataset.area"), record["spatial"])
    _card(t("agency.contact"), f"{record['contact_name']} ({record['contact_email']})")
    origin = f"[{record['origin_title']}]({record['origin_url']})" if record["origin_url"] else ""
    _card(t("dataset.source"), t("dataset.from_agency", format=record["source_format"].upper())
          + ("; " + t("dataset.originally", origin=origin) if origin else ""))
if len(record["keywords"]):
    st.caption(t("dataset.keywords", keywords=", ".join(record["keywords"])))

releases, quarantines = data.history(record["id"])
chosen, asked = None, st.query_params.get("release", "")
if asked and not releases.empty:
    numbers = [int(n) for n in releases["release"]]
    if asked.isdigit() and int(asked) in numbers:
        chosen = releases[releases["release"] == int(asked)].iloc[0]
        if int(asked) != numbers[0]:
            st.info(t("dataset.looking_at", release=int(asked), at=_when(chosen["published_at"]),
                      current=numbers[0]), icon=":material/history:")
    else:
        st.warning(t("dataset.no_such_release", release=_escaped(asked[:20]), first=min(numbers),
                     last=max(numbers)))
        del st.query_params["release"]
current_release = chosen if chosen is not None else (releases.iloc[0] if not releases.empty else None)
tab_data, tab_schema, tab_releases, tab_reports, tab_download, tab_questions = st.tabs(
    [t("dataset.tab_data"), t("dataset.tab_columns"), t("dataset.tab_releases"), t("dataset.tab_reports"),
     t("dataset.tab_download"), t("dataset.tab_questions")])

with tab_data:
    if pd.isna(record["release"]):
        st.info(t("dataset.no_release"))
    else:
        table_panel.show(record, int(current_release["release"]), pinned=chosen is not None)

with tab_schema:
    if current_release is None:
        profile_panel.show(None, record["schema"], None)
    else:
        profiled = int(current_release["release"])
        profile_panel.show(data.column_profile(record["id"], profiled, record["privacy"]), record["schema"], profiled)

with tab_releases:
    if releases.empty:
        st.info(t("dataset.no_release"))
    else:
        shown = releases.assign(published_at=releases["published_at"].map(_when),
                                data_sha256=releases["data_sha256"].str[:16] + "…",
                                changes=releases["diff"].map(diff_summary),
                                breaking=releases["breaking"].map(lambda b: t("dataset.breaking_yes") if b is True
                                                                  else ""))
        st.dataframe(shown[["release", "published_at", "rows", "changes", "breaking", "note", "delivery",
                            "data_sha256"]],
                     hide_index=True, key="releases",
                     column_config={"release": t("dataset.col_release"), "published_at": t("dataset.col_published"),
                                    "rows": t("steward.status_rows"), "changes": t("dataset.col_changes"),
                                    "breaking": t("dataset.col_breaking"), "note": t("dataset.col_note"),
                                    "delivery": t("dataset.col_delivery"), "data_sha256": t("dataset.col_checksum")})
        if releases["breaking"].eq(True).any():
            st.caption(t("dataset.breaking_help"))
        numbers = [int(n) for n in releases["release"]]
        st.markdown(t("dataset.earlier"))
        for shown_number in numbers[:50]:
            label = (t("dataset.release_current", release=shown_number) if shown_number == numbers[0]
                     else t("dataset.release_number", release=shown_number))
            st.page_link("views/dataset.py", label=label,
                         query_params={"id": record["id"], "release": str(shown_number)})
    if not quarantines.empty:
        st.subheader(t("dataset.not_published"))
        for _, held in quarantines.iterrows():
            st.markdown("- " + t("dataset.held", delivery=held["delivery"], at=_when(held["attempted_at"]),
                                 stage=held["stage"], reason=_escaped(held["reason"])))

with tab_reports:
    if not releases.empty:
        privacy = json.loads(releases.iloc[0]["privacy"])
        st.subheader(t("dataset.removed"))
        rules = privacy.get("rules", [])
        if rules:
            for rule in rules:
                st.markdown(f"- {_sentence(rule['plain'])}")
        else:
            st.markdown("- " + t("dataset.nothing_removed"))
        for column, reason in privacy.get("waivers", {}).items():
            st.markdown("- " + t("dataset.kept", column=column, reason=reason))
        measures = privacy.get("measures") or {}
        for measure in measures.values():
            if isinstance(measure, dict) and measure.get("plain"):
                st.markdown(f"- {_sentence(_escaped(measure['plain']))}")
        risk = _risk_table(measures.get("k_anonymity") or {})
        if risk is not None:
            st.markdown(t("dataset.risk"))
            st.dataframe(risk, hide_index=True, key="risk", column_config={
                "measure": t("dataset.risk_measure"), "before": t("dataset.risk_before"),
                "after": t("dataset.risk_after")})
    if not quarantines.empty:
        latest = quarantines.iloc[0]
        st.subheader(t("dataset.why", delivery=latest["delivery"]))
        report = json.loads(latest["report"])
        problems = report.get("problems") or []
        groups = report.get("groups") or []
        if report.get("truncated"):
            st.warning(t("dataset.capped", errors=report.get("error_count")))
        if groups:
            st.markdown(t("dataset.errors_by_rule"))
            summary = pd.DataFrame(groups)
            summary["rows"] = summary["rows"].map(lambda rows: ", ".join(str(r) for r in rows))
            st.dataframe(summary[["field", "type", "rule", "count", "rows", "hint"]], hide_index=True,
                         key="error_groups", column_config={
                             "field": t("steward.error_field"), "type": t("steward.error_type"),
                             "rule": t("steward.error_rule"), "count": t("steward.error_count"),
                             "rows": t("steward.error_rows"), "hint": t("steward.error_hint")})
            st.caption(t("dataset.values_kept"))
        if problems:
            st.markdown(f"**{t('dataset.every_error')}**")
            table = pd.DataFrame(problems)[["row", "field_name", "type", "message"]]
            st.dataframe(table, hide_index=True, key="problems",
                         column_config={"row": t("dataset.col_row"), "field_name": t("steward.error_field"),
                                        "type": t("dataset.col_rule_broken"), "message": t("dataset.col_message")})
        else:
            st.write(latest["reason"])

with tab_download:
    download_panel.show(record, current_release, pinned=chosen is not None)

with tab_questions:
    feedback_panel.dataset_panel(record)
