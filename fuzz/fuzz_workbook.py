"""Fuzz the workbook reader with atheris (optional; not run in CI).

    pip install atheris
    python fuzz/fuzz_workbook.py -max_total_time=300          # five minutes
    python fuzz/fuzz_workbook.py -max_total_time=60 -dict=...  # any libFuzzer option

Each input is written as inputs/f.xlsx of a throw-away project (seeded with valid
workbooks from tests/corpus) and read by the ledger stage with the bundled rules. A
LedgerError is the documented answer to a bad file; any other exception is a finding and
stops the run with the input saved by libFuzzer (crash-*).
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

import atheris

import polars  # noqa: E402,F401  (imported before instrumenting: only kamrules is instrumented)

with atheris.instrument_imports(include=["kamrules"]):
    from kamrules.errors import LedgerError
    from kamrules.ledger import read_ledger
    from kamrules.rules.rulebook_compiler import load_rulebook

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests" / "corpus"))
import generate  # noqa: E402

RULEBOOK = load_rulebook(ROOT)
FOLDER = Path(tempfile.mkdtemp(prefix="kamrules-fuzz-"))
(FOLDER / "inputs").mkdir()


def one_input(data: bytes) -> None:
    (FOLDER / "inputs" / "f.xlsx").write_bytes(data)
    try:
        read_ledger(FOLDER / "inputs", RULEBOOK.spec.datasets, RULEBOOK.spec.ledger)
    except LedgerError:
        pass


def seeds(folder: Path) -> None:
    folder.mkdir(exist_ok=True)
    (folder / "plain.xlsx").write_bytes(generate.plain_book())
    for maker in (generate.truncated_zip, generate.external_formula, generate.wide_sheet):
        maker(folder)


def main() -> None:
    corpus = FOLDER / "seeds"
    seeds(corpus)
    atheris.Setup(sys.argv + [str(corpus)], one_input)
    atheris.Fuzz()


if __name__ == "__main__":
    main()
