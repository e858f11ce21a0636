"""``kamrules init DIR``: a complete working project, the bundled example, ready to run.

rules/ (with the comments that explain each part and 87 rule tests), templates/ (proposal and
account plan, Chinese and English), inputs/ with the sample ledger, a README for the back
office, and the JSON Schema the rule files point at. Nothing that exists is overwritten.

``--lang zh`` copies the repository's ``rules/`` (Chinese comments, titles and values,
``locale: zh_CN``); ``--lang en`` copies its English translation, ``examples/en/rules/`` (the
same decisions, rule ids, thresholds and tests, with English comments, titles and values and
``locale: en_US``). The sample ledger stays Chinese in both: the English ledger mapping keeps
the Chinese header aliases and maps the ledger's Chinese values to the English ones.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path

from .errors import ProjectError
from .i18n import msg
from .schema import schema_text

PARTS = ("rules", "templates", "inputs")
SCHEMA_LINE = re.compile(r"^# yaml-language-server: \$schema=.*$", re.M)
LOCALES = {"zh": "zh_CN", "en": "en_US"}
# where each language's rules/ sits: in the installed package (see pyproject.toml) and in the source tree
RULES = {"zh": ("rules", "rules"), "en": ("rules.en", "examples/en/rules")}

README = {
    "zh": """# 大客户管理项目

1. 把台账（客户档案、销售明细、应收账款、投诉记录、拜访记录）放进 `inputs/`，表头用中文即可。
2. 运行 `kamrules run`，结果在 `outputs/<日期-时间>/`：`portfolio.xlsx`（概览、客户、拜访计划、提醒、
   预警、数据问题）、每个重点客户的服务方案和客户计划（Word）、`visits.ics`（拜访日历）、`issues.xlsx`
   （没有用上的数据行和原因）。
3. 改政策：编辑 `rules/policy.yaml`（每段都有注释），然后依次运行 `kamrules check`、`kamrules test`、
   `kamrules diff --rules 新规则文件夹`（先看影响）、`kamrules run`。
4. 为什么某个客户是这个结果：`kamrules explain 客户编号`。

示例台账里有 8 行故意写错的数据（重复客户、缺客户编号、金额“待确认”、不存在的客户、日期 2025-13-45），
运行后会在“数据问题”里逐行列出，可以对照着看 kamrules 怎样报告问题。
""",
    "en": """# Key account project

1. Put the ledgers (customers, orders, receivables, complaints, visits) in `inputs/`; Chinese or
   English headers both work (the sample ledger is Chinese: `rules/ledger.yaml` maps its headers
   and values to the English names the rules use).
2. Run `kamrules run`; results are in `outputs/<date-time>/`: `portfolio.xlsx` (summary,
   customers, visit plan, reminders, alerts, data issues), a proposal and an account plan per
   key account (Word, English templates), `visits.ics`, and `issues.xlsx` (rows not used, and why).
3. To change the policy, edit `rules/policy.yaml` (every part has a comment), then run
   `kamrules check`, `kamrules test`, `kamrules diff --rules NEW_RULES_FOLDER` (see the impact
   first) and `kamrules run`.
4. Why did a customer get this result: `kamrules explain CUSTOMER_ID --lang en`.

The sample ledger has 8 rows with deliberate mistakes (a duplicate customer, missing ids, an
amount written as 待确认 ("to be confirmed"), an unknown customer, the date 2025-13-45); the run
lists each one on the Data issues sheet, so you can see how kamrules reports problems.
""",
}


def skeleton() -> Path:
    """The bundled example: inside the installed package, or the source tree in development."""
    packaged = Path(__file__).with_name("skeleton")
    return packaged if packaged.is_dir() else Path(__file__).resolve().parent.parent


def rules_source(lang: str) -> Path:
    """The bundled ``rules/`` in ``lang``: ``skeleton/rules.en`` inside the installed package,
    ``examples/en/rules`` in the source tree (likewise ``rules`` for Chinese)."""
    packaged, development = RULES[lang]
    source = skeleton()
    return source / (packaged if source == Path(__file__).with_name("skeleton") else development)


def init_project(target: Path, lang: str = "zh") -> list[Path]:
    """Create the project at ``target``; returns the files written."""
    if lang not in LOCALES:
        raise ProjectError(msg("init.unknown_lang", lang=lang), suggestion=msg("init.unknown_lang.hint"))
    target = Path(target)
    clashes = [target / name for name in (*PARTS, "README.md", ".kamrules") if (target / name).exists()]
    if clashes:
        raise ProjectError(msg("init.would_overwrite", names=", ".join(p.name for p in clashes)), path=str(target),
                           suggestion=msg("init.would_overwrite.hint"))
    source = skeleton()
    target.mkdir(parents=True, exist_ok=True)
    shutil.copytree(rules_source(lang), target / "rules")
    shutil.copytree(source / "templates", target / "templates")
    (target / "inputs").mkdir()
    shutil.copy2(source / "inputs" / "大客户台账.xlsx", target / "inputs" / "大客户台账.xlsx")
    (target / ".kamrules").mkdir()
    (target / ".kamrules" / "rulebook.schema.json").write_text(schema_text(), encoding="utf-8")
    for path in (target / "rules").glob("*.yaml"):
        text = SCHEMA_LINE.sub("# yaml-language-server: $schema=../.kamrules/rulebook.schema.json",
                               path.read_text(encoding="utf-8"), count=1)
        path.write_text(text, encoding="utf-8")
    documents = target / "rules" / "documents.yaml"
    documents.write_text(company_placeholders(documents.read_text(encoding="utf-8"), lang), encoding="utf-8")
    (target / "README.md").write_text(README[lang], encoding="utf-8")
    return sorted(p for p in target.rglob("*") if p.is_file())


PLACEHOLDERS = {
    "zh": {"name": "（请填写公司名称）", "short_name": "（请填写简称）", "address": "（请填写地址）",
           "phone": "（请填写电话）", "email": "（请填写电子邮箱）", "website": "（请填写网址）",
           "signatory": "（请填写签署人）", "seal_text": "（请填写印章文字）"},
    "en": {"name": "(fill in your company name)", "short_name": "(fill in a short name)",
           "address": "(fill in the address)", "phone": "(fill in the phone number)",
           "email": "(fill in the e-mail address)", "website": "(fill in the website)",
           "signatory": "(fill in who signs)", "seal_text": "(fill in the seal text)"},
}
LOGO_HINT = {"zh": "  # logo: templates/logo.png     # 换成贵公司的标志（PNG 或 JPEG），然后去掉行首的 #\n",
             "en": "  # logo: templates/logo.png     # your company's logo (PNG or JPEG); then remove the leading #\n"}


def company_placeholders(text: str, lang: str) -> str:
    """The documents.yaml of the example with the sample company's details replaced by placeholders
    that ``check`` and ``run`` point out until they are filled (a new project must not send clients
    documents in the name of the sample company)."""
    lines, out, inside = text.splitlines(keepends=True), [], False
    for line in lines:
        if line.startswith("company:"):
            inside = True
            out.append(line)
            continue
        if inside and line.strip() and not line.startswith((" ", "#")):
            inside = False
        if inside:
            key = line.strip().split(":", 1)[0]
            if key in PLACEHOLDERS[lang]:
                indent = line[:len(line) - len(line.lstrip())]
                out.append(f"{indent}{key}: \"{PLACEHOLDERS[lang][key]}\"\n")
                continue
            if key == "logo":
                out.append(LOGO_HINT[lang])
                continue
        out.append(line)
    return "".join(out)
