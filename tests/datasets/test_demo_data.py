"""The bundled demo data under ``datasets/``: it loads, it is reproducible, it is what it claims.

* every declaration loads, and the catalogue is big enough to be worth exploring;
* ``datasets/generate_demo.py`` run into a temporary folder reproduces the committed
  generated files byte for byte;
* the real CSVs are byte-identical to the third-party reference copies they were taken from;
* the treasury's spending file really is windows-1252, so its declared encoding matters.

Publishing the whole demo is tested in tests/test_end_to_end.py.
"""

from __future__ import annotations

import runpy
import subprocess
import sys
from pathlib import Path

import pytest

from catalog.spec import load_declarations

REPO = Path(__file__).resolve().parents[2]
DATASETS = REPO / "datasets"
GENERATOR = DATASETS / "generate_demo.py"
# The shared third-party reference material sits next to the repository, in ../shared.
REFERENCE = Path(__file__).resolve().parents[3] / "shared" / "reference"
DATAHUB = "https://github.com/datasets/"


def _generated_names() -> list[str]:
    """The files the generator writes, relative to its output root (run_path leaves no __pycache__)."""
    return sorted(runpy.run_path(str(GENERATOR))["GENERATED"])


@pytest.fixture(scope="module")
def declarations():
    return load_declarations(DATASETS)


def _real_datasets(declarations):
    """(dataset spec, upstream package name) of every dataset republished from datahub.io."""
    found = []
    for spec in declarations.datasets.values():
        origin = spec.source.origin
        if origin and origin.url.startswith(DATAHUB):
            found.append((spec, origin.url[len(DATAHUB):].strip("/")))
    return found


# --------------------------------------------------------------------------- (a) declarations


def test_every_declaration_loads(declarations):
    assert len(declarations.agencies) >= 5
    assert len(declarations.datasets) >= 13
    for spec in declarations.datasets.values():
        assert spec.access == "public", spec.id
        assert spec.source.deliveries(spec.folder), f"{spec.id}: no data file"
        for field in spec.schema["fields"]:
            assert field.get("description", "").strip(), f"{spec.id}: field {field['name']!r} has no description"


def test_real_datasets_keep_their_licence_and_origin(declarations):
    real = _real_datasets(declarations)
    assert len(real) >= 6
    for spec, package in real:
        assert spec.licence.id == "ODC-PDDL-1.0", spec.id
        assert package and "/" not in package, spec.source.origin.url


def test_provenance_lists_every_data_file():
    provenance = (DATASETS / "PROVENANCE.md").read_text(encoding="utf-8")
    data_files = sorted(p.relative_to(DATASETS).as_posix() for p in DATASETS.glob("*/*/data/*") if p.is_file())
    assert data_files
    missing = [name for name in data_files if f"`{name}`" not in provenance]
    assert not missing, f"not listed in datasets/PROVENANCE.md: {missing}"


# --------------------------------------------------------------------------- (b) reproducible


def test_generator_reproduces_the_committed_files(tmp_path):
    result = subprocess.run([sys.executable, str(GENERATOR), str(tmp_path)], capture_output=True, text=True,
                            timeout=300)
    assert result.returncode == 0, result.stderr
    expected = _generated_names()
    written = sorted(p.relative_to(tmp_path).as_posix() for p in tmp_path.rglob("*") if p.is_file())
    assert written == expected
    for name in expected:
        committed = DATASETS / name
        assert committed.is_file(), f"{name} is generated but not committed"
        assert (tmp_path / name).read_bytes() == committed.read_bytes(), \
            f"{name} differs from what generate_demo.py writes; re-run it and commit the result"


# --------------------------------------------------------------------------- (c) real data untouched


def test_real_csvs_are_byte_identical_to_the_reference(declarations):
    checked = 0
    for spec, package in _real_datasets(declarations):
        for delivery in spec.source.deliveries(spec.folder):
            reference = REFERENCE / "datapackages" / package / "data" / delivery.name
            assert reference.is_file(), f"{spec.id}: no reference copy for {delivery.name} in {package}"
            assert delivery.read_bytes() == reference.read_bytes(), f"{spec.id}: {delivery.name} was modified"
            checked += 1
    assert checked >= 6


# --------------------------------------------------------------------------- (d) the encoding matters


def test_spending_csv_is_windows_1252_not_utf8(declarations):
    spec = declarations.datasets["public_spending"]
    assert spec.source.encoding == "windows-1252"
    (path,) = spec.source.deliveries(spec.folder)
    raw = path.read_bytes()
    with pytest.raises(UnicodeDecodeError):
        raw.decode("utf-8")
    text = raw.decode("windows-1252")
    for sample in ("Café Lumière SARL", "Müller & Söhne GmbH", "£", "€"):
        assert sample in text
    header = text.splitlines()[0].split(spec.source.delimiter or ",")
    assert header == spec.field_names
