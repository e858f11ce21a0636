"""DMN interchange: decision tables from DMN 1.1–1.5 models, the rulebook as a DMN 1.5 model,
and the DMN TCK's test cases run against kamrules' engine.

- :func:`import_yaml` — a .dmn file as rulebook YAML (``kamrules dmn import``)
- :func:`read_rules_dmn` — a project's ``rules/*.dmn``, merged beside its YAML
- :func:`~.writer.write_dmn` — the rulebook's decisions as DMN 1.5 (``kamrules dmn export``)
- :func:`~.tck.run_tck` — a TCK test file against its model (``kamrules dmn test``)
"""

from __future__ import annotations

from pathlib import Path

import yaml

from ...yamlio import YDict, YList
from .convert import Imported, convert, plain
from .reader import read_model


def import_model(path: Path, display: str | None = None, known_fields: dict[str, str] | None = None) -> Imported:
    """The model at ``path`` converted to rulebook decisions (DmnError when it cannot be)."""
    return convert(read_model(path.read_bytes(), display or path.name), known_fields)


def import_yaml(path: Path, display: str | None = None) -> str:
    """The model as a rules/*.yaml file: its decisions (and a kamrules export's constraints), with a
    header naming the inputs the decisions read, which must be fields of the project."""
    imported = import_model(path, display)
    document = {"kamrules": 1, "decisions": plain(imported.decisions)}
    if imported.constraints:
        document["constraints"] = imported.constraints
    header = [f"# Imported from {display or path.name} by kamrules dmn import.",
              "# Inputs the decisions read (each must be a column or metric of the project):"]
    header += [f"#   {name}: {type_name}" for name, type_name in imported.inputs.items()] or ["#   (none)"]
    body = yaml.safe_dump(document, allow_unicode=True, sort_keys=False, width=110)
    return "\n".join(header) + "\n" + body


def rules_section(imported: Imported) -> YDict:
    """The model as the merged tree of one rules/ file (``decisions:`` and ``constraints:``)."""
    root = YDict({"decisions": imported.decisions})
    root.file, root.line = imported.decisions.file, 1
    root.key_lines["decisions"] = 1
    if imported.constraints:
        constraints = YList(imported.constraints)
        constraints.file, constraints.line = imported.decisions.file, 1
        root["constraints"] = constraints
        root.key_lines["constraints"] = 1
    return root
