"""Benchmark of govcat's HTTP API beside Datasette serving the same rows, both over loopback HTTP.

It reuses the explorer benchmark's data (``bench/explorer.py``): the 1,000,000-row register of
payments published through govcat into a home, and the same rows in SQLite with a publisher's
indexes. It starts ``govcat serve`` on that home and ``datasette serve -i`` on that file (twice:
with its default 1 s time limit and with 20 s), each as a subprocess on a free loopback port, all
at once, and sends each the same bounded load, one side then the other, in rounds whose samples
are pooled (so a slow spell of the machine falls on both sides, not on whichever ran then):

1. a filtered page of 100 rows with its total count (govcat's data API; Datasette's table JSON,
   its default page with facet suggestions, and with ``_nofacet=1``);
2. a group-by by department and month with a sum (govcat's ``/api/sql``; Datasette's
   ``/<db>.json?sql=`` with the 20 s limit, and a few times at its default 1 s limit, which
   refuses it);
3. a full CSV export of every row, a few times one after the other (govcat's streamed data API
   and its download file, built by an untimed first request; Datasette's ``.csv?_stream=on``),
   with each server's peak resident memory while it exports;
4. one row by its primary key (govcat's data API filtered on the key; Datasette's row JSON).

Each request is timed by the client from sending it to the last byte of the answer. It prints
one table of p50 and p95 times with the ratios, and whether the floors are met: govcat's p95 no
worse than Datasette's on every row, and govcat at least 5 times faster (p50) on the filtered
page with its total and on the group-by, as Datasette answers them by default (the page with its
facet suggestions; the ratio against ``_nofacet=1`` is shown beside it).

    .venv/bin/python bench/api.py [--rows N] [--requests N] [--group-requests N] [--concurrency N]
        [--rounds N] [--runs N] [--work DIR] [--json-out PATH]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import math
import os
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import httpx
import numpy as np

BENCH_DIR = Path(__file__).resolve().parent
if str(BENCH_DIR.parent) not in sys.path:
    sys.path.insert(0, str(BENCH_DIR.parent))

from bench import explorer  # noqa: E402
from bench.explorer import (DATASET_ID, TABLE, Manifest, Samples, Server, ensure_home,  # noqa: E402
                            ensure_register, ensure_sqlite, error_text, fmt_ms, free_port, markdown_table,
                            peer_cells, progress, served)

PAGE_ROWS = 100
FILTER = ("department", "Housing")
DATASETTE_DEFAULT_LIMIT_MS = explorer.DATASETTE_DEFAULT_LIMIT_MS
DATASETTE_LONG_LIMIT_MS = explorer.DATASETTE_LONG_LIMIT_MS
FASTER_THAN_DATASETTE = 5.0     # Datasette p50 / govcat p50 on the filtered page and the group-by
REQUEST_TIMEOUT = 120.0         # seconds; a CSV export is allowed EXPORT_TIMEOUT
EXPORT_TIMEOUT = 900.0
RSS_SAMPLE_SECONDS = 0.02
PK_SEED = 20250716

# The servers' rate limits are switched off: the benchmark is one client sending a bounded load.
GOVCAT_ENV = {"GOVCAT_API_RATE": "0", "GOVCAT_API_CONCURRENT": "0"}
# Datasette cuts a CSV export at 100 MB by default; 0 lets it send every row, as govcat does.
DATASETTE_SETTINGS = {"max_csv_mb": "0"}

GOVCAT_GROUP_BY = ("SELECT department, strftime(paid_on, '%Y-%m') AS month, sum(amount) AS total_amount "
                   f"FROM {TABLE} GROUP BY department, month ORDER BY department, month")
SQLITE_GROUP_BY = ("SELECT department, substr(paid_on, 1, 7) AS month, sum(amount) AS total_amount "
                   f"FROM {TABLE} GROUP BY department, month ORDER BY department, month")


# --------------------------------------------------------------------------------------
# The servers
# --------------------------------------------------------------------------------------

def govcat_server(home: Path, log: Path):
    port = free_port()
    command = [str(explorer.VENV_BIN / "govcat"), "serve", "--home", str(home), "--host", "127.0.0.1",
               "--port", str(port), "--log-level", "warning"]
    return served("govcat", command, "/healthz", port, log, GOVCAT_ENV)


def datasette_server(database: Path, limit_ms: int, log: Path):
    port = free_port()
    settings = {"sql_time_limit_ms": str(limit_ms), **DATASETTE_SETTINGS}
    command = [str(explorer.VENV_BIN / "datasette"), "serve", "-i", str(database), "--host", "127.0.0.1",
               "--port", str(port)]
    for key, value in settings.items():
        command += ["--setting", key, value]
    return served(f"Datasette ({limit_ms:,} ms limit)", command, "/-/versions.json", port, log)


# --------------------------------------------------------------------------------------
# The load
# --------------------------------------------------------------------------------------

class Refused(Exception):
    """The server answered, but not with what was asked (an error, a time limit, a wrong count)."""


# A check reads a whole answer and returns what the benchmark compares across servers (or raises Refused).
Check = Callable[[httpx.Response], object]


@dataclass
class Load:
    """One measured load: its samples, and how it was sent."""
    samples: Samples
    requests: int
    concurrency: int
    wall: float
    answer: object = None             # what the check returned for the first warm-up answer
    peak_rss: int | None = None       # bytes, for the CSV exports
    rss_before: int | None = None
    bytes_each: int | None = None
    lines_each: int | None = None

    @property
    def per_second(self) -> float:
        return self.requests / self.wall if self.wall else 0.0


def run_load(base_url: str, paths: list[str], check: Check, concurrency: int) -> Load:
    """``paths`` requested by ``concurrency`` workers sharing kept-alive connections, after one untimed
    warm-up request per connection; every answer is checked, a failed check counted as refused."""
    return asyncio.run(_load(base_url, paths, check, concurrency))


async def _load(base_url: str, paths: list[str], check: Check, concurrency: int) -> Load:
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(base_url=base_url, limits=limits, timeout=REQUEST_TIMEOUT) as client:
        warm = await asyncio.gather(*(client.get(paths[i % len(paths)]) for i in range(concurrency)))
        try:
            answer = check(warm[0])
        except Refused as refused:
            answer = refused
        samples, queue = Samples(), list(reversed(paths))

        async def worker():
            while queue:
                path = queue.pop()
                started = time.perf_counter()
                response = await client.get(path)
                samples.seconds.append(time.perf_counter() - started)
                try:
                    check(response)
                except Refused as refused:
                    samples.failures += 1
                    samples.failure = str(refused)

        started = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        wall = time.perf_counter() - started
    return Load(samples, len(paths), concurrency, wall, answer)


def run_exports(server: Server, path: str, runs: int, warmup: bool = False) -> Load:
    """The whole CSV ``runs`` times one after the other, counting its bytes and lines (after one
    untimed export with ``warmup``); the server's peak RSS over the timed exports, read from VmHWM
    after resetting it, and sampled every RSS_SAMPLE_SECONDS."""
    sampled = {"peak": 0}
    stop = threading.Event()

    def sample():
        while not stop.is_set():
            sampled["peak"] = max(sampled["peak"], server.memory().get("VmRSS", 0))
            stop.wait(RSS_SAMPLE_SECONDS)

    samples, sizes = Samples(), []
    with httpx.Client(base_url=server.base_url, timeout=EXPORT_TIMEOUT) as client:
        if warmup:
            with contextlib.suppress(Refused):
                _export(client, path)
        before = server.memory().get("VmRSS")
        reset = server.reset_peak()
        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        started = time.perf_counter()
        try:
            for _ in range(runs):
                begun = time.perf_counter()
                try:
                    sizes.append(_export(client, path))
                except Refused as refused:
                    samples.failures += 1
                    samples.failure = str(refused)
                samples.seconds.append(time.perf_counter() - begun)
        finally:
            stop.set()
            sampler.join()
        wall = time.perf_counter() - started
    peak = server.memory().get("VmHWM") if reset else None
    load = Load(samples, runs, 1, wall, sizes[0] if sizes else None,
                max(filter(None, [peak, sampled["peak"]]), default=None), before)
    if sizes:
        load.bytes_each, load.lines_each = sizes[0]
    if len(set(sizes)) > 1:
        samples.failures += 1
        samples.failure = f"the exports differ in size: {sorted(set(sizes))}"
    return load


def _export(client: httpx.Client, path: str) -> tuple[int, int]:
    """(bytes, line breaks) of one whole answer, read as it streams and dropped."""
    size = lines = 0
    with client.stream("GET", path) as response:
        if response.status_code != 200:
            response.read()
            raise Refused(f"HTTP {response.status_code}: {response.text[:200]}")
        for chunk in response.iter_bytes():
            size += len(chunk)
            lines += chunk.count(b"\n")
    return size, lines


# --------------------------------------------------------------------------------------
# What each server is asked, and how its answer is checked
# --------------------------------------------------------------------------------------

def _json(response: httpx.Response):
    try:
        body = response.json()
    except ValueError:
        raise Refused(f"HTTP {response.status_code}: not JSON") from None
    if response.status_code != 200:
        raise Refused(error_text(body, response.status_code) if isinstance(body, dict)
                      else f"HTTP {response.status_code}")
    return body


def govcat_page(response: httpx.Response) -> int:
    body = _json(response)
    if len(body["rows"]) != PAGE_ROWS or body.get("total") is None:
        raise Refused(f"{len(body['rows'])} rows, total {body.get('total')}")
    return body["total"]


def datasette_page(response: httpx.Response) -> int:
    body = _json(response)
    if len(body["rows"]) != PAGE_ROWS:
        raise Refused(f"{len(body['rows'])} rows")
    if body.get("filtered_table_rows_count") is None:
        raise Refused("no count (the count query hit the time limit)")
    return body["filtered_table_rows_count"]


def govcat_groups(response: httpx.Response) -> dict:
    body = _json(response)
    if body.get("truncated"):
        raise Refused("the result was cut short")
    return {(r["department"], r["month"]): r["total_amount"] for r in body["rows"]}


def datasette_groups(response: httpx.Response) -> dict:
    body = _json(response)
    if not isinstance(body, list):
        raise Refused("not a list of rows")
    return {(r["department"], r["month"]): r["total_amount"] for r in body}


def govcat_row(response: httpx.Response) -> dict:
    body = _json(response)
    if body.get("total") != 1 or len(body["rows"]) != 1:
        raise Refused(f"{body.get('total')} rows match")
    return body["rows"][0]


def datasette_row(response: httpx.Response) -> dict:
    body = _json(response)
    if len(body.get("rows", [])) != 1:
        raise Refused(f"{len(body.get('rows', []))} rows")
    row = body["rows"][0]
    return dict(zip(body["columns"], row)) if isinstance(row, list) else row


def query(path: str, params: dict) -> str:
    return str(httpx.URL(path, params=params))


def filtered_paths() -> dict[str, str]:
    column, value = FILTER
    return {"govcat": query(f"/api/data/{DATASET_ID}", {column: value, "_size": PAGE_ROWS}),
            "datasette": query(f"/{TABLE}/{TABLE}.json", {column: value, "_size": PAGE_ROWS}),
            "datasette_nofacet": query(f"/{TABLE}/{TABLE}.json", {column: value, "_size": PAGE_ROWS,
                                                                  "_nofacet": 1})}


def primary_keys(rows: int, requests: int) -> list[int]:
    """Payment numbers spread over the whole register, the same for both servers on every run."""
    return [int(k) for k in np.random.default_rng(PK_SEED).integers(1, rows + 1, requests)]


# --------------------------------------------------------------------------------------
# The run
# --------------------------------------------------------------------------------------

@dataclass
class Measured:
    govcat: dict[str, Load] = field(default_factory=dict)
    datasette: dict[str, Load] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    def add(self, side: str, key: str, load: Load) -> None:
        """Pool ``load`` with the rounds of the same measurement before it."""
        loads = self.govcat if side == "govcat" else self.datasette
        before = loads.get(key)
        if before is None:
            loads[key] = load
            return
        before.samples.seconds += load.samples.seconds
        before.samples.failures += load.samples.failures
        before.samples.failure = load.samples.failure or before.samples.failure
        before.requests += load.requests
        before.wall += load.wall


def measure(home: Path, database: Path, rows: int, args: argparse.Namespace, log: Path, out: Measured) -> None:
    """Both servers (and Datasette again with the longer time limit) run side by side, and each load
    goes to one then the other, round after round: a slow spell of the machine falls on both."""
    pages = filtered_paths()
    keys = primary_keys(rows, args.requests)
    group_by = query(f"/{TABLE}.json", {"sql": SQLITE_GROUP_BY, "_shape": "array"})
    with contextlib.ExitStack() as servers:
        ours = servers.enter_context(govcat_server(home, log))
        theirs = servers.enter_context(datasette_server(database, DATASETTE_DEFAULT_LIMIT_MS, log))
        theirs_long = servers.enter_context(datasette_server(database, DATASETTE_LONG_LIMIT_MS, log))
        for number in range(1, args.rounds + 1):
            progress(f"round {number} of {args.rounds}: filtered page, {args.requests} requests at concurrency "
                     f"{args.concurrency} on each side (Datasette by default and with _nofacet=1) ...")
            out.add("govcat", "page", run_load(ours.base_url, [pages["govcat"]] * args.requests, govcat_page,
                                               args.concurrency))
            out.add("datasette", "page", run_load(theirs.base_url, [pages["datasette"]] * args.requests,
                                                  datasette_page, args.concurrency))
            out.add("datasette", "page_nofacet", run_load(
                theirs.base_url, [pages["datasette_nofacet"]] * args.requests, datasette_page, args.concurrency))
            progress(f"round {number}: row by primary key, {args.requests} requests on each side ...")
            out.add("govcat", "row", run_load(ours.base_url, [query(f"/api/data/{DATASET_ID}", {
                "payment_id": k, "_size": 1}) for k in keys], govcat_row, args.concurrency))
            out.add("datasette", "row", run_load(theirs.base_url, [f"/{TABLE}/{TABLE}/{k}.json" for k in keys],
                                                 datasette_row, args.concurrency))
            progress(f"round {number}: group-by, {args.group_requests} requests on each side (Datasette with its "
                     f"{DATASETTE_LONG_LIMIT_MS:,} ms limit) ...")
            out.add("govcat", "group_by", run_load(ours.base_url, [query("/api/sql", {"sql": GOVCAT_GROUP_BY})]
                                                   * args.group_requests, govcat_groups, args.concurrency))
            out.add("datasette", "group_by", run_load(theirs_long.base_url, [group_by] * args.group_requests,
                                                      datasette_groups, args.concurrency))
        progress(f"Datasette ({DATASETTE_DEFAULT_LIMIT_MS:,} ms): group-by, {args.concurrency} requests "
                 f"(to record its refusals) ...")
        out.add("datasette", "group_by_default", run_load(theirs.base_url, [group_by] * args.concurrency,
                                                          datasette_groups, args.concurrency))
        progress(f"govcat: streamed CSV of every row (data API), {args.runs} exports one after the other ...")
        out.add("govcat", "csv", run_exports(ours, f"/api/data/{DATASET_ID}.csv?_stream=1", args.runs))
        progress(f"govcat: CSV download file, {args.runs} downloads one after the other ...")
        started = time.perf_counter()
        out.add("govcat", "download", run_exports(ours, f"/downloads/{DATASET_ID}.csv", args.runs, warmup=True))
        out.notes.append(f"govcat's download file was built (or found) by its first, untimed request in "
                         f"{time.perf_counter() - started - sum(out.govcat['download'].samples.seconds):.1f} s")
        progress(f"Datasette: CSV of every row (_stream=on), {args.runs} exports one after the other ...")
        out.add("datasette", "csv", run_exports(theirs, f"/{TABLE}/{TABLE}.csv?_stream=on&_size=max", args.runs))


def agreement(out: Measured, rows: int) -> None:
    """Notes on whether both servers gave the same answers (read from the warm-up answers)."""
    g, d, notes = out.govcat, out.datasette, out.notes
    if "page" in g and "page" in d:
        ours, theirs = g["page"].answer, d["page"].answer
        notes.append(f"filtered page: both count {ours:,} matching rows" if ours == theirs else
                     f"filtered page: the counts differ: govcat {ours}, Datasette {theirs}")
    if "group_by" in g and "group_by" in d:
        ours, theirs = g["group_by"].answer, d["group_by"].answer
        if isinstance(ours, dict) and isinstance(theirs, dict):
            differing = [k for k in ours if k not in theirs or not math.isclose(
                ours[k], theirs[k], rel_tol=1e-9, abs_tol=0.005)]
            notes.append(f"group-by: both return the same {len(ours)} groups and sums"
                         if not differing and ours.keys() == theirs.keys() else
                         f"group-by: the answers differ ({len(ours)} groups against {len(theirs)}, "
                         f"{len(differing)} sums differ)")
    if "row" in g and "row" in d:
        ours, theirs = g["row"].answer, d["row"].answer
        if isinstance(ours, dict) and isinstance(theirs, dict):
            same = all(ours.get(c) == theirs.get(c) for c in ("payment_id", "supplier_name", "amount", "paid_on"))
            notes.append(f"row by key: both give payment {ours.get('payment_id')} the same way" if same else
                         f"row by key: the rows differ: govcat {ours}, Datasette {theirs}")
    for side, loads in (("govcat", g), ("Datasette", d)):
        for key in ("csv", "download"):
            load = loads.get(key)
            if load is not None and load.lines_each is not None:
                notes.append(f"{side} {key}: {load.lines_each - 1:,} data lines, {load.bytes_each / 1e6:,.1f} MB"
                             + ("" if load.lines_each - 1 == rows else f" (expected {rows:,})"))
    refused = d.get("group_by_default")
    if refused is not None and refused.samples.failures:
        notes.append(f"Datasette at its default {DATASETTE_DEFAULT_LIMIT_MS:,} ms limit refused "
                     f"{refused.samples.failures} of {refused.requests} group-by requests: {refused.samples.failure}")


@dataclass
class Row:
    operation: str
    govcat: Load | None
    datasette: Load | None
    faster_floor: bool = False


def table_rows(out: Measured) -> list[Row]:
    g, d = out.govcat, out.datasette
    column, value = FILTER
    return [
        Row(f"filtered page + total, {column}={value} (Datasette default: facet suggestions)",
            g.get("page"), d.get("page"), True),
        Row(f"filtered page + total, {column}={value} (Datasette _nofacet=1)", g.get("page"),
            d.get("page_nofacet")),
        Row(f"group-by department, month + sum (Datasette {DATASETTE_DEFAULT_LIMIT_MS:,} ms limit)",
            g.get("group_by"), d.get("group_by_default")),
        Row(f"group-by department, month + sum (Datasette {DATASETTE_LONG_LIMIT_MS:,} ms limit)",
            g.get("group_by"), d.get("group_by"), True),
        Row("CSV of every row (govcat: data API stream)", g.get("csv"), d.get("csv")),
        Row("CSV of every row (govcat: download file)", g.get("download"), d.get("csv")),
        Row("row by primary key", g.get("row"), d.get("row")),
    ]


def ratio(row: Row, q: float) -> float | None:
    """Datasette / govcat at percentile q: how many times faster govcat is (below 1: slower)."""
    if row.govcat is None or row.datasette is None or not row.govcat.samples.ok or not row.datasette.samples.ok:
        return None
    return row.datasette.samples.p(q) / row.govcat.samples.p(q)


def shown_ratio(row: Row) -> str:
    p50, p95 = ratio(row, 50), ratio(row, 95)
    return "-" if p50 is None else f"{explorer.fmt_ratio(p50)} ({explorer.fmt_ratio(p95)})"


def cells(load: Load | None) -> list[str]:
    return ["not measured", "-"] if load is None else peer_cells(load.samples)


def floor_checks(rows: list[Row]) -> list[dict]:
    checks = []
    for row in rows:
        g, d = row.govcat, row.datasette
        met = None
        if g is not None and d is not None and g.samples.ok and d.samples.ok:
            met = g.samples.p(95) <= d.samples.p(95)
        value = "Datasette refused" if d is not None and d.samples.failures else (
            f"{fmt_ms(g.samples.p(95))} ms against {fmt_ms(d.samples.p(95))} ms" if met is not None else "-")
        checks.append({"floor": f"govcat p95 no worse than Datasette's: {row.operation}", "value": value,
                       "met": met})
    for row in rows:
        if row.faster_floor:
            r = ratio(row, 50)
            checks.append({"floor": f">= {FASTER_THAN_DATASETTE:g}x faster than Datasette (p50): {row.operation}",
                           "value": explorer.fmt_ratio(r), "met": None if r is None else r >= FASTER_THAN_DATASETTE})
    return checks


def print_report(out: Measured, args: argparse.Namespace, prepared: list, work: Path) -> list[dict]:
    print()
    print("Prepared")
    for item in prepared:
        how = "reused" if item.reused else f"made in {item.seconds:.1f} s"
        print(f"  {item.what:13} {item.path.relative_to(work) if item.path.is_relative_to(work) else item.path}"
              f"  ({how})")
    print()
    print(f"Timings over loopback HTTP, ms from sending a request to the last byte of its answer: "
          f"{args.rounds} rounds, each side in turn, of {args.requests} requests at concurrency {args.concurrency} "
          f"for the page and the row and {args.group_requests} for the group-by; {args.runs} exports one after "
          f"the other for the CSV")
    rows = table_rows(out)
    print(markdown_table(["operation", "govcat p50", "govcat p95", "Datasette p50", "Datasette p95",
                          "ratio p50 (p95)"],
                         [[r.operation, *cells(r.govcat), *cells(r.datasette), shown_ratio(r)] for r in rows]))
    print("  (ratio: Datasette's time / govcat's; above 1x govcat is faster)")
    print()
    print("Load")
    lines = []
    for side, loads in (("govcat", out.govcat), ("Datasette", out.datasette)):
        for key, load in loads.items():
            lines.append([side, key, f"{load.requests}", f"{load.concurrency}", f"{load.wall:,.1f}",
                          f"{load.per_second:,.1f}", f"{load.samples.failures}"])
    print(markdown_table(["server", "measurement", "requests", "concurrency", "wall s", "requests/s", "refused"],
                         lines, left={0, 1}))
    print()
    print("Peak resident memory during the CSV exports")
    for side, loads in (("govcat", out.govcat), ("Datasette", out.datasette)):
        for key in ("csv", "download"):
            load = loads.get(key)
            if load is not None and load.peak_rss:
                before = f"{load.rss_before / 1e6:,.0f} MB" if load.rss_before else "?"
                print(f"  {side} {key}: {load.peak_rss / 1e6:,.0f} MB (RSS {before} before the exports)")
    print()
    print("Notes")
    print(f"  govcat serve ran with {', '.join(f'{k}={v}' for k, v in GOVCAT_ENV.items())} (rate and concurrency "
          f"limits off); Datasette with --setting max_csv_mb 0 (its 100 MB cut of a CSV off)")
    for note in dict.fromkeys(out.notes):
        print(f"  {note}")
    print()
    print("Floors")
    checks = floor_checks(rows)
    explorer.print_floors(checks)
    return checks


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=1_000_000, help="rows of the register (default 1,000,000)")
    parser.add_argument("--requests", type=int, default=200,
                        help="requests of the filtered page and of the row by key (default 200)")
    parser.add_argument("--group-requests", type=int, default=24,
                        help="requests of the group-by (default 24); Datasette's refusals at its default "
                             "time limit are recorded with --concurrency requests")
    parser.add_argument("--concurrency", type=int, default=8, help="requests in flight at once (default 8)")
    parser.add_argument("--rounds", type=int, default=3,
                        help="rounds of the page, row and group-by loads, each side in turn (default 3)")
    parser.add_argument("--runs", type=int, default=3, help="CSV exports, one after the other (default 3)")
    parser.add_argument("--work", type=Path, default=explorer.DEFAULT_WORK,
                        help="folder of the generated files, shared with bench/explorer.py "
                             "(default bench/.work/explorer)")
    parser.add_argument("--json-out", type=Path, help="also save every measurement to this file")
    args = parser.parse_args(argv)
    if min(args.requests, args.group_requests, args.concurrency, args.runs, args.rounds) < 1 or args.rows < 1000:
        parser.error("--requests, --group-requests, --concurrency, --rounds and --runs must be positive, "
                     "--rows at least 1000")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    work = args.work.resolve()
    work.mkdir(parents=True, exist_ok=True)
    load_before = os.getloadavg()
    print(f"API benchmark: {args.rows:,} rows; govcat serve and datasette serve over loopback; "
          f"{os.cpu_count()} CPUs, load average {load_before[0]:.1f} at the start; work folder {work}", flush=True)
    started = time.perf_counter()
    manifest = Manifest(work)
    register = ensure_register(work, manifest, args.rows)
    home = ensure_home(work, manifest, register, args.rows)
    database = ensure_sqlite(work, manifest, register, args.rows)
    log = work / "api-servers.log"

    out = Measured()
    try:
        measure(home.path, database.path, args.rows, args, log, out)
    except RuntimeError as exc:
        out.notes.append(f"a server failed: {exc}")
    agreement(out, args.rows)
    checks = print_report(out, args, [register, home, database], work)
    load_after = os.getloadavg()
    print(f"\nWhole run: {time.perf_counter() - started:.0f} s; load average {load_after[0]:.1f} at the end "
          f"(other work on this machine shares its {os.cpu_count()} CPUs with both servers and the client)")
    if args.json_out:
        save(args, out, checks, (load_before[0], load_after[0]))
        print(f"Measurements saved to {args.json_out}")
    return 0


def save(args: argparse.Namespace, out: Measured, checks: list[dict], load: tuple[float, float]) -> None:
    def described(item: Load | None) -> dict | None:
        if item is None:
            return None
        s = item.samples
        return {"seconds": s.seconds, "p50": s.p(50), "p95": s.p(95), "failures": s.failures, "failure": s.failure,
                "requests": item.requests, "concurrency": item.concurrency, "wall": item.wall,
                "per_second": item.per_second, "peak_rss": item.peak_rss, "rss_before": item.rss_before,
                "bytes_each": item.bytes_each, "lines_each": item.lines_each}

    data = {
        "parameters": {"rows": args.rows, "requests": args.requests, "group_requests": args.group_requests,
                       "rounds": args.rounds,
                       "concurrency": args.concurrency, "runs": args.runs, "cpus": os.cpu_count(),
                       "load_average": {"start": load[0], "end": load[1]}},
        "rows": [{"operation": r.operation, "govcat": described(r.govcat), "datasette": described(r.datasette),
                  "ratio_p50": ratio(r, 50), "ratio_p95": ratio(r, 95)} for r in table_rows(out)],
        "notes": list(dict.fromkeys(out.notes)),
        "floors": checks,
    }
    args.json_out.parent.mkdir(parents=True, exist_ok=True)
    args.json_out.write_text(json.dumps(data, indent=2) + "\n")


if __name__ == "__main__":
    sys.exit(main())
