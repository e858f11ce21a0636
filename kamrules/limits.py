"""Limits on what kamrules will read and render (see SECURITY.md).

Every limit has a safe default and is set by whoever runs kamrules, through an environment
variable ``KAMRULES_<NAME>`` (``KAMRULES_MAX_INPUT_BYTES=1073741824``), not in the rulebook:
the people who write rules/ and templates/ must not be able to lift the limits that protect
against those very files.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, fields, replace

from .errors import ProjectError
from .i18n import msg

MiB = 1 << 20


@dataclass(frozen=True)
class Limits:
    """Attributes (all integers; the environment variable is ``KAMRULES_`` + the name in capitals):

    max_input_bytes: size of one input file.
    max_uncompressed_bytes: total inflated size of the parts of one .xlsx/.xlsm.
    max_compression_ratio: inflated/compressed size of one part larger than 1 MiB (zip bombs).
    max_rows: rows of one sheet (Excel's own maximum by default).
    max_columns: columns of one sheet.
    max_cells: cells of one input file: rows × columns of each sheet's used range, empty cells included, added up.
    max_cell_chars: characters in one cell (Excel's own maximum by default).
    max_yaml_bytes: size of one rulebook YAML file.
    max_yaml_values: values in one YAML file once every ``*alias`` is expanded (alias bombs).
    max_yaml_depth: nesting depth of one YAML file.
    max_expression_chars: length of one rule expression.
    max_expression_depth: nesting depth of one rule expression.
    max_render_seconds: time to render one document.
    max_render_steps: loop iterations (``range``) and calls while rendering one document.
    max_document_bytes: size of the XML a template renders for one document.
    """

    max_input_bytes: int = 512 * MiB
    max_uncompressed_bytes: int = 4096 * MiB
    max_compression_ratio: int = 200
    max_rows: int = 1_048_576
    max_columns: int = 2_048
    max_cells: int = 20_000_000
    max_cell_chars: int = 32_767
    max_yaml_bytes: int = 2 * MiB
    max_yaml_values: int = 200_000
    max_yaml_depth: int = 40
    max_expression_chars: int = 10_000
    max_expression_depth: int = 60
    max_render_seconds: int = 30
    max_render_steps: int = 2_000_000
    max_document_bytes: int = 64 * MiB


def env_name(field: str) -> str:
    return "KAMRULES_" + field.upper()


def current() -> Limits:
    """The defaults with any ``KAMRULES_*`` overrides from the environment."""
    changes = {}
    for item in fields(Limits):
        text = os.environ.get(env_name(item.name))
        if text is None:
            continue
        try:
            value = int(text.replace("_", ""))
        except ValueError:
            value = 0
        if value <= 0:
            raise ProjectError(msg("limits.not_positive", env=env_name(item.name), text=text),
                               suggestion=msg("limits.not_positive.hint", default=getattr(Limits, item.name)))
        changes[item.name] = value
    return replace(Limits(), **changes)


def describe() -> list[tuple[str, str, int]]:
    """(environment variable, meaning, default) for every limit, for SECURITY.md and ``--help``."""
    doc = Limits.__doc__ or ""
    meanings = {}
    for line in doc.splitlines():
        name, colon, text = line.strip().partition(":")
        if colon and name in Limits.__dataclass_fields__:
            meanings[name] = text.strip()
    return [(env_name(f.name), meanings.get(f.name, ""), f.default) for f in fields(Limits)]
