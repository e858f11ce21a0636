"""The documentation: the reference is generated from the code and must be current; every CLI
command, hit policy, function, filter and context name has its description; both languages
have the same guides; the worked examples of the rule guide are real, valid rules."""

from __future__ import annotations

import inspect
import re
import shutil
import subprocess
import sys

import pytest
import typer
from typer.testing import CliRunner

from kamrules.cli import app
from kamrules.render import filters
from kamrules.render.context import CONTEXT_EXTRAS
from kamrules.rules.model import HitPolicy
from kamrules.rules.parser import FUNCTIONS

from conftest import REPO

sys.path.insert(0, str(REPO / "scripts"))
import make_docs  # noqa: E402

DOCS = REPO / "docs"
GUIDES = ("tutorial.md", "rules.md", "templates.md", "operations.md")


def test_reference_is_generated_and_current():
    assert (DOCS / "reference.md").read_text(encoding="utf-8") == make_docs.reference(), \
        "run: python scripts/make_docs.py"
    done = subprocess.run([sys.executable, str(REPO / "scripts" / "make_docs.py"), "--check"], capture_output=True,
                          text=True)
    assert done.returncode == 0, done.stdout


def test_everything_users_can_name_is_described():
    reference = (DOCS / "reference.md").read_text(encoding="utf-8")
    commands = typer.main.get_command(app).commands
    for name, command in commands.items():
        assert (command.help or "").strip(), f"command {name} has no help"
        assert f"`kamrules {name}" in reference
    for policy in HitPolicy.__args__:
        assert all(make_docs.HIT_POLICIES[policy]), policy
        assert f"| `{policy}` |" in reference
    for name, spec in FUNCTIONS.items():
        assert spec.summary and f"| `{name}` |" in reference
    for name in filters.make_filters("zh_CN"):
        assert inspect.getdoc(getattr(filters, name)), f"filter {name} has no docstring"
        assert f"| `{name}` |" in reference
    for name in CONTEXT_EXTRAS:
        assert all(make_docs.CONTEXT[name]) and f"| `{name}` |" in reference


def test_both_languages_have_every_guide_and_link_the_reference():
    for lang in ("zh", "en"):
        assert sorted(p.name for p in (DOCS / lang).glob("*.md")) == sorted(GUIDES)
        for guide in GUIDES:
            text = (DOCS / lang / guide).read_text(encoding="utf-8")
            for link in re.findall(r"\]\(([^)#]+)", text):
                if not link.startswith("http"):
                    assert (DOCS / lang / link).resolve().exists(), (lang, guide, link)
    index = (DOCS / "README.md").read_text(encoding="utf-8")
    assert all(f"{lang}/{guide}" in index for lang in ("zh", "en") for guide in GUIDES)


def test_tutorial_commands_are_real():
    commands = set(typer.main.get_command(app).commands)
    for lang in ("zh", "en"):
        text = (DOCS / lang / "tutorial.md").read_text(encoding="utf-8") + \
            (DOCS / lang / "operations.md").read_text(encoding="utf-8")
        used = set(re.findall(r"(?:`|\$ )kamrules(?:\.exe)? ([a-z]+)", text))
        assert used and used <= commands, used - commands


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_worked_examples_are_valid_rules(tmp_path, lang):
    examples = re.findall(r"```yaml\n(.*?)```", (DOCS / lang / "rules.md").read_text(encoding="utf-8"), re.S)
    policies = [e for e in examples if "hit:" in e]
    found = {m for e in policies for m in re.findall(r"hit: (\w+)", e)}
    assert found >= {"unique", "first", "priority", "any", "collect", "collect_sum", "collect_count"}
    for number, example in enumerate(examples):
        project = tmp_path / f"{lang}{number}"
        shutil.copytree(REPO / "rules", project / "rules")
        shutil.copytree(REPO / "templates", project / "templates")
        if "constraints:" in example:
            (project / "rules" / "policy.yaml").write_text(
                (project / "rules" / "policy.yaml").read_text(encoding="utf-8").split("\nconstraints:")[0]
                + "\n" + example, encoding="utf-8")
        else:
            renamed = _rename(example, number)
            (project / "rules" / "example.yaml").write_text(
                "kamrules: 1\ndecisions:\n" + "".join("  " + line + "\n" for line in renamed.splitlines()),
                encoding="utf-8")
        result = CliRunner().invoke(app, ["check", "-p", str(project)])
        assert result.exit_code == 0, (example, result.output)


def _rename(example: str, number: int) -> str:
    """Give the example's decisions and outputs their own names, so they do not clash with the bundled ones."""
    decisions = re.findall(r"^(\w+):$", example, re.M)
    outputs = {o for block in re.findall(r"outputs: \{([^}]*)\}", example) for o in re.findall(r"(\w+):", block)}
    for name in sorted(set(decisions) | outputs, key=len, reverse=True):
        example = re.sub(rf"(?<![\w']){name}(?=:|\b)", f"ex{number}_{name}", example)
    return example
