"""The package's structure: stages import one way (the import-linter contract in pyproject.toml)
and no module imports itself back through any chain, function-level and TYPE_CHECKING
imports included. Both checks also run on a temporary copy with a bad import added, to prove
they can fail."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

# Run in a child so the package analysed is the one in ``cwd`` (the repository or a copy),
# never a kamrules already imported by this process.
LINT = "import sys; from importlinter.cli import lint_imports; sys.exit(lint_imports('pyproject.toml', no_cache=True, no_logo=True))"
CYCLES = textwrap.dedent("""
    import json, sys
    import grimp
    graph = grimp.build_graph("kamrules", cache_dir=None)
    edges = {m: sorted(graph.find_modules_directly_imported_by(m)) for m in graph.modules}
    print(json.dumps(edges))
""")


def run_in(folder: Path, code: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", code], cwd=folder, capture_output=True, text=True,
                          env={"PYTHONPATH": str(folder), "PATH": "", "PYTHONIOENCODING": "utf-8"}, timeout=120)


def copy_project(tmp_path: Path) -> Path:
    target = tmp_path / "copy"
    target.mkdir()
    shutil.copytree(ROOT / "kamrules", target / "kamrules", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(ROOT / "pyproject.toml", target / "pyproject.toml")
    return target


def cycles(edges: dict[str, list[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    for root in sorted(edges):
        if root in index:
            continue
        work = [(root, iter(edges.get(root, ())))]
        index[root] = low[root] = len(index)
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = len(index)
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(edges.get(child, ()))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                if len(component) > 1:
                    found.append(sorted(component))
    return found


def module_cycles(folder: Path) -> list[list[str]]:
    done = run_in(folder, CYCLES)
    assert done.returncode == 0, done.stderr
    return cycles(json.loads(done.stdout))


def test_the_layers_contract_is_kept():
    done = run_in(ROOT, LINT)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "Stages import one way KEPT" in done.stdout
    assert "Contracts: 1 kept, 0 broken." in done.stdout


def test_an_upward_import_breaks_the_contract(tmp_path):
    copy = copy_project(tmp_path)
    parser = copy / "kamrules" / "expr" / "parser.py"
    # hidden inside a function, as an upward import usually is
    parser.write_text(parser.read_text(encoding="utf-8") + "\n\ndef _late():\n    from ..rules import engine\n",
                      encoding="utf-8")
    done = run_in(copy, LINT)
    assert done.returncode == 1, done.stdout + done.stderr
    assert "Stages import one way BROKEN" in done.stdout
    assert "kamrules.expr.parser -> kamrules.rules.engine" in done.stdout


def test_a_new_top_level_module_must_take_a_layer(tmp_path):
    copy = copy_project(tmp_path)
    (copy / "kamrules" / "helpers.py").write_text("X = 1\n", encoding="utf-8")
    done = run_in(copy, LINT)
    assert done.returncode != 0
    assert "kamrules.helpers" in done.stdout + done.stderr


def test_no_module_imports_itself_back():
    assert module_cycles(ROOT) == []


def test_a_cycle_through_type_checking_imports_is_found(tmp_path):
    copy = copy_project(tmp_path)
    names = copy / "kamrules" / "names.py"
    names.write_text(names.read_text(encoding="utf-8") + textwrap.dedent("""

        from typing import TYPE_CHECKING
        if TYPE_CHECKING:
            from .limits import Limits
        """), encoding="utf-8")
    # limits imports errors and i18n, not names: add the way back
    limits = copy / "kamrules" / "limits.py"
    limits.write_text(limits.read_text(encoding="utf-8") + "\n\ndef _late():\n    from .names import did_you_mean\n",
                      encoding="utf-8")
    assert module_cycles(copy) == [["kamrules.limits", "kamrules.names"]]


def test_the_cycle_finder():
    assert cycles({"a": ["b"], "b": ["c"], "c": ["a"], "d": ["a"]}) == [["a", "b", "c"]]
    assert cycles({"a": ["b"], "b": []}) == []
    assert cycles({"a": ["b"], "b": ["a"], "c": ["d"], "d": ["c"]}) == [["a", "b"], ["c", "d"]]
