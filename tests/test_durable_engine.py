"""The durable-rules engine gives exactly the Polars engine's decisions and traces."""

from __future__ import annotations

import datetime as dt
import json
import shutil
import subprocess
import sys
import tempfile
import textwrap
from pathlib import Path

import openpyxl
import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from kamrules.cli import app
from kamrules.pipeline import RunOptions, decisions_digest, evaluate
from kamrules.rules import load_rulebook
from kamrules.rules.engine import TRACE, PolarsEngine

from conftest import REPO

durable = pytest.importorskip("durable.lang", reason="the durable extra is not installed")
from kamrules.rules.durable_engine import DurableEngine  # noqa: E402

AS_OF = dt.date(2026, 10, 31)


def test_bundled_sample_decisions_and_traces_are_identical(tmp_path):
    for name in ("rules", "templates", "inputs"):
        shutil.copytree(REPO / name, tmp_path / name)
    frames, digests = [], []
    for engine in ("polars", "durable"):
        rulebook, _, result = evaluate(tmp_path, AS_OF, options=RunOptions(engine=engine))
        frames.append(result.frame.sort("customer_id"))
        digests.append(decisions_digest(result.frame, rulebook))
    columns = ["customer_id"] + [o for d in rulebook.decisions for o in d.outputs] + \
        [TRACE + d.id for d in rulebook.decisions]
    assert frames[0].height == 330
    assert frames[0].select(columns).equals(frames[1].select(columns))
    assert digests[0] == digests[1]


def test_the_cli_runs_the_durable_engine(tmp_path):
    from conftest import make_project
    project = make_project(tmp_path / "proj")
    folders = []
    for engine in ("polars", "durable"):
        result = CliRunner().invoke(app, ["run", "-p", str(project), "--as-of", "2026-10-31", "-q", "--engine", engine,
                                          "--workers", "1"])
        assert result.exit_code == 0, result.output
        folders.append(Path(result.output.strip()))
    manifests = [json.loads((folder / "run.json").read_text(encoding="utf-8")) for folder in folders]
    assert [m["engine"] for m in manifests] == ["polars", "durable"]
    assert manifests[0]["decisions_sha256"] == manifests[1]["decisions_sha256"]
    sheets = [openpyxl.load_workbook(folder / "portfolio.xlsx")["客户"] for folder in folders]
    assert list(sheets[0].values) == list(sheets[1].values)


def test_missing_extra_gives_a_clear_message(tmp_path):
    from conftest import make_project
    project = make_project(tmp_path / "proj")
    code = ("import sys; sys.modules['durable'] = None; from kamrules.cli import main; "
            f"sys.argv = ['kamrules', 'run', '-p', {str(project)!r}, '--engine', 'durable', '--as-of', '2026-10-31', '--lang', 'en']; "
            "main()")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert result.returncode == 1
    assert result.stderr.startswith("error: the durable-rules engine is not available (ModuleNotFoundError: ")
    assert "hint: pip install 'kamrules[durable]' (Python 3.12 or older" in result.stderr


LEDGER = """\
kamrules: 1
datasets:
  customers:
    key: customer_id
    columns:
      customer_id: {aliases: [客户编号], required: true}
      x: {aliases: [X], type: number}
      y: {aliases: [Y], type: number}
      t: [T]
      d: {aliases: [D], type: date}
      flag: {aliases: [F], type: bool}
"""

NUMBERS = st.sampled_from([None, -1.0, 0.0, 0.1, 0.30000000000000004, 0.3, 1.0, 2.5, 5.0, 10.0, 100.0])
TEXTS = st.sampled_from([None, "A", "B", "C", "甲"])
DATES = st.sampled_from([None, dt.date(2025, 1, 1), dt.date(2026, 10, 31), dt.date(2026, 11, 1)])
LITERALS = st.sampled_from(["0", "0.3", "1", "2.5", "5", "-1", "1万"])


@st.composite
def conditions(draw, earlier: list[str]):
    numeric = draw(st.sampled_from(["x", "y", *earlier]))
    atoms = [
        f"{numeric} {draw(st.sampled_from(['<', '<=', '==', '!=', '>', '>=']))} {draw(LITERALS)}",
        f"{draw(LITERALS)} < {numeric}",
        f"t {draw(st.sampled_from(['==', '!=']))} '{draw(st.sampled_from(['A', 'B', '甲']))}'",
        "t in ['A', 'C']", "t not in ['B']", "is_null(x)", "flag", "flag == false",
        "d >= date('2026-10-31')", "x + y > 3", "x > y", "coalesce(y, 0) * 2 >= 1",
        "1 < x <= 5", "('A' if x > 1 else 'B') == t", "true",
    ]
    first = draw(st.sampled_from(atoms))
    shape = draw(st.sampled_from(["one", "and", "or", "not"]))
    second = draw(st.sampled_from(atoms))
    return {"one": first, "and": f"({first}) and ({second})", "or": f"({first}) or ({second})",
            "not": f"not ({first})"}[shape]


@st.composite
def rulebooks(draw):
    decisions, earlier = [], []
    for index in range(draw(st.integers(1, 3))):
        hit = draw(st.sampled_from(["first", "unique", "priority", "any", "collect", "rule_order",
                                    "collect_sum", "collect_min", "collect_max", "collect_count"]))
        output = f"o{index}"
        if draw(st.booleans()) and hit != "priority":
            cells = st.sampled_from(["-", ">= 1", "[0..5)", "(0.3..10]", "< 0.3", "null", "!= 2.5"])
            texts = st.sampled_from(["-", "A", "A, B", 'not("A")', "null", '"甲"'])
            rows = [f'        - ["{draw(cells)}", \'{draw(texts)}\', {draw(st.sampled_from(["1", "2", "0.5"]))}]'
                    for _ in range(draw(st.integers(1, 4)))]
            decisions.append(f"  d{index}:\n    hit: {hit}\n    outputs: {{{output}: number}}\n    table:\n"
                             f"      inputs: [x, t]\n      rows:\n" + "\n".join(rows))
            if hit not in ("collect", "rule_order"):
                earlier.append(output)
            continue
        rules = []
        for number in range(draw(st.integers(1, 4))):
            value = draw(st.sampled_from(["1", "2", "x * 2", "coalesce(y, 0) + 1", "round(x, -1)"]))
            when = draw(conditions(earlier))
            priority = f", priority: {draw(st.integers(0, 2))}" if hit == "priority" else ""
            rules.append(f'      - {{id: R{index}-{number}, when: "{when}", then: {{{output}: "{value}"}}{priority}}}')
        default = f"\n    default: {{{output}: {draw(st.sampled_from(['0', '-1']))}}}" if draw(st.booleans()) else ""
        decisions.append(f"  d{index}:\n    hit: {hit}\n    outputs: {{{output}: number}}{default}\n    rules:\n"
                         + "\n".join(rules))
        if hit not in ("collect", "rule_order"):
            earlier.append(output)
    return "kamrules: 1\ndecisions:\n" + "\n".join(decisions) + "\n"


@st.composite
def customers(draw):
    n = draw(st.integers(1, 6))
    return pl.DataFrame({
        "customer_id": [f"C{i}" for i in range(n)],
        "x": draw(st.lists(NUMBERS, min_size=n, max_size=n)),
        "y": draw(st.lists(NUMBERS, min_size=n, max_size=n)),
        "t": draw(st.lists(TEXTS, min_size=n, max_size=n)),
        "d": draw(st.lists(DATES, min_size=n, max_size=n)),
        "flag": draw(st.lists(st.sampled_from([None, True, False]), min_size=n, max_size=n)),
    }, schema={"customer_id": pl.String, "x": pl.Float64, "y": pl.Float64, "t": pl.String, "d": pl.Date,
               "flag": pl.Boolean})


@pytest.mark.slow  # 60 generated rulebooks through both engines: CI's second step
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(policy=rulebooks(), frame=customers())
def test_both_engines_agree_on_generated_rulebooks(policy, frame):
    with tempfile.TemporaryDirectory() as folder:
        rules = Path(folder) / "rules"
        rules.mkdir()
        (rules / "ledger.yaml").write_text(LEDGER, encoding="utf-8")
        (rules / "policy.yaml").write_text(policy, encoding="utf-8")
        rulebook = load_rulebook(Path(folder))
    expected = PolarsEngine(rulebook, AS_OF).evaluate(frame)
    actual = DurableEngine(rulebook, AS_OF).evaluate(frame)
    assert actual.frame.equals(expected.frame), textwrap.indent(policy, "  ")
    assert actual.issues == expected.issues and actual.unmatched == expected.unmatched
