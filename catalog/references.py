"""Foreign keys to another published dataset.

A schema's foreign key may name another declared dataset as its ``reference.resource``:

    foreignKeys:
      - fields: [Country Code]
        reference: {resource: world_population, fields: [Country Code]}

Every value must then be among that dataset's values in its current release, so a
delivery cannot publish a code its reference data does not know. The referenced fields
must be published as declared (not dropped or changed by a privacy rule) and of the same type.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from catalog.casting import quote_ident, quote_literal

if TYPE_CHECKING:
    from catalog.spec import DatasetSpec
    from catalog.validation.engine import Lookup

# the types whose published column holds exactly the value validation compares, and the SQL
# type validation compares them as (``catalog.validation.fields``'s keys)
KEY_TYPES = {"string": "VARCHAR", "integer": "HUGEINT", "number": "DOUBLE", "date": "DATE", "boolean": "BOOLEAN",
             "year": "HUGEINT"}
REFERENCE_TYPES = tuple(KEY_TYPES)


def _names(value) -> list[str]:
    return [value] if isinstance(value, str) else list(value or [])


def foreign_keys(spec: "DatasetSpec") -> list[tuple[list[str], str, list[str]]]:
    """(fields, referenced dataset id, referenced fields) of each key naming another dataset."""
    found = []
    for fk in spec.schema.get("foreignKeys") or []:
        if not isinstance(fk, dict) or not isinstance(fk.get("reference"), dict):
            continue
        other = fk["reference"].get("resource") or ""
        if other and other != spec.id:
            found.append((_names(fk.get("fields")), other, _names(fk["reference"].get("fields"))))
    return found


def referenced_ids(spec: "DatasetSpec") -> list[str]:
    return sorted({other for _, other, _ in foreign_keys(spec)})


def reference_problems(datasets: dict[str, "DatasetSpec"], where: dict[str, str]) -> list[str]:
    """Every foreign key to another dataset that cannot be checked: an unknown dataset or field,
    a field the release does not carry as declared, a different type or number of fields."""
    problems = []
    for spec in datasets.values():
        types = {f["name"]: f.get("type", "string") for f in spec.schema["fields"]}
        for index, (fields, other_id, other_fields) in enumerate(foreign_keys(spec), start=1):
            at = f"{where.get(spec.id, spec.id)}: foreignKeys[{index}].reference"
            other = datasets.get(other_id)
            if other is None:
                problems.append(f"{at}.resource: no dataset has the id {other_id!r}")
                continue
            if len(fields) != len(other_fields):
                problems.append(f"{at}.fields: {len(fields)} field(s) cannot refer to {len(other_fields)}")
                continue
            other_types = {f["name"]: f.get("type", "string") for f in other.schema["fields"]}
            changed = set(other.privacy.drop) | other.privacy.changed()
            for name, other_name in zip(fields, other_fields):
                if other_name not in other_types:
                    problems.append(f"{at}.fields: {other_id} has no field {other_name!r}")
                elif other_name in changed:
                    problems.append(f"{at}.fields: {other_id} does not publish {other_name!r} as declared "
                                    f"(its privacy rules drop or change it)")
                elif other_types[other_name] not in REFERENCE_TYPES:
                    problems.append(f"{at}.fields: {other_id}.{other_name} is a {other_types[other_name]}; "
                                    f"a reference can be one of {', '.join(REFERENCE_TYPES)}")
                elif name in types and types[name] != other_types[other_name]:
                    problems.append(f"{at}.fields: {name!r} is a {types[name]} but {other_id}.{other_name} "
                                    f"is a {other_types[other_name]}")
    for ring in _cycles(datasets):
        problems.append(f"{where.get(ring[0], ring[0])}: foreignKeys: the datasets refer to each other in a ring "
                        f"({' -> '.join(ring)}), so none of them could be published first")
    return problems


def publish_order(specs: list["DatasetSpec"]) -> list["DatasetSpec"]:
    """The datasets in the order given, except that each comes after the ones it refers to."""
    by_id = {spec.id: spec for spec in specs}
    ordered: list["DatasetSpec"] = []
    placed: set[str] = set()

    def place(spec: "DatasetSpec", path: tuple[str, ...]) -> None:
        if spec.id in placed or spec.id in path:      # a cycle is a declaration problem, reported elsewhere
            return
        for other_id in referenced_ids(spec):
            if other_id in by_id:
                place(by_id[other_id], path + (spec.id,))
        placed.add(spec.id)
        ordered.append(spec)

    for spec in specs:
        place(spec, ())
    return ordered


def _cycles(datasets: dict[str, "DatasetSpec"]) -> list[list[str]]:
    """Chains of datasets referring to each other in a ring: none of them could be published first."""
    found, done = [], set()

    def walk(dataset_id: str, path: list[str]) -> None:
        if dataset_id in path:
            ring = path[path.index(dataset_id):]
            if not set(ring) & done:
                found.append(ring + [dataset_id])
            done.update(ring)
            return
        if dataset_id in done or dataset_id not in datasets:
            return
        for other_id in referenced_ids(datasets[dataset_id]):
            walk(other_id, path + [dataset_id])
        done.add(dataset_id)

    for dataset_id in datasets:
        walk(dataset_id, [])
    return found


def release_lookups(datasets: dict[str, "DatasetSpec"], spec: "DatasetSpec", home: Path) -> dict[str, "Lookup"]:
    """For each dataset ``spec`` refers to, its current release's values (none before its first
    release, so that every reference fails until the referenced data is published)."""
    from catalog.store import Store

    store = Store(home)
    lookups = {}
    for other_id in referenced_ids(spec):
        other = datasets.get(other_id)
        if other is None:
            continue
        current = store.current_release(other_id)
        data = store.layout.release_dir(other_id, current.release) / "data.parquet" if current else None
        lookups[other_id] = _release_lookup(other, data)
    return lookups


def _release_lookup(other: "DatasetSpec", data: Path | None) -> "Lookup":
    types = {f["name"]: KEY_TYPES.get(f.get("type", "string"), "VARCHAR") for f in other.schema["fields"]}

    def lookup(con, names: list[str]) -> str:
        if data is None or not data.is_file():
            empty = ", ".join(f"CAST(NULL AS {types[n]}) AS {quote_ident(n)}" for n in names)
            return f"(SELECT {empty} WHERE false)"
        columns = ", ".join(f"CAST({quote_ident(n)} AS {types[n]}) AS {quote_ident(n)}" for n in names)
        return f"(SELECT {columns} FROM read_parquet({quote_literal(str(data))}))"

    return lookup
