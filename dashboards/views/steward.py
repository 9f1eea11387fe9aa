"""Stewards: sign in, then the agency's datasets, uploads, approvals, shared restricted data and audit log.

Only the session token is kept in ``st.session_state``; the steward is looked up from it on every
rerun, so an expired or closed session signs the page out at once. What the page does lives in
``dashboards/steward_actions.py``.
"""

from __future__ import annotations

import datetime as dt
import re

import pandas as pd
import streamlit as st

from catalog import accounts, audit, pending, settings
from catalog.accounts import Steward
from catalog.errors import CatalogError
from catalog.pending import Held
from catalog.spec import Declarations, load_declarations
from catalog.store import Outcome
from dashboards import steward_actions as actions
from dashboards.widgets import feedback_answers

TOKEN = "steward_token"


def _escaped(text) -> str:
    """Text shown through Markdown exactly as written."""
    return re.sub(r"([\\`*_{}\[\]()<>#+|~!$-])", r"\\\1", str(text))


def _when(value: dt.datetime) -> str:
    return value.astimezone(dt.timezone.utc).strftime("%d %b %Y, %H:%M UTC")


def _signed_in(home) -> Steward | None:
    token = st.session_state.get(TOKEN)
    if not token:
        return None
    steward = accounts.session_steward(home, token)
    if steward is None:
        del st.session_state[TOKEN]
        st.info("Your session has ended; sign in again.")
    return steward


def _sign_in_form(home) -> None:
    with st.form("sign_in", clear_on_submit=True):
        user = st.text_input("User name")
        password = st.text_input("Password", type="password")
        submitted = st.form_submit_button("Sign in", icon=":material/login:")
    if submitted:
        result = accounts.authenticate(home, user.strip(), password)
        if not result.ok:
            st.error(f"Not signed in: {_escaped(result.reason)}.")
            return
        st.session_state[TOKEN] = accounts.open_session(home, result.steward)
        st.rerun()


def _show_outcome(home, outcome: Outcome | Held) -> None:
    if isinstance(outcome, Held):
        st.info(f"{_escaped(outcome.dataset)} is {_escaped(outcome.describe())}; it is not public until then.")
    elif outcome.status == "published":
        st.success(f"Published release {outcome.release} of {_escaped(outcome.dataset_id)} "
                   f"({outcome.rows:,} rows).")
    elif outcome.status == "unchanged":
        st.info(f"Nothing new to publish: {_escaped(outcome.describe())}.")
    else:
        st.error(f"Not published: {_escaped(outcome.reason)}")
        _show_report(actions.quarantine_report(home, outcome.dataset_id))


def _show_report(report: dict | None) -> None:
    """The errors by field and rule, with hints; never the offending values."""
    groups = (report or {}).get("groups") or []
    if report and report.get("truncated"):
        st.warning(f"Validation stopped at its cap of {report.get('error_count')} errors; there may be more.")
    if not groups:
        return
    summary = pd.DataFrame(groups)
    summary["rows"] = summary["rows"].map(lambda rows: ", ".join(str(r) for r in rows))
    st.dataframe(summary[["field", "type", "rule", "count", "rows", "hint"]], hide_index=True,
                 key="upload_errors", column_config={"rows": "first rows", "hint": "how to fix"})
    st.caption("The offending values are in the steward's report under the govcat home, not shown here.")


def _embargo(day: dt.date | None, at: dt.time | None) -> dt.datetime | None:
    if day is None:
        return None
    return dt.datetime.combine(day, at or dt.time(0, 0), tzinfo=dt.timezone.utc)


def _upload_section(home, declarations: Declarations, steward: Steward) -> None:
    own = actions.own_datasets(declarations, steward)
    if not own:
        st.info("Your agency declares no datasets yet.")
        return
    titles = {spec.id: spec.title for spec in own}
    with st.form("upload"):
        dataset_id = st.selectbox("Dataset", list(titles), format_func=lambda i: f"{titles[i]} ({i})",
                                  key="upload_dataset")
        uploaded = st.file_uploader("File", type=list(actions.UPLOAD_TYPES),
                                    max_upload_size=actions.MAX_UPLOAD_BYTES // 1024 ** 2)
        note = st.text_area("Release note (required): what this release changes", key="upload_note")
        st.caption("Optional embargo: the release is held until this date and time (UTC).")
        left, right = st.columns(2)
        day = left.date_input("Embargo date", value=None, key="embargo_day")
        at = right.time_input("Embargo time (UTC)", value=None, key="embargo_time")
        submitted = st.form_submit_button("Upload and publish", icon=":material/upload:")
    if not submitted:
        return
    if uploaded is None:
        st.error("Choose a file to upload.")
        return
    try:
        with st.spinner("Checking the file…"):
            outcome = actions.upload(declarations, home, steward, dataset_id, uploaded.name, uploaded.getvalue(),
                                     note, _embargo(day, at))
    except CatalogError as exc:
        st.error(f"Not uploaded: {_escaped(exc)}")
        return
    _show_outcome(home, outcome)


def _approval_section(home, declarations: Declarations, steward: Steward) -> None:
    waiting = actions.awaiting(home, steward)
    if not waiting:
        st.info("No release of your agency is held.")
        return
    for release in waiting:
        with st.container(border=True):
            st.markdown(f"**{_escaped(release.dataset)}** · {_escaped(release.delivery)}  \n"
                        f"Uploaded by {_escaped(release.uploaded_by)} on {_when(release.received_at)}; "
                        f"{_escaped(release.describe())}  \nNote: {_escaped(release.note)}")
            key = f"{release.dataset}:{release.run_id}"
            if release.uploaded_by == steward.user:
                if release.awaiting_approval:
                    st.caption("You uploaded this release; a second steward approves it.")
                if st.button("Withdraw", key=f"withdraw:{key}", icon=":material/undo:"):
                    try:
                        pending.reject(home, release.dataset, release.run_id, steward, "withdrawn by the uploader")
                        st.success(f"Withdrawn; {_escaped(release.delivery)} will not be published.")
                    except CatalogError as exc:
                        st.error(_escaped(exc))
                continue
            if not steward.approver:
                continue
            reason = st.text_input("Reason, if you reject it", key=f"reason:{key}")
            left, right = st.columns(2)
            approve = release.awaiting_approval and left.button("Approve", key=f"approve:{key}",
                                                                icon=":material/check:")
            reject = right.button("Reject", key=f"reject:{key}", icon=":material/close:")
            try:
                if approve:
                    _show_outcome(home, pending.approve(declarations, home, release.dataset, release.run_id, steward))
                elif reject:
                    pending.reject(home, release.dataset, release.run_id, steward, reason)
                    st.success(f"Rejected; {_escaped(release.delivery)} will not be published.")
            except CatalogError as exc:
                st.error(_escaped(exc))


def _shared_section(home, declarations: Declarations, steward: Steward) -> None:
    shared = actions.shared_restricted(home, declarations, steward)
    if not shared:
        st.info("No restricted dataset is shared with your agency.")
        return
    token = st.session_state.get(TOKEN)
    for spec in shared:
        with st.container(border=True):
            st.markdown(f"**{_escaped(spec.title)}** (`{spec.id}`, from {_escaped(spec.agency)})  \n"
                        f"Legal basis: {_escaped(spec.sharing.legal_basis if spec.sharing else '')}")
            st.caption("Every preview and download is recorded in the audit log.")
            left, right = st.columns(2)
            preview = left.button("Preview the first rows", key=f"preview:{spec.id}", icon=":material/visibility:")
            right.download_button("Download CSV", data=lambda dataset_id=spec.id: _restricted_csv(home, token,
                                                                                                  dataset_id),
                                  file_name=f"{spec.id}.csv", mime="text/csv", on_click="ignore",
                                  icon=":material/download:", key=f"download:{spec.id}")
            if preview:
                try:
                    st.dataframe(actions.read_restricted(home, steward, spec.id), hide_index=True,
                                 key=f"restricted:{spec.id}")
                except CatalogError as exc:
                    st.error(_escaped(exc))


def _restricted_csv(home, token: str, dataset_id: str) -> bytes:
    """Run when the download is clicked: checks the session again, then logs and serves the file."""
    steward = accounts.session_steward(home, token)
    if steward is None:
        raise actions.StewardError("the session has ended; sign in again")
    return actions.restricted_csv(home, steward, dataset_id)


def _audit_section(home, declarations: Declarations, steward: Steward) -> None:
    trail = actions.audit_trail(home, declarations, steward)
    if not trail:
        st.info("Nothing recorded yet.")
        return
    table = pd.DataFrame([e.as_row() for e in trail]).drop(columns=["chain"])
    st.dataframe(table, hide_index=True, key="audit")
    st.download_button("Download the audit log (CSV)", data=audit.to_csv(trail[::-1]),
                       file_name=f"audit-{steward.agency}.csv", mime="text/csv", on_click="ignore",
                       icon=":material/download:", key="audit_csv")


def _page(home) -> None:
    st.title("Stewards")
    steward = _signed_in(home)
    if steward is None:
        st.write("Stewards of each agency sign in here to publish releases and read data shared with them.")
        _sign_in_form(home)
        return
    role = "approver" if steward.approver else "steward"
    st.caption(f"Signed in as **{_escaped(steward.name)}** ({_escaped(steward.user)}), "
               f"{role} of {_escaped(steward.agency)}")
    if st.button("Sign out", icon=":material/logout:", key="sign_out"):
        accounts.close_session(home, st.session_state.pop(TOKEN))
        st.rerun()
    declarations = load_declarations(settings.datasets_dir())
    try:  # embargoes that have passed are released on the next look at this page
        for outcome in pending.release_due(declarations, home):
            if declarations.datasets[outcome.dataset_id].agency == steward.agency:
                _show_outcome(home, outcome)
    except CatalogError as exc:
        st.error(f"A held release could not be published: {_escaped(exc)}")
    datasets, upload, approvals, shared, questions, log = st.tabs(
        ["Datasets", "Upload", "Held releases", "Shared with us", "Questions", "Audit log"])
    with datasets:
        st.dataframe(actions.dataset_status(home, declarations, steward), hide_index=True, key="datasets")
    with upload:
        _upload_section(home, declarations, steward)
    with approvals:
        _approval_section(home, declarations, steward)
    with shared:
        _shared_section(home, declarations, steward)
    with questions:
        feedback_answers.show(home, steward, st.session_state.get(TOKEN))
    with log:
        _audit_section(home, declarations, steward)


try:
    _page(settings.home_dir())
except CatalogError as exc:
    st.error(_escaped(exc))
