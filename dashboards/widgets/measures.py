"""Parts of the transparency pages: measures as text with their counts, the as-of date, trends and exports.

The numbers come from ``catalog.metrics`` (live) and ``catalog.metric_history`` (snapshots); this
module only shapes them into tables, charts and files.
"""

from __future__ import annotations

import datetime as dt
import json
import re

import pandas as pd
import streamlit as st

from catalog.metric_history import trend
from catalog.metrics import BY_NAME, METRICS

RANKING_COLUMNS = (("timeliness", "On time"), ("punctuality", "Announced dates met"),
                   ("metadata_recommended", "Recommended metadata"), ("open_licence", "Open licence"),
                   ("validation_pass_rate", "Deliveries passed"), ("privacy_reviewed", "Privacy reviewed"),
                   ("answered_in_time", "Answered in 30 days"))
TREND_CHOICES = {"score": "Combined score (0-100)", **{m.name: m.label for m in METRICS}}


def escaped(text) -> str:
    """Text shown through Markdown exactly as written."""
    return re.sub(r"([\\`*_{}\[\]()<>#+|~!$:-])", r"\\\1", str(text))


def measure_text(row: dict, name: str) -> str:
    """A measure as people read it: '3/4 (75%)' for a share, a count, days, or why it has no value."""
    kind = BY_NAME[name].kind
    if kind in ("share", "mean"):
        denominator = row.get(f"{name}_denominator") or 0
        if not denominator:
            return "— (nothing to count)"
        numerator = row.get(f"{name}_numerator")
        if kind == "mean":
            return f"{row[name]:.2f} ({numerator}/{denominator})"
        return f"{numerator}/{denominator} ({row[name]:.0%})"
    value = row.get(name)
    if value is None:
        return "—"
    return f"{value:g} days" if kind == "days" else f"{value:,}"


def ranking_frame(agencies: list[dict]) -> pd.DataFrame:
    """The ranking table: one row per agency, best score first."""
    rows = []
    for row in agencies:
        rows.append({"Rank": row["rank"], "Agency": row["agency_name"],
                     "Score": row["score"], **{label: measure_text(row, name) for name, label in RANKING_COLUMNS},
                     "Overdue datasets": row["overdue_datasets"], "Public datasets": row["datasets_public"],
                     "Not public (not scored)": row["excluded_not_public"]})
    return pd.DataFrame(rows)


def scorecard_frame(row: dict, group: str) -> pd.DataFrame:
    """One group of an agency's measures: value, numerator, denominator and how it is computed."""
    lines = []
    for metric in METRICS:
        if metric.group != group:
            continue
        ratio = metric.kind in ("share", "mean")
        lines.append({"Measure": metric.label, "Value": measure_text(row, metric.name),
                      "Numerator": f"{row.get(f'{metric.name}_numerator')}" if ratio else "",
                      "Denominator": f"{row.get(f'{metric.name}_denominator')}" if ratio else "",
                      "Key": metric.name, "How": metric.formula})
    return pd.DataFrame(lines)


def datasets_frame(datasets: list[dict]) -> pd.DataFrame:
    """The per-dataset measures, one row per public dataset."""
    rows = []
    for d in datasets:
        timely = {"on_time": "on time", "overdue": f"overdue by {d['lateness_days']} days",
                  "excluded": f"not measured: {d['timeliness_excluded_reason']}"}[d["timeliness"]]
        rows.append({
            "Dataset": d["title"], "id": d["dataset_id"], "Agency": d["agency_name"], "Frequency": d["frequency"],
            "Last release": d["last_release"][:10] if d["last_release"] else "never", "Due": d["due"] or "—",
            "Timeliness": timely, "Overdue": d["overdue_reason"] or "no",
            "Announced dates met": f"{d['announced_met']}/{d['announced_past']}" if d["announced_past"] else "—",
            "Next announced": d["next_announced"] or "—",
            "Recommended metadata": f"{d['recommended_present']}/7",
            "Missing metadata": ", ".join(d["recommended_missing"]) or "none",
            "Open licence": "yes" if d["open_licence"] else "no",
            "Delivered as": d["source_format"].upper(), "Stars": d["five_star"],
            "Deliveries passed": f"{d['passed']}/{d['attempts']}" if d["attempts"] else "—",
            "Quarantined": d["quarantines"], "Not fixed": d["quarantines_unfixed"],
            "Privacy reviewed": f"{d['privacy_reviewed']}/{d['releases_in_window']}" if d["releases_in_window"] else "—",
        })
    return pd.DataFrame(rows)


def overdue_frame(overdue: list[dict]) -> pd.DataFrame:
    return pd.DataFrame([{"Dataset": d["title"], "id": d["dataset_id"], "Agency": d["agency_name"],
                          "Days overdue": d["days_overdue"], "Why": d["overdue_reason"],
                          "Last release": d["last_release"][:10] if d["last_release"] else "never"}
                         for d in overdue], columns=["Dataset", "id", "Agency", "Days overdue", "Why", "Last release"])


def excluded_frame(excluded: list[dict], agencies: dict[str, str]) -> pd.DataFrame:
    return pd.DataFrame([{"Agency": agencies.get(e["agency"], "—") if e["agency"] else "—",
                          "Dataset": e["title"] or (f"{e['count']} not named" if e["count"] else "—"),
                          "Left out of": e["measure"], "Why": e["reason"]} for e in excluded],
                        columns=["Agency", "Dataset", "Left out of", "Why"])


def trend_frame(snapshots: list[dict], measure: str, agency: str | None = None) -> pd.DataFrame:
    """The measure at each snapshot: when, agency, value (percent for a share), numerator, denominator."""
    rows = trend(snapshots, measure, agency)
    frame = pd.DataFrame(rows, columns=["at", "trigger", "agency", "agency_name", "value", "numerator",
                                        "denominator"])
    if not frame.empty:
        frame["at"] = pd.to_datetime(frame["at"], utc=True)
        if measure in BY_NAME and BY_NAME[measure].kind == "share":
            frame["value"] = frame["value"].astype(float) * 100
    return frame


def trend_section(snapshots: list[dict], *, agency: str | None, key: str) -> None:
    """A measure picked from the URL (``measure``), its line over the snapshots, and the same as a table."""
    asked = st.query_params.get("measure", "score")
    measure = st.selectbox("Measure over time", list(TREND_CHOICES), format_func=TREND_CHOICES.get,
                           index=list(TREND_CHOICES).index(asked) if asked in TREND_CHOICES else 0, key=key)
    if measure != "score":
        st.query_params["measure"] = measure
    else:
        st.query_params.pop("measure", None)
    frame = trend_frame(snapshots, measure, agency)
    if frame.empty:
        st.info("No snapshot yet: one is taken at every publish and every day.")
        return
    unit = " (percent)" if measure in BY_NAME and BY_NAME[measure].kind == "share" else ""
    wide = frame.pivot_table(index="at", columns="agency_name", values="value", aggfunc="last")
    st.line_chart(wide, x_label="snapshot time (UTC)", y_label=f"{TREND_CHOICES[measure]}{unit}")
    st.caption(trend_summary(wide))
    if len(wide) < 2:
        st.caption("One snapshot so far: the lines grow with each publish and each day.")
    with st.expander("The same as a table"):
        shown = frame.assign(at=frame["at"].dt.strftime("%Y-%m-%d %H:%M UTC"))
        st.dataframe(shown.drop(columns=["agency"]), hide_index=True, key=f"{key}_table")
    downloads(frame.assign(at=frame["at"].map(lambda t: t.isoformat())), f"trend-{measure}", key=f"{key}_dl")


def trend_summary(wide: pd.DataFrame) -> str:
    """The chart in words: each line's first and latest value (the text alternative beside the chart)."""
    said = []
    for name in wide.columns:
        line = wide[name].dropna()
        if line.empty:
            continue
        first, last = line.iloc[0], line.iloc[-1]
        change = "unchanged" if first == last else ("up" if last > first else "down")
        said.append(f"{name}: {last:.3g} at the latest snapshot, {change} from {first:.3g} at the first")
    return "In words: " + ("; ".join(said) if said else "no value measured yet") + "."


def downloads(data: pd.DataFrame | list | dict, stem: str, *, key: str) -> None:
    """Two buttons: the data as CSV and as JSON."""
    with st.container(horizontal=True, gap="small"):
        st.download_button("Download CSV", data=csv_text(data), file_name=f"{stem}.csv", mime="text/csv",
                           key=f"{key}_csv", icon=":material/download:")
        st.download_button("Download JSON", data=json_text(data), file_name=f"{stem}.json",
                           mime="application/json", key=f"{key}_json", icon=":material/download:")


def csv_text(data) -> str:
    """CSV with a header; lists joined with '; '; a text cell that a spreadsheet would run as a formula
    gets a leading apostrophe (names and reasons come from declarations)."""
    frame = data if isinstance(data, pd.DataFrame) else pd.json_normalize(data if isinstance(data, list) else [data])
    return frame.map(_cell).to_csv(index=False)


def _cell(value):
    if isinstance(value, (list, tuple)):
        value = "; ".join(map(str, value))
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return value


def json_text(data) -> str:
    if isinstance(data, pd.DataFrame):
        data = json.loads(data.to_json(orient="records", date_format="iso"))
    return json.dumps(data, indent=2, ensure_ascii=False, default=str)


def as_of_picker(today: dt.date) -> dt.datetime | None:
    """The day the page measures at (``?at=YYYY-MM-DD``): None for now, else the end of that UTC day."""
    asked = st.query_params.get("at", "")
    chosen = today
    if asked:
        try:
            chosen = min(dt.date.fromisoformat(asked[:10]), today)
        except ValueError:
            st.warning(f"“{escaped(asked[:40])}” is not a date (YYYY-MM-DD): showing today.")
    picked = st.date_input("As of the end of", value=chosen, max_value=today, key="as_of", format="YYYY-MM-DD")
    if picked >= today:
        st.query_params.pop("at", None)
        return None
    st.query_params["at"] = picked.isoformat()
    return dt.datetime.combine(picked, dt.time.max, tzinfo=dt.timezone.utc)
