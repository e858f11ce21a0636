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
from kamrules.expr.parser import FUNCTIONS

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


# --- links, anchors and the README's commands ---------------------------------------------------

LINKED_DOCS = ("README.md", "SECURITY.md", "benchmarks/README.md")
FENCE = re.compile(r"^```.*?^```[^\n]*$", re.M | re.S)


def _markdown_files() -> list:
    return [REPO / name for name in LINKED_DOCS] + sorted(DOCS.rglob("*.md"))


def _prose(text: str) -> str:
    """The text without fenced code blocks and inline code, where nothing is a link or a heading."""
    return re.sub(r"`[^`\n]*`", "", FENCE.sub("", text))


def _anchors(path) -> set[str]:
    """The anchors GitHub makes for ``path``: one per heading (lower case, punctuation dropped,
    spaces to hyphens, -1, -2 … for repeats) and every explicit ``<a id=…>`` / ``name=…``."""
    text = path.read_text(encoding="utf-8")
    found: set[str] = set(re.findall(r"<a\s+(?:id|name)=\"([^\"]+)\"", text))
    seen: dict[str, int] = {}
    for heading in re.findall(r"^#{1,6}\s+(.+?)\s*#*\s*$", FENCE.sub("", text), re.M):
        slug = re.sub(r"[^\w\- ]", "", re.sub(r"<[^>]+>", "", heading).strip().lower()).replace(" ", "-")
        found.add(f"{slug}-{seen[slug]}" if slug in seen else slug)
        seen[slug] = seen.get(slug, 0) + 1
    return found


def _links(text: str) -> list[str]:
    prose = _prose(text)
    inline = re.findall(r"\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)", prose)
    return inline + re.findall(r"^\s{0,3}\[[^\]]+\]:\s*<?(\S+?)>?(?:\s|$)", prose, re.M)


def test_every_link_points_at_a_file_in_the_repository():
    """No link to a file that is not in the repository (the README once pointed at a design file
    outside it), and every #anchor names a heading of its target."""
    broken = []
    for path in _markdown_files():
        for link in _links(path.read_text(encoding="utf-8")):
            if re.match(r"(?i)(https?:|mailto:)", link):
                continue
            target, _, anchor = link.partition("#")
            resolved = (path.parent / target).resolve() if target else path
            where = f"{path.relative_to(REPO)} → {link}"
            if not resolved.is_relative_to(REPO) or not resolved.exists():
                broken.append(f"{where}: no such file in the repository")
            elif anchor and resolved.suffix == ".md" and anchor not in _anchors(resolved):
                broken.append(f"{where}: no heading or <a id> '{anchor}' in {resolved.relative_to(REPO)}")
    assert broken == []


def test_files_named_in_the_docs_exist():
    """A document named in prose or code (``DESIGN.md``, ``../shared/…``) must be in the repository too."""
    names = {p.name for p in REPO.rglob("*.md") if ".venv" not in p.parts}
    for path in _markdown_files():
        text = path.read_text(encoding="utf-8")
        assert "../shared" not in text, path
        missing = {m for m in re.findall(r"[\w./-]*\.md\b", text) if m.rsplit("/", 1)[-1] not in names}
        assert missing == set(), (path.relative_to(REPO), missing)


def test_readme_anchor_to_english_resolves():
    readme = REPO / "README.md"
    assert "[English](#english)" in readme.read_text(encoding="utf-8")
    assert "english" in _anchors(readme)


def test_readme_has_the_ci_test_command_and_the_run_command():
    """.ci/run runs exactly the README's test command: the same line, in a bash block of the README."""
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    bash = {line.strip() for block in re.findall(r"^```bash\n(.*?)^```", readme, re.M | re.S)
            for line in block.splitlines()}
    ci = [line.strip() for line in (REPO / ".ci" / "run").read_text(encoding="utf-8").splitlines()
          if "pip install '.[test]'" in line]
    assert ci and all(line in bash for line in ci), ci
    assert "pip install '.[test]' && pytest -q" in readme
    assert "python3 -m venv .venv && . .venv/bin/activate && pip install . && kamrules run --as-of 2026-10-31" in bash


def test_docs_index_links_every_document():
    index = DOCS / "README.md"
    linked = {(DOCS / link.partition("#")[0]).resolve() for link in _links(index.read_text(encoding="utf-8"))
              if not link.startswith(("http", "#"))}
    unlinked = [p.relative_to(REPO) for p in DOCS.rglob("*.md") if p != index and p.resolve() not in linked]
    assert unlinked == []
    assert {REPO / "SECURITY.md", REPO / "benchmarks" / "README.md"} <= linked


# --- what the guides state about the code -------------------------------------------------------

def test_every_function_is_in_both_rule_guides():
    for lang in ("zh", "en"):
        text = (DOCS / lang / "rules.md").read_text(encoding="utf-8")
        table = "\n".join(line for line in text.splitlines() if line.startswith("| `"))
        assert [name for name in FUNCTIONS if f"`{name}(" not in table] == [], lang


def test_developer_notes_state_the_import_layers_of_pyproject():
    import tomllib

    config = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))
    [layers] = [c["layers"] for c in config["tool"]["importlinter"]["contracts"] if c["type"] == "layers"]
    notes = (DOCS / "developers.md").read_text(encoding="utf-8")
    assert notes.count(" → ".join(layers)) == 2, "docs/developers.md: write the layers of pyproject.toml (zh and en)"


SNIPPET = re.compile(r"^```yaml (rules/[\w/.-]+\.yaml)\n(.*?)^```", re.M | re.S)
WHOLE = ("columns", "aggregates", "derived")  # their entries are replaced by a snippet's, not merged


def _merge(base: dict, extra: dict, whole: bool = False) -> dict:
    merged = dict(base)
    for key, value in extra.items():
        if not whole and isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = _merge(merged[key], value, whole=key in WHOLE)
        else:
            merged[key] = value
    return merged


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_configuration_snippets_are_valid(tmp_path, lang):
    """The guides' snippets of ledger.yaml, metrics.yaml, documents.yaml and rules/tests/ (a ```yaml
    block whose info string names the file): merged into the bundled project, `kamrules check`
    accepts it; a rule test file passes `kamrules test`."""
    import yaml

    snippets = [(name, body) for guide in GUIDES
                for name, body in SNIPPET.findall((DOCS / lang / guide).read_text(encoding="utf-8"))]
    assert {name for name, _ in snippets} >= {"rules/ledger.yaml", "rules/metrics.yaml", "rules/documents.yaml",
                                              "rules/tests/example.yaml"}
    for number, (name, body) in enumerate(snippets):
        project = tmp_path / f"{lang}{number}"
        shutil.copytree(REPO / "rules", project / "rules")
        shutil.copytree(REPO / "templates", project / "templates")
        target = project / name
        if name.startswith("rules/tests/"):
            shutil.rmtree(project / "rules" / "tests")  # the snippet alone: the bundled cases run elsewhere
            target.parent.mkdir()
            target.write_text(body, encoding="utf-8")
            command = "test"
        else:
            merged = _merge(yaml.safe_load(target.read_text(encoding="utf-8")), yaml.safe_load(body))
            target.write_text(yaml.safe_dump(merged, allow_unicode=True, sort_keys=False), encoding="utf-8")
            command = "check"
        result = CliRunner().invoke(app, [command, "-p", str(project), "--lang", "en"])
        assert result.exit_code == 0, (name, body, result.output)
