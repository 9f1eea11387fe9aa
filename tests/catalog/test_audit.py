"""The audit log: every entry chained to the one before, so an edited or deleted line is
found; safe to append from many processes; exported as CSV a spreadsheet cannot run."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import multiprocessing
import stat

import pytest

from catalog import audit
from catalog.audit import AuditError, entries, record, to_csv, verify
from catalog.cli import main


@pytest.fixture
def home(tmp_path):
    return tmp_path / "home"


@pytest.fixture
def clock(monkeypatch):
    now = [dt.datetime(2025, 3, 1, 9, 0, tzinfo=dt.timezone.utc)]
    monkeypatch.setattr(audit, "_now", lambda: now[0])

    class Clock:
        def advance(self, **delta) -> None:
            now[0] += dt.timedelta(**delta)

    return Clock()


def log_lines(home) -> list[str]:
    return (home / "audit" / "audit.log").read_text().splitlines(keepends=True)


def write_lines(home, lines: list[str]) -> None:
    (home / "audit" / "audit.log").write_text("".join(lines))


def five_entries(home) -> None:
    record(home, actor="ann", action="sign-in")
    record(home, actor="ann", action="upload", target="grants", checksum="ab" * 32, detail="2025-03.csv")
    record(home, actor="pipeline", action="publish", target="grants", checksum="cd" * 32, detail="release 4")
    record(home, actor="bob", action="approve", target="grants", detail="release 4")
    record(home, actor="carol", action="read-restricted", target="health_visits")


def test_an_entry_is_one_json_line_holding_what_happened(home, clock):
    entry = record(home, actor="ann", action="publish", target="grants", checksum="ab" * 32, detail="release 2")
    (line,) = log_lines(home)
    stored = json.loads(line)
    assert stored == {"time": "2025-03-01T09:00:00+00:00", "actor": "ann", "action": "publish", "target": "grants",
                      "checksum": "ab" * 32, "detail": "release 2", "chain": entry.chain}
    assert len(entry.chain) == 64 and entry.time == dt.datetime(2025, 3, 1, 9, tzinfo=dt.timezone.utc)
    assert entries(home) == [entry]
    assert stat.S_IMODE((home / "audit" / "audit.log").stat().st_mode) == 0o600
    assert verify(home) is None


def test_an_empty_or_missing_log_is_intact_and_has_no_entries(home):
    assert verify(home) is None and entries(home) == []


@pytest.mark.parametrize("kwargs, message", [
    ({"actor": "ann", "action": "delete"}, "unknown audit action 'delete'; use one of: publish, quarantine"),
    ({"actor": " ", "action": "publish"}, "needs an actor"),
    ({"actor": "ann", "action": "failed-sign-in", "detail": "password=hunter2hunter2"}, "must not hold a password"),
    ({"actor": "ann", "action": "upload", "detail": "hash scrypt$16384$8$1$c2FsdA==$aGFzaA=="}, "must not hold a password"),
])
def test_bad_entries_are_refused_and_nothing_is_written(home, kwargs, message):
    with pytest.raises(AuditError, match=message.replace("$", r"\$")):
        record(home, **kwargs)
    assert entries(home) == []


def test_editing_an_earlier_line_is_detected_at_that_line(home):
    five_entries(home)
    lines = log_lines(home)
    lines[2] = lines[2].replace("release 4", "release 5")
    write_lines(home, lines)
    assert verify(home) == 3


def test_recomputing_the_edited_lines_own_chain_still_breaks_the_next_one(home):
    five_entries(home)
    lines = log_lines(home)
    forged = json.loads(lines[1])
    forged["target"] = "budget"
    previous = json.loads(lines[0])["chain"]
    forged["chain"] = audit._link(previous, {k: forged[k] for k in audit.CONTENT_FIELDS})
    lines[1] = json.dumps(forged, separators=(",", ":")) + "\n"
    write_lines(home, lines)
    assert verify(home) == 3


@pytest.mark.parametrize("deleted", [0, 2, 3])
def test_deleting_a_line_is_detected_at_the_line_after_it(home, deleted):
    five_entries(home)
    lines = log_lines(home)
    del lines[deleted]
    write_lines(home, lines)
    assert verify(home) == deleted + 1


def test_swapping_two_lines_is_detected(home):
    five_entries(home)
    lines = log_lines(home)
    lines[1], lines[2] = lines[2], lines[1]
    write_lines(home, lines)
    assert verify(home) == 2


def test_a_torn_last_line_is_reported_and_nothing_is_chained_to_it(home):
    five_entries(home)
    lines = log_lines(home)
    write_lines(home, lines[:-1] + [lines[-1][:40]])
    assert verify(home) == 5
    with pytest.raises(AuditError, match="last line of .*audit.log is damaged"):
        record(home, actor="ann", action="sign-out")


def test_entries_can_be_filtered_by_time_action_and_actor(home, clock):
    five_entries(home)
    clock.advance(hours=2)
    record(home, actor="ann", action="publish", target="budget")
    assert [e.target for e in entries(home, action="publish")] == ["grants", "budget"]
    assert [e.action for e in entries(home, actor="ann")] == ["sign-in", "upload", "publish"]
    assert [e.target for e in entries(home, since="2025-03-01T10:00:00Z")] == ["budget"]
    assert len(entries(home, since=dt.datetime(2025, 3, 1, 9))) == 6  # naive means UTC
    with pytest.raises(AuditError, match="'yesterday' is not an ISO date or time"):
        entries(home, since="yesterday")
    with pytest.raises(AuditError, match="unknown audit action 'publsh'"):
        entries(home, action="publsh")


def test_csv_export_parses_and_neutralises_formulas(home):
    record(home, actor="=cmd|' /C calc'!A0", action="upload", target="+SUM(A1:A9)", detail="-2+3")
    record(home, actor="@evil", action="reject", target="grants", detail='says "no", twice\nsecond line')
    rows = list(csv.DictReader(io.StringIO(to_csv(entries(home)))))
    assert list(rows[0]) == ["time", "actor", "action", "target", "checksum", "detail", "chain"]
    assert (rows[0]["actor"], rows[0]["target"], rows[0]["detail"]) == ("'=cmd|' /C calc'!A0", "'+SUM(A1:A9)", "'-2+3")
    assert (rows[1]["actor"], rows[1]["detail"]) == ("'@evil", 'says "no", twice\nsecond line')
    assert rows[1]["chain"] == entries(home)[1].chain
    assert to_csv([]).strip() == "time,actor,action,target,checksum,detail,chain"


def _append_many(home: str, actor: str, count: int, start) -> None:
    start.wait()
    for number in range(count):
        record(home, actor=actor, action="read-restricted", target="health_visits", detail=str(number))


def test_concurrent_appends_from_several_processes_keep_every_entry_and_the_chain(home):
    context = multiprocessing.get_context("spawn")
    start = context.Event()
    workers = [context.Process(target=_append_many, args=(str(home), f"worker{n}", 50, start)) for n in range(4)]
    for worker in workers:
        worker.start()
    start.set()
    for worker in workers:
        worker.join(timeout=60)
    assert [w.exitcode for w in workers] == [0, 0, 0, 0]
    assert verify(home) is None
    found = entries(home)
    assert len(found) == 200
    assert {(e.actor, e.detail) for e in found} == {(f"worker{w}", str(n)) for w in range(4) for n in range(50)}


def govcat(capsys, *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def test_cli_prints_filters_and_exports_the_log(home, capsys, clock):
    five_entries(home)
    code, out, _ = govcat(capsys, "audit", "--home", str(home), "--action", "publish")
    assert code == 0
    assert out.split() == ["2025-03-01T09:00:00+00:00", "pipeline", "publish", "grants", "release", "4"]
    code, out, _ = govcat(capsys, "audit", "--home", str(home), "--csv", "--since", "2025-03-01")
    assert code == 0 and len(list(csv.DictReader(io.StringIO(out)))) == 5
    assert govcat(capsys, "audit", "--home", str(home), "--since", "2025-03-02")[1] == "(no entries)\n"
    code, out, err = govcat(capsys, "audit", "--home", str(home), "--action", "erase")
    assert (code, out) == (1, "") and err.startswith("govcat: unknown audit action 'erase'")


def test_cli_verify_exits_1_with_the_broken_line(home, capsys):
    five_entries(home)
    assert govcat(capsys, "audit", "verify", "--home", str(home)) == (
        0, "the audit log is intact (5 entries)\n", "")
    lines = log_lines(home)
    del lines[1]
    write_lines(home, lines)
    code, out, err = govcat(capsys, "audit", "verify", "--home", str(home))
    assert (code, out) == (1, "")
    assert err.startswith("govcat: the audit log is broken at line 2:") and err.count("\n") == 1
