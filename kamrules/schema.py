"""JSON Schema of the rulebook, generated from the pydantic models that validate it.

Editors use it to complete and check keys: the bundled YAML files start with
``# yaml-language-server: $schema=…`` (VS Code's YAML extension reads that line). A
rulebook is split over several files, each holding some of the sections, so no section is
required by the schema; ``kamrules check`` still checks the whole.
"""

from __future__ import annotations

import json
from pathlib import Path

SCHEMA_FILE = Path(__file__).with_name("rulebook.schema.json")
SCHEMA_ID = "https://kamrules.dev/schema/rulebook.schema.json"


def rulebook_schema() -> dict:
    from .rules.rulebook import RulebookSpec

    schema = RulebookSpec.model_json_schema()
    schema.pop("required", None)
    return {"$schema": "https://json-schema.org/draft/2020-12/schema", "$id": SCHEMA_ID,
            "title": "kamrules rulebook (rules/*.yaml)",
            "description": "One file of a kamrules rulebook; files are merged section by section.", **schema}


def schema_text() -> str:
    return json.dumps(rulebook_schema(), ensure_ascii=False, indent=2, sort_keys=True) + "\n"
