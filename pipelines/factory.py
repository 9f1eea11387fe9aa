"""One declared dataset becomes one Dagster asset chain, grouped under its agency:

    [agency, id, pulled] ──schema_valid (blocking)──▶ [agency, id, protected]
        ──privacy_guard (blocking)──▶ [agency, id, published]

Asset and check bodies are thin: each calls one step of ``catalog.flow``. A blocking check
that fails stops the run before anything is published; the step has already recorded
the quarantine and its report.
"""


import json

import dagster as dg

from catalog import flow, pending
from catalog.spec import Agency, DatasetSpec
from catalog.store import Outcome
from catalog.validate import read_report
from pipelines.resources import GovcatResource


class PullConfig(dg.Config):
    delivery: str = ""
    """A delivery's file name; empty means the next one due, else the newest."""


class PublishConfig(dg.Config):
    note: str = ""
    """The steward's release note."""


def asset_key(spec: DatasetSpec, stage: str) -> dg.AssetKey:
    return dg.AssetKey([spec.agency, spec.id, stage])


def job_name(dataset_id: str) -> str:
    return f"{dataset_id}_publish"


def dataset_defs(spec: DatasetSpec, agency: Agency, referenced: list[DatasetSpec] = ()) -> dg.Definitions:
    """``referenced``: the datasets its foreign keys refer to, whose releases its validation reads."""
    pulled_key, protected_key, published_key = (asset_key(spec, s) for s in ("pulled", "protected", "published"))
    common = {"group_name": spec.agency, "owners": [agency.contact.email], "tags": {"theme": spec.theme}}

    @dg.asset(key=pulled_key, kinds={spec.source.format}, description=f"{spec.title}: the agency's delivery, "
              f"staged as UTF-8 CSV ({spec.source.location})", deps=[asset_key(o, "published") for o in referenced],
              **common)
    def pulled(context: dg.AssetExecutionContext, config: PullConfig, govcat: GovcatResource) -> dg.MaterializeResult:
        declarations, current = govcat.spec(spec.id)
        try:
            staged = flow.step_pull(declarations, current, govcat.home_path(), context.run.run_id, config.delivery or None)
        except flow.Rejected as rejected:
            raise dg.Failure(description=rejected.outcome.describe(), allow_retries=False) from None
        return dg.MaterializeResult(metadata={
            "delivery": staged.delivery, "source_sha256": staged.source_sha256, "bytes": staged.source_bytes,
            "format": staged.format, "encoding": staged.encoding or "n/a"})

    @dg.asset_check(asset=pulled_key, name="schema_valid", blocking=True,
                    description="Every row and cell matches the Table Schema (frictionless's rules, checked in DuckDB)")
    def schema_valid(context: dg.AssetCheckExecutionContext, govcat: GovcatResource) -> dg.AssetCheckResult:
        declarations, current = govcat.spec(spec.id)
        home = govcat.home_path()
        try:
            report = flow.step_validate(declarations, current, home, context.run.run_id)
        except flow.Rejected:
            report = read_report(flow.staging_dir(home, spec.id, context.run.run_id) / "validation.json")
            flow.discard_staging(home, spec.id, context.run.run_id)
        metadata = {"rows": report.rows, "errors": report.error_count, "summary": report.summary(),
                    "error_cap_reached": report.truncated, "encoding": report.encoding or "utf-8",
                    "errors_by_field_and_rule": dg.MetadataValue.md(_groups_table(report.groups)),
                    "first_errors": dg.MetadataValue.json([p.__dict__ for p in report.problems[:20]])}
        steward = flow.steward_report_path(home, spec.id, context.run.run_id)
        if steward.exists():
            metadata["steward_report"] = dg.MetadataValue.path(str(steward))
        return dg.AssetCheckResult(passed=report.valid, severity=dg.AssetCheckSeverity.ERROR, metadata=metadata)

    @dg.asset(key=protected_key, deps=[pulled_key], kinds={"duckdb"},
              description=f"{spec.title}: typed, with the privacy rules applied", **common)
    def protected(context: dg.AssetExecutionContext, govcat: GovcatResource) -> dg.MaterializeResult:
        _, current = govcat.spec(spec.id)
        report = flow.step_protect(current, govcat.home_path(), context.run.run_id)
        return dg.MaterializeResult(metadata={
            "dagster/row_count": report.rows, "columns": ", ".join(report.columns),
            "rules": "; ".join(r["plain"] for r in report.rules) or "none"})

    @dg.asset_check(asset=protected_key, name="privacy_guard", blocking=True,
                    description="No published column looks personal without a rule or a reviewed waiver")
    def privacy_guard(context: dg.AssetCheckExecutionContext, govcat: GovcatResource) -> dg.AssetCheckResult:
        declarations, current = govcat.spec(spec.id)
        home = govcat.home_path()
        try:
            report = flow.step_guard(declarations, current, home, context.run.run_id)
        except flow.Rejected as rejected:
            flow.discard_staging(home, spec.id, context.run.run_id)
            return dg.AssetCheckResult(passed=False, severity=dg.AssetCheckSeverity.ERROR,
                                       metadata={"summary": rejected.outcome.reason})
        return dg.AssetCheckResult(passed=True, severity=dg.AssetCheckSeverity.ERROR,
                                   metadata={"summary": report.summary()})

    @dg.asset(key=published_key, deps=[protected_key], kinds={"parquet"},
              description=f"{spec.title}: the current public release", **common)
    def published(context: dg.AssetExecutionContext, config: PublishConfig, govcat: GovcatResource) -> dg.MaterializeResult:
        declarations, current = govcat.spec(spec.id)
        home = govcat.home_path()
        if current.approval:       # a second steward approves it on the Stewards page before it goes live
            held = pending.hold_prepared(current, home, flow.staging_dir(home, spec.id, context.run.run_id),
                                         note=config.note, uploaded_by="pipeline")
            outcome = held if isinstance(held, Outcome) else Outcome(
                spec.id, "held", delivery=held.delivery, reason="awaiting a second steward's approval")
        else:
            outcome = flow.step_publish(declarations, current, home, context.run.run_id, config.note)
        return dg.MaterializeResult(metadata={
            "status": outcome.status, "release": outcome.release or 0, "dagster/row_count": outcome.rows or 0,
            "outcome": dg.MetadataValue.json(json.loads(json.dumps(outcome.__dict__))),
            "dagster/column_schema": _column_schema(current)})

    job = dg.define_asset_job(job_name(spec.id), selection=dg.AssetSelection.assets(pulled, protected, published),
                              description=f"Pull, validate, protect and publish {spec.title}")
    return dg.Definitions(assets=[pulled, protected, published], asset_checks=[schema_valid, privacy_guard],
                          jobs=[job])


def _column_schema(spec: DatasetSpec) -> dg.TableSchema:
    return dg.TableSchema(columns=[
        dg.TableColumn(name=f["name"], type=f.get("type", "string"), description=f.get("description"))
        for f in spec.published_schema()["fields"]])


def _groups_table(groups: list[dict]) -> str:
    """The errors by field and rule as a Markdown table for the Dagster UI."""
    if not groups:
        return "No errors."
    lines = ["| field | error | rule | count | first rows | how to fix |", "|---|---|---|---:|---|---|"]
    for g in groups:
        rows = ", ".join(str(r) for r in g["rows"])
        lines.append(f"| {g['field'] or ''} | {g['type']} | {g['rule']} | {g['count']} | {rows} | {g['hint']} |")
    return "\n".join(lines)
