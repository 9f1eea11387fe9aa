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
from dashboards.i18n import moment, t
from dashboards.widgets import feedback_answers

TOKEN = "steward_token"


def _escaped(text) -> str:
    """Text shown through Markdown exactly as written."""
    return re.sub(r"([\\`*_{}\[\]()<>#+|~!$-])", r"\\\1", str(text))


def _signed_in(home) -> Steward | None:
    token = st.session_state.get(TOKEN)
    if not token:
        return None
    steward = accounts.session_steward(home, token)
    if steward is None:
        del st.session_state[TOKEN]
        st.info(t("steward.session_ended"))
    return steward


def _sign_in_form(home) -> None:
    with st.form("sign_in", clear_on_submit=True):
        user = st.text_input(t("steward.user"), autocomplete="username")
        password = st.text_input(t("steward.password"), type="password", autocomplete="current-password")
        submitted = st.form_submit_button(t("steward.sign_in"), icon=":material/login:")
    if submitted:
        result = accounts.authenticate(home, user.strip(), password)
        if not result.ok:
            st.error(t("steward.not_signed_in", reason=_escaped(result.reason)))
            return
        st.session_state[TOKEN] = accounts.open_session(home, result.steward)
        st.rerun()


def _show_outcome(home, outcome: Outcome | Held) -> None:
    if isinstance(outcome, Held):
        st.info(t("steward.held", dataset=_escaped(outcome.dataset), state=_escaped(outcome.describe())))
    elif outcome.status == "published":
        st.success(t("steward.published", release=outcome.release, dataset=_escaped(outcome.dataset_id),
                     rows=t("common.rows", count=outcome.rows)))
    elif outcome.status == "unchanged":
        st.info(t("steward.unchanged", state=_escaped(outcome.describe())))
    else:
        st.error(t("steward.not_published", reason=_escaped(outcome.reason)))
        _show_report(actions.quarantine_report(home, outcome.dataset_id))


def _show_report(report: dict | None) -> None:
    """The errors by field and rule, with hints; never the offending values."""
    groups = (report or {}).get("groups") or []
    if report and report.get("truncated"):
        st.warning(t("steward.capped", errors=report.get("error_count")))
    if not groups:
        return
    summary = pd.DataFrame(groups)
    summary["rows"] = summary["rows"].map(lambda rows: ", ".join(str(r) for r in rows))
    st.dataframe(summary[["field", "type", "rule", "count", "rows", "hint"]], hide_index=True,
                 key="upload_errors", column_config={
                     "field": t("steward.error_field"), "type": t("steward.error_type"),
                     "rule": t("steward.error_rule"), "count": t("steward.error_count"),
                     "rows": t("steward.error_rows"), "hint": t("steward.error_hint")})
    st.caption(t("steward.values_not_shown"))


def _embargo(day: dt.date | None, at: dt.time | None) -> dt.datetime | None:
    if day is None:
        return None
    return dt.datetime.combine(day, at or dt.time(0, 0), tzinfo=dt.timezone.utc)


def _upload_section(home, declarations: Declarations, steward: Steward) -> None:
    own = actions.own_datasets(declarations, steward)
    if not own:
        st.info(t("steward.no_datasets"))
        return
    titles = {spec.id: spec.title for spec in own}
    with st.form("upload"):
        dataset_id = st.selectbox(t("steward.dataset"), list(titles), format_func=lambda i: f"{titles[i]} ({i})",
                                  key="upload_dataset")
        uploaded = st.file_uploader(t("steward.file"), type=list(actions.UPLOAD_TYPES),
                                    max_upload_size=actions.MAX_UPLOAD_BYTES // 1024 ** 2)
        note = st.text_area(t("steward.note"), key="upload_note")
        st.caption(t("steward.embargo_help"))
        left, right = st.columns(2)
        day = left.date_input(t("steward.embargo_day"), value=None, key="embargo_day")
        at = right.time_input(t("steward.embargo_time"), value=None, key="embargo_time")
        submitted = st.form_submit_button(t("steward.upload"), icon=":material/upload:")
    if not submitted:
        return
    if uploaded is None:
        st.error(t("steward.choose_file"))
        return
    try:
        with st.spinner(t("steward.checking")):
            outcome = actions.upload(declarations, home, steward, dataset_id, uploaded.name, uploaded.getvalue(),
                                     note, _embargo(day, at))
    except CatalogError as exc:
        st.error(t("steward.not_uploaded", reason=_escaped(exc)))
        return
    _show_outcome(home, outcome)


def _approval_section(home, declarations: Declarations, steward: Steward) -> None:
    waiting = actions.awaiting(home, steward)
    if not waiting:
        st.info(t("steward.none_held"))
        return
    for release in waiting:
        with st.container(border=True):
            st.markdown(f"**{_escaped(release.dataset)}** · {_escaped(release.delivery)}  \n"
                        + t("steward.uploaded_by", user=_escaped(release.uploaded_by),
                            at=moment(release.received_at), state=_escaped(release.describe()))
                        + "  \n" + t("steward.release_note", note=_escaped(release.note)))
            key = f"{release.dataset}:{release.run_id}"
            if release.uploaded_by == steward.user:
                if release.awaiting_approval:
                    st.caption(t("steward.second_steward"))
                if st.button(t("steward.withdraw"), key=f"withdraw:{key}", icon=":material/undo:"):
                    try:
                        pending.reject(home, release.dataset, release.run_id, steward, "withdrawn by the uploader")
                        st.success(t("steward.withdrawn", delivery=_escaped(release.delivery)))
                    except CatalogError as exc:
                        st.error(_escaped(exc))
                continue
            if not steward.approver:
                continue
            reason = st.text_input(t("steward.reason"), key=f"reason:{key}")
            left, right = st.columns(2)
            approve = release.awaiting_approval and left.button(t("steward.approve"), key=f"approve:{key}",
                                                                icon=":material/check:")
            reject = right.button(t("steward.reject"), key=f"reject:{key}", icon=":material/close:")
            try:
                if approve:
                    _show_outcome(home, pending.approve(declarations, home, release.dataset, release.run_id, steward))
                elif reject:
                    pending.reject(home, release.dataset, release.run_id, steward, reason)
                    st.success(t("steward.rejected", delivery=_escaped(release.delivery)))
            except CatalogError as exc:
                st.error(_escaped(exc))


def _shared_section(home, declarations: Declarations, steward: Steward) -> None:
    shared = actions.shared_restricted(home, declarations, steward)
    if not shared:
        st.info(t("steward.none_shared"))
        return
    token = st.session_state.get(TOKEN)
    for spec in shared:
        with st.container(border=True):
            st.markdown(f"**{_escaped(spec.title)}** "
                        + t("steward.shared_from", id=spec.id, agency=_escaped(spec.agency)) + "  \n"
                        + t("steward.legal_basis", basis=_escaped(spec.sharing.legal_basis if spec.sharing else "")))
            st.caption(t("steward.recorded"))
            left, right = st.columns(2)
            preview = left.button(t("steward.preview"), key=f"preview:{spec.id}", icon=":material/visibility:")
            right.download_button(t("common.download_csv"), data=lambda dataset_id=spec.id: _restricted_csv(home, token,
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
        st.info(t("steward.nothing_recorded"))
        return
    table = pd.DataFrame([e.as_row() for e in trail]).drop(columns=["chain"])
    st.dataframe(table, hide_index=True, key="audit", column_config={
        "time": t("steward.audit_time"), "actor": t("steward.audit_actor"), "action": t("steward.audit_action"),
        "target": t("steward.audit_target"), "checksum": t("steward.audit_checksum"),
        "detail": t("steward.audit_detail")})
    st.download_button(t("steward.audit_csv"), data=audit.to_csv(trail[::-1]),
                       file_name=f"audit-{steward.agency}.csv", mime="text/csv", on_click="ignore",
                       icon=":material/download:", key="audit_csv")


def _page(home) -> None:
    st.title(t("steward.title"))
    steward = _signed_in(home)
    if steward is None:
        st.write(t("steward.intro"))
        _sign_in_form(home)
        return
    role = t("steward.role_approver") if steward.approver else t("steward.role_steward")
    st.caption(t("steward.signed_in", name=_escaped(steward.name), user=_escaped(steward.user), role=role,
                 agency=_escaped(steward.agency)))
    if st.button(t("steward.sign_out"), icon=":material/logout:", key="sign_out"):
        accounts.close_session(home, st.session_state.pop(TOKEN))
        st.rerun()
    declarations = load_declarations(settings.datasets_dir())
    try:  # embargoes that have passed are released on the next look at this page
        for outcome in pending.release_due(declarations, home):
            if declarations.datasets[outcome.dataset_id].agency == steward.agency:
                _show_outcome(home, outcome)
    except CatalogError as exc:
        st.error(t("steward.held_not_published", reason=_escaped(exc)))
    datasets, upload, approvals, shared, questions, log = st.tabs(
        [t("steward.tab_datasets"), t("steward.tab_upload"), t("steward.tab_held"), t("steward.tab_shared"),
         t("steward.tab_questions"), t("steward.tab_audit")])
    with datasets:
        st.dataframe(actions.dataset_status(home, declarations, steward), hide_index=True, key="datasets",
                     column_config={"dataset": t("steward.status_dataset"), "title": t("steward.status_title"),
                                    "access": t("steward.status_access"), "status": t("steward.status_status"),
                                    "release": t("steward.status_release"), "rows": t("steward.status_rows"),
                                    "held": t("steward.status_held")})
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
