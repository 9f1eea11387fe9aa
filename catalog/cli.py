"""``govcat``: check declarations, publish, list, query, explore and serve, from the shell.

Exit codes: 0 success; 1 an error (bad declaration, refused query, failed run);
2 a usage error; 3 ``publish`` finished but quarantined at least one delivery.

``publish`` runs each dataset's Dagster job in-process, so it is the one command that
loads ``pipelines`` (and Dagster); the others stay quick.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import sys
from pathlib import Path

from catalog import settings
from catalog.errors import CatalogError
from catalog.references import publish_order

EXIT_ERROR, EXIT_QUARANTINED = 1, 3


def main(argv: list[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    try:
        return args.run(args)
    except CatalogError as exc:
        print(f"govcat: {exc}", file=sys.stderr)
        return EXIT_ERROR
    except KeyboardInterrupt:
        return 130
    except Exception as exc:  # a bug, not the user's fault: say so without a traceback
        if os.environ.get("GOVCAT_DEBUG"):
            raise
        print(f"govcat: unexpected error ({type(exc).__name__}: {exc}); set GOVCAT_DEBUG=1 for details",
              file=sys.stderr)
        return EXIT_ERROR


def _parser() -> argparse.ArgumentParser:
    places = argparse.ArgumentParser(add_help=False)
    places.add_argument("--datasets", metavar="DIR", help="declarations folder (default $GOVCAT_DATASETS or ./datasets)")
    places.add_argument("--home", metavar="DIR", help="published data folder (default $GOVCAT_HOME or ./.govcat)")
    parser = argparse.ArgumentParser(prog="govcat", description="Open government data catalogue and publishing pipeline.")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    check = commands.add_parser("check", parents=[places], help="load every declaration and report problems")
    check.set_defaults(run=cmd_check)

    publish = commands.add_parser("publish", parents=[places], help="pull, validate, protect and publish datasets")
    publish.add_argument("ids", nargs="*", metavar="ID", help="dataset ids to publish")
    publish.add_argument("--all", action="store_true", help="publish every declared dataset")
    publish.add_argument("--note", default="", help="release note recorded with each new release")
    publish.set_defaults(run=cmd_publish)

    listing = commands.add_parser("list", parents=[places], help="list datasets with their current release")
    listing.add_argument("--json", action="store_true", help="print a JSON array")
    listing.set_defaults(run=cmd_list)

    due = commands.add_parser("release-due", parents=[places],
                              help="publish held releases whose embargo has passed and that need no approval")
    due.set_defaults(run=cmd_release_due)

    sql = commands.add_parser("sql", parents=[places], help="run a read-only SQL query over published data")
    sql.add_argument("query", help="one SELECT statement; each public dataset is a table named by its id")
    sql.add_argument("--json", action="store_true", help="print a JSON array of objects")
    sql.add_argument("--limit", type=int, default=1000, help="most rows to print (default 1000)")
    sql.add_argument("--as-of", action="append", default=[], metavar="DATASET=N",
                     help='read DATASET as of its release N (repeatable); any release is also the table "DATASET@N"')
    sql.set_defaults(run=cmd_sql)

    explore = commands.add_parser("explore", parents=[places], help="start the explorer (Streamlit)")
    explore.add_argument("--port", type=int, default=8501)
    explore.add_argument("--address", default="127.0.0.1", help="interface to listen on (default 127.0.0.1)")
    explore.add_argument("--api-port", type=int, default=8000, metavar="PORT",
                         help="port of the HTTP API started beside the explorer (default 8000)")
    explore.add_argument("--no-api", action="store_true", help="do not start the HTTP API beside the explorer")
    explore.set_defaults(run=cmd_explore)

    serve = commands.add_parser("serve", parents=[places], help="serve the HTTP API (downloads) with uvicorn")
    serve.add_argument("--host", default="127.0.0.1", help="interface to listen on (default 127.0.0.1)")
    serve.add_argument("--port", type=int, default=8000, help="port to listen on (default 8000)")
    serve.add_argument("--log-level", default="info", choices=["critical", "error", "warning", "info", "debug"])
    serve.set_defaults(run=cmd_serve)

    check_data = commands.add_parser(
        "validate", help="validate a table, resource or data package (a drop-in for `frictionless validate`)")
    check_data.add_argument("source", help="a CSV/XLSX file, a resource descriptor or a datapackage.json")
    check_data.add_argument("--schema", metavar="SCHEMA", help="Table Schema file (default: the descriptor's, "
                            "or inferred as frictionless infers it)")
    check_data.add_argument("--type", dest="source_type", metavar="TYPE",
                            help="what SOURCE is: table, resource, package, schema, ...")
    check_data.add_argument("--json", action="store_true", help="print the report in frictionless's JSON shape")
    check_data.add_argument("--limit-errors", type=int, default=1000, metavar="N",
                            help="stop after N errors (default 1000; 0 for no limit)")
    check_data.add_argument("--checks", metavar="CHECK", help="extra frictionless checks, e.g. duplicate-row "
                            "(these run in frictionless itself)")
    check_data.set_defaults(run=cmd_validate)

    keygen = commands.add_parser("keygen", parents=[places], help="create the pseudonymisation key in the home")
    keygen.add_argument("--if-missing", action="store_true", help="do nothing when a key already exists")
    keygen.set_defaults(run=cmd_keygen)

    feed = commands.add_parser("feed", parents=[places], help="print the Atom feed of new releases")
    feed_scope = feed.add_mutually_exclusive_group()
    feed_scope.add_argument("--agency", metavar="SLUG", help="only this agency's datasets")
    feed_scope.add_argument("--theme", metavar="ID", help="only datasets of this theme, e.g. health")
    feed_scope.add_argument("--dataset", metavar="ID", help="only this dataset")
    feed_scope.add_argument("--write", action="store_true", help="write every feed into <home>/feeds instead")
    feed.add_argument("--base-url", default="http://localhost:8501", metavar="URL",
                      help="where the explorer is served, for the links (default http://localhost:8501)")
    feed.add_argument("--limit", type=int, default=50, help="most releases in a feed (default 50)")
    feed.set_defaults(run=cmd_feed)

    digest = commands.add_parser("digest", parents=[places],
                                 help="email each subscriber (<home>/subscribers.yaml) the releases new to them")
    digest.add_argument("--since", metavar="ISO", help="only releases published after this date or time "
                        "(default: 7 days ago; a release is never sent twice to the same subscription)")
    digest.add_argument("--smtp-host", metavar="H", help="SMTP server (default $GOVCAT_SMTP_HOST or localhost)")
    digest.add_argument("--smtp-port", type=int, metavar="P", help="SMTP port (default $GOVCAT_SMTP_PORT or 25)")
    digest.add_argument("--sender", metavar="ADDR", help="From address (default $GOVCAT_SMTP_SENDER or "
                        "govcat@localhost); the login comes from $GOVCAT_SMTP_USER and $GOVCAT_SMTP_PASSWORD")
    digest.add_argument("--starttls", action="store_true", help="switch to TLS with STARTTLS before logging in")
    digest.add_argument("--base-url", default="http://localhost:8501", metavar="URL",
                        help="where the explorer is served, for the links (default http://localhost:8501)")
    digest.set_defaults(run=cmd_digest)

    steward = commands.add_parser("steward", help="manage steward accounts")
    steward_commands = steward.add_subparsers(dest="steward_command", required=True, metavar="ACTION")
    steward_add = steward_commands.add_parser(
        "add", parents=[places], help="add a steward account (the password is asked for, or read from stdin)")
    steward_add.add_argument("--user", required=True, help="sign-in name: letters, digits, '.', '_' or '-'")
    steward_add.add_argument("--agency", required=True, help="slug of the agency the steward publishes for")
    steward_add.add_argument("--name", required=True, help="the steward's full name")
    steward_add.add_argument("--approver", action="store_true", help="may approve releases")
    steward_add.set_defaults(run=cmd_steward_add)

    audit = commands.add_parser("audit", parents=[places], help="print or verify the audit log")
    audit.add_argument("verify", nargs="?", choices=["verify"], help="check that no entry was edited or deleted")
    audit.add_argument("--csv", action="store_true", help="print CSV with a header")
    audit.add_argument("--since", metavar="ISO", help="only entries at or after this UTC date or time")
    audit.add_argument("--action", metavar="ACTION", help="only entries of this action, e.g. publish")
    audit.add_argument("--actor", metavar="USER", help="only entries by this actor")
    audit.set_defaults(run=cmd_audit)

    measures = commands.add_parser("metrics", parents=[places],
                                   help="transparency measures per agency (timeliness, metadata, openness, ...)")
    measures.add_argument("--json", action="store_true", help="print a JSON array, one object per agency: each "
                          "measure by name, with NAME_numerator and NAME_denominator beside every share")
    measures.add_argument("--at", metavar="ISO", help="measure as of this past UTC date or time, from the "
                          "catalogue's history (default: now; 2025-03-01 means 2025-03-01T00:00Z)")
    measures.add_argument("--snapshot", action="store_true",
                          help="also add the measures of now to their history (<home>/metrics/snapshots.jsonl)")
    measures.set_defaults(run=cmd_metrics)
    return parser


def _declarations(args):
    from catalog.spec import load_declarations

    return load_declarations(settings.datasets_dir(args.datasets))


def cmd_check(args) -> int:
    declarations = _declarations(args)
    print(f"{len(declarations.agencies)} agencies and {len(declarations.datasets)} datasets: "
          f"every declaration is valid")
    return 0


def cmd_publish(args) -> int:
    if not args.ids and not args.all:
        raise CatalogError("name the datasets to publish, or use --all")
    declarations = _declarations(args)
    specs = list(declarations.datasets.values()) if args.all else declarations.select(args.ids)
    specs = publish_order(specs)
    home = settings.home_dir(args.home)
    from pipelines.run import Publisher  # Dagster is only needed here

    publisher = Publisher(declarations, home)
    quarantined = failed = False
    for spec in specs:
        try:
            outcomes = publisher.publish_pending(spec, note=args.note)
        except CatalogError as exc:
            print(f"{spec.id}: failed: {exc}", flush=True)
            failed = True
            continue
        for outcome in outcomes:
            print(f"{spec.id}: {outcome.describe()}", flush=True)
            quarantined |= outcome.status == "quarantined"
    publisher.store.refresh(declarations)
    return EXIT_ERROR if failed else EXIT_QUARANTINED if quarantined else 0


def cmd_list(args) -> int:
    from catalog import browse, catalogue_db
    from catalog.settings import HomeLayout

    layout = HomeLayout(settings.home_dir(args.home))
    if layout.catalogue.exists():
        con = catalogue_db.open_reader(layout.catalogue)
        try:
            frame = browse.list_datasets(con)
        finally:
            con.close()
        records = [_json_record(r) for r in frame.to_dict("records")]
    else:
        records = [{"id": s.id, "agency": s.agency, "title": s.title, "release": None, "rows": None,
                    "status": "unpublished", "status_reason": None, "access": s.access, "theme": s.theme,
                    "published_at": None} for s in _declarations(args).datasets.values()]
    if args.json:
        print(json.dumps(records, indent=2, ensure_ascii=False))
    else:
        for r in records:
            release = f"release {r['release']}" if r["release"] is not None else "no release"
            rows = f"{r['rows']} rows" if r["rows"] is not None else ""
            print(f"{r['id']:<32} {r['agency']:<20} {r['status']:<12} {release:<12} {rows}")
    return 0


def _json_record(record: dict) -> dict:
    import pandas as pd

    clean = {}
    for key, value in record.items():
        if value is None or (not isinstance(value, (list, dict, str)) and pd.isna(value)):
            clean[key] = None
        elif hasattr(value, "isoformat"):
            clean[key] = value.isoformat()
        elif hasattr(value, "item"):
            clean[key] = value.item()
        else:
            clean[key] = value
    return clean


def cmd_sql(args) -> int:
    from catalog.query import Sandbox

    home = settings.home_dir(args.home)
    if args.limit < 1:
        raise CatalogError("--limit must be at least 1")
    sandbox = Sandbox(home, as_of=_as_of(args.as_of))
    try:
        result = sandbox.query(args.query, row_limit=args.limit)
    finally:
        sandbox.close()
    frame = result.to_pandas()
    if args.json:
        print(json.dumps([_json_record(r) for r in frame.to_dict("records")], indent=2, ensure_ascii=False))
    else:
        print(frame.to_string(index=False, max_colwidth=60) if len(frame) else "(no rows)")
    if result.truncated:
        print(f"govcat: only the first {args.limit} rows are shown (use --limit to see more)", file=sys.stderr)
    return 0


def cmd_release_due(args) -> int:
    from catalog import pending
    from catalog.spec import load_declarations

    outcomes = pending.release_due(load_declarations(settings.datasets_dir(args.datasets)),
                                   settings.home_dir(args.home))
    for outcome in outcomes:
        print(f"{outcome.dataset_id}: {outcome.describe()}")
    if not outcomes:
        print("nothing is due")
    return 0


def _as_of(pins: list[str]) -> dict[str, int]:
    chosen = {}
    for pin in pins:
        dataset_id, _, number = pin.partition("=")
        if not dataset_id or not number.isdigit() or int(number) < 1:
            raise CatalogError(f"--as-of {pin!r}: write it as DATASET=N, for example world_gdp=2")
        chosen[dataset_id] = int(number)
    return chosen


def cmd_explore(args) -> int:
    spec = importlib.util.find_spec("dashboards")
    if spec is None or not spec.submodule_search_locations:
        raise CatalogError("the explorer (package 'dashboards') is not installed")
    app = Path(list(spec.submodule_search_locations)[0]) / "app.py"
    env = {**os.environ, settings.HOME_ENV: str(settings.home_dir(args.home)),
           settings.DATASETS_ENV: str(settings.datasets_dir(args.datasets))}
    host = "localhost" if args.address in ("127.0.0.1", "0.0.0.0") else args.address
    print(f"govcat explorer: http://{host}:{args.port}  (Ctrl+C to stop)", flush=True)
    command = [sys.executable, "-m", "streamlit", "run", str(app), "--server.port", str(args.port),
               "--server.address", args.address, "--server.headless", "true",
               "--browser.gatherUsageStats", "false", "--client.toolbarMode", "viewer"]
    if args.no_api:
        os.execve(sys.executable, command, env)
    from catalog.api import serve

    api = serve.start_in_background(settings.home_dir(args.home), args.address, args.api_port)
    if api is not None:
        env.setdefault("GOVCAT_API_URL", f"http://{'127.0.0.1' if args.address == '0.0.0.0' else args.address}"
                                         f":{args.api_port}")
        print(f"govcat API: {env['GOVCAT_API_URL']}  (downloads for code; stops with the explorer)", flush=True)
    return serve.run_with(command, env, [api] if api is not None else [])


def cmd_serve(args) -> int:
    from catalog.api import serve

    home = settings.home_dir(args.home)
    if args.log_level in ("info", "debug"):
        print(f"govcat API: http://{args.host}:{args.port}  (Ctrl+C to stop)", flush=True)
    serve.serve(home, args.host, args.port, log_level=args.log_level)
    return 0


def cmd_validate(args) -> int:
    from catalog.validation.console import print_report
    from catalog.validation.run import validate

    if args.limit_errors < 0:
        raise CatalogError("--limit-errors must be 0 (no limit) or more")
    checks = [c.strip() for c in args.checks.split(",") if c.strip()] if args.checks else None
    report = validate(args.source, schema=args.schema, type=args.source_type, limit_errors=args.limit_errors,
                      checks=checks)
    if args.json:
        print(report.to_json())
    else:
        print_report(report)
    return 0 if report.valid else EXIT_ERROR


def cmd_keygen(args) -> int:
    from catalog.privacy import write_new_key

    home = settings.home_dir(args.home)
    path = home / "secrets" / "pseudonym.key"
    if path.exists():
        if args.if_missing:
            return 0
        raise CatalogError(f"a key already exists at {path}; it is never overwritten (pseudonyms depend on it)")
    print(f"created {write_new_key(home)} (keep it secret; back it up)")
    return 0


def cmd_feed(args) -> int:
    from catalog.feeds import feed_xml, write_feeds

    layout = settings.HomeLayout(settings.home_dir(args.home))
    if args.write:
        written = write_feeds(layout.catalogue, layout.feeds, base_url=args.base_url, limit=args.limit)
        print(f"wrote {len(written)} feeds into {layout.feeds}")
        return 0
    scope, value = next(((scope, value) for scope, value in (
        ("agency", args.agency), ("theme", args.theme), ("dataset", args.dataset)) if value), ("all", None))
    document = feed_xml(layout.catalogue, scope=scope, value=value, base_url=args.base_url, limit=args.limit)
    sys.stdout.flush()
    sys.stdout.buffer.write(document + b"\n")
    sys.stdout.buffer.flush()
    return 0


def cmd_digest(args) -> int:
    import datetime as dt

    from catalog.digests import send_digests

    if args.since:
        try:
            since = dt.datetime.fromisoformat(args.since)
        except ValueError:
            raise CatalogError(f"--since {args.since!r} is not an ISO date or time, e.g. 2025-03-01 or "
                               f"2025-03-01T06:00+01:00") from None
    else:
        since = dt.datetime.now(dt.timezone.utc) - dt.timedelta(days=7)
    port = args.smtp_port if args.smtp_port is not None else os.environ.get("GOVCAT_SMTP_PORT") or "25"
    if not str(port).isdigit():
        raise CatalogError(f"GOVCAT_SMTP_PORT {port!r} is not a port number")
    home = settings.home_dir(args.home)
    result = send_digests(
        home, since=since, smtp_host=args.smtp_host or os.environ.get("GOVCAT_SMTP_HOST") or "localhost",
        smtp_port=int(port), sender=args.sender or os.environ.get("GOVCAT_SMTP_SENDER") or "govcat@localhost",
        starttls=args.starttls, username=os.environ.get("GOVCAT_SMTP_USER") or None,
        password=os.environ.get("GOVCAT_SMTP_PASSWORD") or None, base_url=args.base_url)
    for line in result.describe() or [f"nobody is subscribed: list subscribers in "
                                      f"{settings.HomeLayout(home).subscribers}"]:
        print(line)
    return EXIT_ERROR if result.refused else 0


def cmd_steward_add(args) -> int:
    from catalog.accounts import add_steward

    if sys.stdin.isatty():
        import getpass

        password = getpass.getpass(f"Password for {args.user}: ")
        if getpass.getpass("Same password again: ") != password:
            raise CatalogError("the two passwords differ; nothing was changed")
    else:  # piped: the first line is the password
        password = sys.stdin.readline().rstrip("\r\n")
    steward = add_steward(settings.home_dir(args.home), args.user, args.agency, args.name, password,
                          approver=args.approver)
    role = "steward and approver" if steward.approver else "steward"
    print(f"added {steward.user} ({steward.name}) as {role} for {steward.agency}")
    return 0


def cmd_audit(args) -> int:
    from catalog import audit

    home = settings.home_dir(args.home)
    if args.verify:
        broken = audit.verify(home)
        if broken is not None:
            print(f"govcat: the audit log is broken at line {broken}: that line was edited, inserted, moved or "
                  f"damaged, or a line before it was deleted ({settings.HomeLayout(home).audit_log})", file=sys.stderr)
            return EXIT_ERROR
        print(f"the audit log is intact ({len(audit.entries(home))} entries)")
        return 0
    found = audit.entries(home, since=args.since, action=args.action, actor=args.actor)
    if args.csv:
        sys.stdout.write(audit.to_csv(found))
        return 0
    for entry in found:  # control characters are shown as '?' so an entry cannot drive the terminal
        parts = (entry.time.isoformat(timespec="seconds"), f"{entry.actor:<16}", f"{entry.action:<15}",
                 entry.target, entry.detail)
        line = "  ".join(part for part in parts if part).rstrip()
        print("".join(c if c.isprintable() else "?" for c in line))
    if not found:
        print("(no entries)")
    return 0


METRIC_COLUMNS = (("timeliness", "on time"), ("punctuality", "dates met"), ("metadata_recommended", "metadata"),
                  ("open_licence", "open licence"), ("validation_pass_rate", "passed"),
                  ("privacy_reviewed", "privacy"), ("answered_in_time", "answered"))


def cmd_metrics(args) -> int:
    import datetime as dt

    from catalog import metric_history, metrics

    now = dt.datetime.now(dt.timezone.utc)
    if args.at and args.snapshot:
        raise CatalogError("--snapshot records the measures of now; leave out --at")
    at = _metrics_time(args.at, now) if args.at else now
    home = settings.home_dir(args.home)
    declarations = _declarations(args)
    found = metrics.report(metrics.evidence(home, declarations), at)
    rows = found["agencies"]
    if args.json:
        print(json.dumps(rows, indent=2, ensure_ascii=False))
    else:
        print(f"Transparency measures as of {at.isoformat(timespec='seconds')} "
              f"(releases, quarantines and questions of the last {found['window_days']} days)")
        header = f"{'rank':>4}  {'agency':<22} {'score':>5}  " + "  ".join(f"{t:>12}" for _, t in METRIC_COLUMNS)
        print(header + f"  {'overdue':>7}")
        for row in rows:
            rank = str(row["rank"]) if row["rank"] is not None else "-"
            score = f"{row['score']:.1f}" if row["score"] is not None else "-"
            cells = "  ".join(f"{_ratio_cell(row, name):>12}" for name, _ in METRIC_COLUMNS)
            print(f"{rank:>4}  {row['agency']:<22} {score:>5}  {cells}  {row['overdue_datasets']:>7}")
        print("score: " + ", ".join(f"{name} {weight}" for name, weight in found["weights"].items())
              + " (weights, over the measures that apply)")
    if args.snapshot:
        taken = metric_history.take(home, declarations, trigger="manual", at=now)
        print("snapshot recorded" if taken else "snapshot unchanged since the last one today", file=sys.stderr)
    return 0


def _metrics_time(text: str, now):
    import datetime as dt

    try:
        at = dt.datetime.fromisoformat(text)
    except ValueError:
        raise CatalogError(f"--at {text[:40]!r} is not an ISO date or time, e.g. 2025-03-01 or "
                           f"2025-03-01T06:00+01:00") from None
    at = at.replace(tzinfo=dt.timezone.utc) if at.tzinfo is None else at.astimezone(dt.timezone.utc)
    if at > now:
        raise CatalogError(f"--at {text[:40]!r} is in the future; measures are taken from what has happened")
    return at


def _ratio_cell(row: dict, name: str) -> str:
    denominator = row[f"{name}_denominator"]
    if not denominator:
        return "-"
    return f"{row[f'{name}_numerator']}/{denominator} {row[name]:.0%}"


if __name__ == "__main__":
    sys.exit(main())
