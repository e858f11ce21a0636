"""Editor support: the JSON Schema is generated from the models that validate the rulebook,
shipped with the package, referenced by the bundled YAML, and printed by ``kamrules schema``."""

from __future__ import annotations

import json

from typer.testing import CliRunner

from kamrules.cli import app
from kamrules.rules.rulebook import RulebookSpec
from kamrules.schema import SCHEMA_FILE, rulebook_schema, schema_text

from conftest import REPO


def test_shipped_schema_is_the_generated_one():
    assert SCHEMA_FILE.read_text(encoding="utf-8") == schema_text(), "run: kamrules schema -o kamrules/rulebook.schema.json"


def test_schema_knows_every_section_and_nested_key():
    schema = rulebook_schema()
    assert set(schema["properties"]) == set(RulebookSpec.model_fields)
    assert "required" not in schema  # each file of a rulebook holds only some sections
    definitions = schema["$defs"]
    assert {"hit", "rules", "table", "quota", "default", "outputs"} <= set(definitions["DecisionSpec"]["properties"])
    assert {"model", "horizon", "discount_rate", "margin"} <= set(definitions["PredictiveSpec"]["properties"])
    assert definitions["DecisionSpec"].get("additionalProperties") is False  # unknown keys are flagged in the editor


def test_bundled_rule_files_reference_the_schema():
    for path in sorted((REPO / "rules").glob("*.yaml")):
        first = path.read_text(encoding="utf-8").splitlines()[0]
        assert first == "# yaml-language-server: $schema=../kamrules/rulebook.schema.json", path.name
        assert (path.parent / "../kamrules/rulebook.schema.json").resolve() == SCHEMA_FILE.resolve()


def test_schema_command(tmp_path):
    printed = CliRunner().invoke(app, ["schema"])
    assert printed.exit_code == 0 and json.loads(printed.output) == rulebook_schema()
    written = CliRunner().invoke(app, ["schema", "-o", str(tmp_path / "s.json")])
    assert written.exit_code == 0 and written.output == f"schema written to {tmp_path / 's.json'}\n"
    assert json.loads((tmp_path / "s.json").read_text(encoding="utf-8")) == rulebook_schema()
