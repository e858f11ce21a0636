"""What the hostile-input tests share: kamrules in its own bounded process (a memory ceiling and a
timeout, so a hang or a blow-up fails the test instead of the machine), a project holding one
hostile file, and the checks that nothing was touched or published."""

from __future__ import annotations

import hashlib
import json
import os
import resource
import shutil
import subprocess
import sys
from pathlib import Path

from conftest import REPO

MEMORY = 3 << 30  # address space of one kamrules process in these tests
SECONDS = 90


def bounded() -> None:
    resource.setrlimit(resource.RLIMIT_AS, (MEMORY, MEMORY))


def run_cli(*args: str, cwd: Path | None = None, env: dict | None = None) -> subprocess.CompletedProcess:
    """kamrules in its own bounded process; messages and workbooks in English (KAMRULES_LANG is
    --lang's default)."""
    return subprocess.run([sys.executable, "-m", "kamrules", *args], capture_output=True, text=True, cwd=cwd,
                          timeout=SECONDS, preexec_fn=bounded,
                          env={**os.environ, "KAMRULES_LANG": "en", **(env or {})})


_BATCH = """
import contextlib, io, json, sys, time, traceback
from kamrules.cli import main
results = []
for args in json.loads(sys.argv[1]):
    out, err, code = io.StringIO(), io.StringIO(), 0
    started = time.monotonic()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        sys.argv = ["kamrules", *args]
        try:
            main()
        except SystemExit as exit:
            code = exit.code if isinstance(exit.code, int) else (0 if exit.code is None else 1)
        except BaseException:
            traceback.print_exc()
            code = 99
    results.append({"returncode": code, "stdout": out.getvalue(), "stderr": err.getvalue(),
                    "seconds": time.monotonic() - started})
print(json.dumps(results))
"""


def run_batch(jobs: list[list[str]], seconds_each: int = 15) -> list[dict]:
    """Several kamrules commands one after another in ONE bounded process (one timeout for all):
    the interpreter starts once instead of once per hostile file. Each result has returncode,
    stdout, stderr and seconds; a traceback is returncode 99."""
    done = subprocess.run([sys.executable, "-c", _BATCH, json.dumps(jobs)], capture_output=True, text=True,
                          timeout=SECONDS + seconds_each * len(jobs), preexec_fn=bounded,
                          env={**os.environ, "KAMRULES_LANG": "en"})
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


def digest(folder: Path) -> dict[str, str]:
    """Each file directly in ``folder`` and its content hash (to show inputs were not touched)."""
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.iterdir()) if p.is_file()}


def project_with_input(root: Path, maker) -> tuple[Path, Path]:
    """A project with the bundled rules and templates whose only input is what ``maker`` builds."""
    root.mkdir(parents=True)
    for name in ("rules", "templates"):
        shutil.copytree(REPO / name, root / name)
    (root / "inputs").mkdir()
    return root, maker(root / "inputs")


def published_runs(project: Path) -> list[Path]:
    outputs = project / "outputs"
    return sorted(p for p in outputs.iterdir() if not p.name.startswith(".")) if outputs.exists() else []
