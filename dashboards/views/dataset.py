"""Dataset page: what it is, its columns, its first rows, its releases, its reports, downloads."""

import json
import re

import pandas as pd
import streamlit as st

from catalog.browse import diff_summary
from dashboards import data
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
    rows = [("highest risk of any record", "highest"),
            (f"records at risk (a risk above {after.get('threshold', 0):.0%})", "share_at_risk"),
            ("average risk", "average")]
    return pd.DataFrame({"measure": [label for label, _ in rows],
                         "before": [f"{before[key]:.1%}" for _, key in rows],
                         "after": [f"{after[key]:.1%}" for _, key in rows]})


def _when(value) -> str:
    return pd.Timestamp(value).strftime("%d %b %Y, %H:%M UTC") if pd.notna(value) else "never"


def _card(label: str, value: str) -> None:
    st.markdown(f"**{label}**  \n{value or '—'}")


dataset_id = st.query_params.get("id", "")
record = data.dataset(dataset_id) if data.published() and dataset_id else None

if record is None:
    st.title("Dataset")
    if dataset_id:
        st.error(f"There is no published public dataset with the id “{_escaped(dataset_id[:80])}”.")
    st.page_link("views/search.py", label="Search the catalogue", icon=":material/search:")
    if data.published():
        st.subheader("Every public dataset")
        for _, item in data.find("", [], [], limit=1000, offset=0).hits.sort_values("title").iterrows():
            st.page_link("views/dataset.py", label=f"{item['title']} ({item['agency_name']})",
                         query_params={"id": item["id"]})
    st.stop()

st.query_params["id"] = record["id"]
st.title(record["title"])
with st.container(horizontal=True, gap="small", vertical_alignment="center", key="published_by"):
    st.caption("Published by", width="content")
    st.page_link("views/agency.py", label=record["agency_name"], query_params={"slug": record["agency"]},
                 icon=":material/account_balance:")
    st.page_link("views/theme.py", label=record["theme_label"], query_params={"slug": record["theme"]},
                 icon=":material/category:")
    st.caption(f"id `{record['id']}`", width="content")
st.write(record["description"])

if record["status"] == "quarantined":
    st.warning(f"The latest delivery was not published: {_escaped(record['status_reason'])}  \n"
               + ("The release below is still the current one." if pd.notna(record["release"]) else ""),
               icon=":material/report:")


left, middle, right = st.columns(3)
with left:
    licence = f"[{record['licence_title']}]({record['licence_url']})" if record["licence_url"] else record["licence_title"]
    _card("Licence", licence)
    _card("Updated", record["frequency_label"])
    _card("Access", record["access_label"])
with middle:
    release = (f"Release {int(record['release'])} · {int(record['rows']):,} rows"
               if pd.notna(record["release"]) else "Not yet published")
    _card("Current release", release)
    _card("Last published", _when(record["published_at"]))
    declared = " to ".join(v for v in (record["temporal_start"], record["temporal_end"]) if v)
    covered = declared
    if pd.notna(record["data_start"]):
        spanned = f"{record['data_start']} to {record['data_end']}"
        covered = f"{spanned} in release {int(record['release'])}"
        if declared and declared != spanned:
            covered += f"  \n(the series covers {declared})"
    _card("Time covered", covered)
with right:
    _card("Area covered", record["spatial"])
    _card("Contact", f"{record['contact_name']} ({record['contact_email']})")
    origin = f"[{record['origin_title']}]({record['origin_url']})" if record["origin_url"] else ""
    _card("Source", f"{record['source_format'].upper()} from the agency" + (f"; originally {origin}" if origin else ""))
if len(record["keywords"]):
    st.caption("Keywords: " + ", ".join(record["keywords"]))

releases, quarantines = data.history(record["id"])
chosen, asked = None, st.query_params.get("release", "")
if asked and not releases.empty:
    numbers = [int(n) for n in releases["release"]]
    if asked.isdigit() and int(asked) in numbers:
        chosen = releases[releases["release"] == int(asked)].iloc[0]
        if int(asked) != numbers[0]:
            st.info(f"You are looking at release {int(asked)} as it was published on {_when(chosen['published_at'])}. "
                    f"The current release is {numbers[0]}.", icon=":material/history:")
    else:
        st.warning(f"There is no release “{_escaped(asked[:20])}” of this dataset; showing the current one. "
                   f"Its releases are {min(numbers)} to {max(numbers)}.")
        del st.query_params["release"]
current_release = chosen if chosen is not None else (releases.iloc[0] if not releases.empty else None)
tab_data, tab_schema, tab_releases, tab_reports, tab_download, tab_questions = st.tabs(
    ["Data", "Columns", "Releases", "Quality and privacy", "Download", "Questions"])

with tab_data:
    if pd.isna(record["release"]):
        st.info("No release has been published yet.")
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
        st.info("No release has been published yet.")
    else:
        shown = releases.assign(published_at=releases["published_at"].map(_when),
                                data_sha256=releases["data_sha256"].str[:16] + "…",
                                changes=releases["diff"].map(diff_summary),
                                breaking=releases["breaking"].map(lambda b: "yes" if b is True else ""))
        st.dataframe(shown[["release", "published_at", "rows", "changes", "breaking", "note", "delivery",
                            "data_sha256"]],
                     hide_index=True, key="releases",
                     column_config={"data_sha256": "checksum (SHA-256)", "published_at": "published",
                                    "changes": "what changed from the release before",
                                    "breaking": "breaks consumers"})
        if releases["breaking"].eq(True).any():
            st.caption("A release that *breaks consumers* removed or retyped a column, or changed the primary "
                       "key: queries and tools written for the release before may fail on it.")
        numbers = [int(n) for n in releases["release"]]
        st.markdown("**Look at an earlier release** (its data, downloads and a link to cite):")
        for number in numbers[:50]:
            st.page_link("views/dataset.py", label=f"Release {number}" + (" (current)" if number == numbers[0] else ""),
                         query_params={"id": record["id"], "release": str(number)})
    if not quarantines.empty:
        st.subheader("Deliveries that were not published")
        for _, held in quarantines.iterrows():
            st.markdown(f"- **{held['delivery']}**, received {_when(held['attempted_at'])}, stopped at "
                        f"{held['stage']}: {_escaped(held['reason'])}")

with tab_reports:
    if not releases.empty:
        privacy = json.loads(releases.iloc[0]["privacy"])
        st.subheader("What we removed and why")
        rules = privacy.get("rules", [])
        if rules:
            for rule in rules:
                st.markdown(f"- {_sentence(rule['plain'])}")
        else:
            st.markdown("- Nothing: no column of this dataset holds personal data.")
        for column, reason in privacy.get("waivers", {}).items():
            st.markdown(f"- Kept `{column}` after review: {reason}")
        measures = privacy.get("measures") or {}
        for measure in measures.values():
            if isinstance(measure, dict) and measure.get("plain"):
                st.markdown(f"- {_sentence(_escaped(measure['plain']))}")
        risk = _risk_table(measures.get("k_anonymity") or {})
        if risk is not None:
            st.markdown("**Re-identification risk** (the chance of singling out one record from the "
                        "combinations of its quasi-identifiers, before and after the privacy rules):")
            st.dataframe(risk, hide_index=True, key="risk")
    if not quarantines.empty:
        latest = quarantines.iloc[0]
        st.subheader(f"Why {latest['delivery']} was not published")
        report = json.loads(latest["report"])
        problems = report.get("problems") or []
        groups = report.get("groups") or []
        if report.get("truncated"):
            st.warning(f"Validation stopped at its cap of {report.get('error_count')} errors; "
                       "there may be more. The delivery was rejected.")
        if groups:
            st.markdown("**Errors by field and rule**, with how to fix them:")
            summary = pd.DataFrame(groups)
            summary["rows"] = summary["rows"].map(lambda rows: ", ".join(str(r) for r in rows))
            st.dataframe(summary[["field", "type", "rule", "count", "rows", "hint"]], hide_index=True,
                         key="error_groups", column_config={"rows": "first rows", "hint": "how to fix"})
            st.caption("The offending values are kept in the steward's report, not shown here: "
                       "a rejected cell may hold personal data.")
        if problems:
            st.markdown("**Every error**")
            table = pd.DataFrame(problems)[["row", "field_name", "type", "message"]]
            st.dataframe(table, hide_index=True, key="problems",
                         column_config={"field_name": "field", "type": "rule broken"})
        else:
            st.write(latest["reason"])

with tab_download:
    download_panel.show(record, current_release, pinned=chosen is not None)

with tab_questions:
    feedback_panel.dataset_panel(record)
