"""A validation report as plain text for the terminal."""

from __future__ import annotations

from collections import Counter

SHOWN_ERRORS = 50


def print_report(report, shown: int = SHOWN_ERRORS) -> None:
    for error in report.errors:
        print(f"{error.type}: {error.message}")
    for task in report.tasks:
        stats = task.stats
        status = "valid" if task.valid else "INVALID"
        details = [f"{stats.get('rows', 0)} rows"]
        if task.custom.get("encoding"):
            details.append(f"encoding {task.custom['encoding']}")
        print(f"{status}: {task.place} ({', '.join(details)})")
        if task.errors:
            counts = Counter(error.type for error in task.errors)
            print("  " + ", ".join(f"{n} {kind}" for kind, n in counts.most_common()))
        for error in task.errors[:shown]:
            row = getattr(error, "row_number", None)
            field = getattr(error, "field_number", None)
            where = " ".join(part for part in (f"row {row}" if row else "", f"field {field}" if field else "") if part)
            print(f"  {where + ': ' if where else ''}{error.type}: {error.message}")
        if len(task.errors) > shown:
            print(f"  ... and {len(task.errors) - shown} more (use --json to see them all)")
        for warning in task.warnings:
            print(f"  warning: {warning}")
