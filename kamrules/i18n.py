"""Words kamrules writes into workbooks, and every message it shows, in Chinese and English.

The language is chosen by ``--lang``, then the rulebook's ``locale``, then the system locale
(:func:`choose`). Both catalogues must have the same keys and the same ``{placeholders}``;
tests/test_i18n.py checks that, so a word added in one language cannot be missing in the other.
Texts that come from the rulebook (decision titles, notes, column titles) are written as the
rulebook's author wrote them.

Messages (errors, findings, CLI output) live in :mod:`kamrules.messages`. :func:`msg` builds a
:class:`Text`: a ``str`` holding the English wording, so code, logs and tests that treat it as
text keep working, which also remembers its key and values so :func:`localize` can show it in
Chinese once the language is known.
"""

from __future__ import annotations

import locale as system_locale
import os
import re
from functools import lru_cache

WORKBOOK: dict[str, dict[str, str]] = {
    "zh": {
        "sheet.summary": "概览", "sheet.customers": "客户", "sheet.visits": "拜访计划", "sheet.reminders": "提醒",
        "sheet.issues": "数据问题", "sheet.pareto": "帕累托",
        "basis": "{title}依据",
        "visits.next": "下次拜访日期", "visits.state": "状态", "visits.customer_id": "客户编号",
        "visits.name": "客户名称", "visits.manager": "客户经理", "visits.tier": "等级",
        "visits.every": "拜访间隔（天）", "visits.last": "最近拜访日期", "visits.since": "距最近拜访天数",
        "visits.overdue": "逾期", "visits.on_plan": "按计划",
        "sheet.load": "每日安排", "sheet.unplaced": "未能安排",
        "visits.day": "日期", "visits.weekday": "星期", "visits.start": "开始", "visits.end": "结束",
        "visits.task": "事项", "visits.due": "应安排日期", "visits.purpose": "目的", "visits.reason": "原因",
        "visits.late": "逾期{days}天", "visits.never": "从未拜访", "visits.moved": "顺延",
        "visits.unassigned": "未分配客户经理", "load.total": "合计", "load.capacity": "上限",
        "task.visit": "拜访", "task.gift": "赠送礼品", "task.call": "电话联系", "task.renewal": "合同续签拜访",
        "task.birthday": "生日问候", "task.festival": "节日问候",
        "weekday.0": "周一", "weekday.1": "周二", "weekday.2": "周三", "weekday.3": "周四", "weekday.4": "周五",
        "weekday.5": "周六", "weekday.6": "周日",
        "reminders.date": "日期", "reminders.kind": "类型", "reminders.customer_id": "客户编号",
        "reminders.summary": "事项", "reminders.description": "说明",
        "reminders.birthday": "生日", "reminders.renewal": "合同续签", "reminders.festival": "节日",
        "pareto.rank": "排名", "pareto.customer_id": "客户编号", "pareto.name": "客户名称",
        "pareto.share": "累计占比",
        "summary.title": "大客户组合概览", "summary.as_of": "数据截至", "summary.customers": "客户数",
        "summary.revenue": "近12个月销售额", "summary.rejected": "被拒绝的数据行",
        "summary.issues": "数据问题（含警告）", "summary.conflicts": "决策冲突",
        "summary.share": "销售额占比", "summary.empty": "（空）", "summary.outstanding": "未结余额",
        "chart.distribution": "{label}分布（客户数）", "chart.exposure": "信用敞口（未结余额）",
        "chart.pareto": "帕累托曲线（累计销售额占比）", "chart.rank": "客户排名",
        "model.bgnbd": "购买预测（BG/NBD）", "model.gamma_gamma": "消费金额（Gamma-Gamma）",
        "model.params": "{title}参数", "model.fit": "{title}拟合",
        "model.fit_text": "{customers} 位客户，对数似然 {ll}，{state}",
        "model.converged": "已收敛", "model.not_converged": "未收敛",
        "model.status.fitted": "已按台账拟合",
        "model.status.bgnbd_common_p": "极限模型：客户之间流失倾向几乎没有差别，按同一流失概率 p = {p} 计算",
        "model.status.nbd": "极限模型：台账中看不到客户流失，按不流失计算（仍活跃概率为 100%）",
        "model.status.not_fitted": "未拟合，预测指标留空：{reason}",
        "issues.level": "级别", "issues.file": "文件", "issues.sheet": "工作表", "issues.row": "行号",
        "issues.column": "列", "issues.value": "值", "issues.problem": "问题", "issues.suggestion": "建议",
        "issues.code": "规则", "issues.dataset": "数据集",
        "level.error": "错误（未使用）", "level.skipped": "跳过", "level.warning": "警告",
        "sheet.conflicts": "决策冲突", "conflicts.customer_id": "客户编号", "conflicts.name": "客户名称",
        "conflicts.decision": "决策", "conflicts.rules": "冲突的规则", "conflicts.problem": "问题",
        "conflicts.suggestion": "建议",
        "issues.kind": "问题类型",
        "code.missing_value": "缺少必填值", "code.bad_date": "日期无效", "code.ambiguous_date": "日期有歧义",
        "code.bad_enum": "不是可选值", "code.out_of_range": "超出范围", "code.uncached_formula": "公式没有结果",
        "code.cell_too_long": "内容过长", "code.bad_value": "值无法识别", "code.totals_row": "合计行",
        "code.repeated_header": "重复的表头行", "code.duplicate_header": "重复的表头", "code.filtered": "被筛选条件跳过",
        "code.hidden_row": "隐藏行", "code.duplicate_row": "重复行", "code.key_conflict": "编号冲突",
        "code.unknown_reference": "编号不存在", "code.derived_dataset": "由其他数据生成", "code.file_rejected": "文件已搁置", "code.input_refused": "未读取的文件",
        "code.sheet_ignored": "未使用的工作表", "code.model_not_fitted": "模型未拟合",
        "code.as_of_after_data": "截止日期晚于数据", "code.column_without_values": "列没有数据",
        "code.portfolio_template": "模板问题", "code.visit_plan": "拜访计划", "code.unplaced_tasks": "未能安排",
        "code.company_unfinished": "公司信息未填写",
        "bool.true": "是", "bool.false": "否",
        "page.footer": "第 &P 页，共 &N 页",
        "summary.legend": "{label}颜色", "summary.outstanding_in": "未结余额（{unit}）",
        "summary.models": "预测模型", "summary.models_text": "{models}。参数及其含义见“{sheet}”工作表",
        "summary.model_fitted": "{title}已拟合：{customers} 位客户，{state}",
        "summary.model_not_fitted": "{title}未拟合，预测指标留空",
        "chart.line80": "80% 参考线",
        "sheet.models": "模型", "models.item": "项目", "models.value": "数值", "models.meaning": "含义",
        "models.status": "状态", "models.status.note": "模型用台账里每位客户的下单记录估计今后的购买，拟合即找出与台账最吻合的参数",
        "models.customers": "拟合所用客户", "models.customers.note": "有下单记录、参与拟合的客户数",
        "models.ll": "对数似然", "models.ll.note": "模型与台账吻合的程度：只用来比较同一份台账上的不同模型，越接近 0 越好；单看这个数没有含义",
        "models.state": "是否收敛", "models.state.note": "收敛表示找到了最吻合的参数；未收敛时预测只供参考",
        "models.rate": "平均购买频率", "models.rate.value": "每年约 {n} 次",
        "models.rate.note": "由 r 和 alpha 得出：一位普通客户仍在合作时，一年大约下单几次",
        "models.dropout": "每次购买后流失的概率", "models.dropout.note": "由 a 和 b 得出：客户每次下单之后不再回来的平均可能性",
        "models.spend": "平均单次消费", "models.spend.note": "由 p、q、gamma 得出：所有客户平均每次下单的金额",
        "models.param.r": "购买频率的形状：越小，客户之间买得多和买得少的差别越大",
        "models.param.alpha": "购买频率的尺度：与 r 一起决定平均购买频率（r ÷ alpha 为每个时间单位的购买次数）",
        "models.param.a": "流失倾向的形状：与 b 一起决定每次购买后流失的平均概率 a ÷ (a + b)",
        "models.param.b": "流失倾向的尺度：b 相对 a 越大，客户越不容易流失",
        "models.param.p": "每次购买后流失的概率（所有客户相同）",
        "models.param.gg_p": "同一客户各次消费金额的稳定程度：越大，同一客户每次花的钱越接近",
        "models.param.q": "客户之间平均消费水平的差别：越大，差别越小",
        "models.param.gamma": "消费金额的尺度：与 p、q 一起决定平均单次消费 p × gamma ÷ (q − 1)",
    },
    "en": {
        "sheet.summary": "Summary", "sheet.customers": "Customers", "sheet.visits": "Visit plan",
        "sheet.reminders": "Reminders", "sheet.issues": "Data issues", "sheet.pareto": "Pareto",
        "basis": "{title} (basis)",
        "visits.next": "Next visit", "visits.state": "State", "visits.customer_id": "Customer id",
        "visits.name": "Customer", "visits.manager": "Account manager", "visits.tier": "Tier",
        "visits.every": "Interval (days)", "visits.last": "Last visit", "visits.since": "Days since last visit",
        "visits.overdue": "Overdue", "visits.on_plan": "On plan",
        "sheet.load": "Daily load", "sheet.unplaced": "Unscheduled",
        "visits.day": "Date", "visits.weekday": "Day", "visits.start": "Start", "visits.end": "End",
        "visits.task": "Task", "visits.due": "Due", "visits.purpose": "Purpose", "visits.reason": "Reason",
        "visits.late": "{days} days overdue", "visits.never": "Never visited", "visits.moved": "Moved",
        "visits.unassigned": "No account manager", "load.total": "Total", "load.capacity": "Capacity",
        "task.visit": "Visit", "task.gift": "Gift", "task.call": "Call", "task.renewal": "Renewal visit",
        "task.birthday": "Birthday greetings", "task.festival": "Festival greetings",
        "weekday.0": "Mon", "weekday.1": "Tue", "weekday.2": "Wed", "weekday.3": "Thu", "weekday.4": "Fri",
        "weekday.5": "Sat", "weekday.6": "Sun",
        "reminders.date": "Date", "reminders.kind": "Kind", "reminders.customer_id": "Customer id",
        "reminders.summary": "Reminder", "reminders.description": "Details",
        "reminders.birthday": "Birthday", "reminders.renewal": "Contract renewal", "reminders.festival": "Festival",
        "pareto.rank": "Rank", "pareto.customer_id": "Customer id", "pareto.name": "Customer",
        "pareto.share": "Cumulative share",
        "summary.title": "Key account portfolio", "summary.as_of": "Data as of", "summary.customers": "Customers",
        "summary.revenue": "Revenue, last 12 months", "summary.rejected": "Rows rejected",
        "summary.issues": "Data issues (with warnings)", "summary.conflicts": "Decision conflicts",
        "summary.share": "Share of revenue", "summary.empty": "(empty)", "summary.outstanding": "Outstanding",
        "chart.distribution": "{label}: customers", "chart.exposure": "Credit exposure (outstanding)",
        "chart.pareto": "Pareto curve (cumulative share of revenue)", "chart.rank": "Customer rank",
        "model.bgnbd": "Purchase forecast (BG/NBD)", "model.gamma_gamma": "Spend (Gamma-Gamma)",
        "model.params": "{title}: parameters", "model.fit": "{title}: fit",
        "model.fit_text": "{customers} customers, log-likelihood {ll}, {state}",
        "model.converged": "converged", "model.not_converged": "not converged",
        "model.status.fitted": "fitted to the ledger",
        "model.status.bgnbd_common_p": "limiting model: customers hardly differ in how likely they are to drop out; "
                                       "one dropout probability p = {p} for all",
        "model.status.nbd": "limiting model: the ledger shows no dropout; nobody is assumed to drop out "
                            "(probability still active 100%)",
        "model.status.not_fitted": "not fitted, the predictive metrics are empty: {reason}",
        "issues.level": "Level", "issues.file": "File", "issues.sheet": "Sheet", "issues.row": "Row",
        "issues.column": "Column", "issues.value": "Value", "issues.problem": "Problem",
        "issues.suggestion": "Suggestion", "issues.code": "Rule", "issues.dataset": "Dataset",
        "level.error": "Error (not used)", "level.skipped": "Skipped", "level.warning": "Warning",
        "sheet.conflicts": "Decision conflicts", "conflicts.customer_id": "Customer id", "conflicts.name": "Customer",
        "conflicts.decision": "Decision", "conflicts.rules": "Rules in conflict", "conflicts.problem": "Problem",
        "conflicts.suggestion": "Suggestion",
        "issues.kind": "Kind",
        "code.missing_value": "Missing value", "code.bad_date": "Invalid date", "code.ambiguous_date": "Ambiguous date",
        "code.bad_enum": "Not an allowed value", "code.out_of_range": "Out of range",
        "code.uncached_formula": "Formula without a result", "code.cell_too_long": "Cell too long",
        "code.bad_value": "Unreadable value", "code.totals_row": "Totals row", "code.repeated_header": "Repeated header row",
        "code.duplicate_header": "Duplicate header", "code.filtered": "Skipped by the filter", "code.hidden_row": "Hidden row",
        "code.duplicate_row": "Duplicate row", "code.key_conflict": "Key conflict",
        "code.unknown_reference": "Unknown reference", "code.derived_dataset": "Derived from other data",
        "code.file_rejected": "File set aside", "code.input_refused": "File not read", "code.sheet_ignored": "Sheet not used",
        "code.model_not_fitted": "Model not fitted", "code.as_of_after_data": "As-of date after the data",
        "code.column_without_values": "Column without values", "code.portfolio_template": "Template problem",
        "code.visit_plan": "Visit plan", "code.unplaced_tasks": "Unscheduled",
        "code.company_unfinished": "Company details missing",
        "bool.true": "Yes", "bool.false": "No",
        "page.footer": "Page &P of &N",
        "summary.legend": "{label} colours", "summary.outstanding_in": "Outstanding ({unit})",
        "summary.models": "Predictive models", "summary.models_text": "{models}. Parameters and what they mean: sheet “{sheet}”",
        "summary.model_fitted": "{title} fitted: {customers} customers, {state}",
        "summary.model_not_fitted": "{title} not fitted, the predictive metrics are empty",
        "chart.line80": "80% line",
        "sheet.models": "Models", "models.item": "Item", "models.value": "Value", "models.meaning": "What it means",
        "models.status": "Status", "models.status.note": "The model estimates future purchases from each customer's orders "
                                                         "in the ledger; fitting finds the parameters that match the ledger best",
        "models.customers": "Customers fitted", "models.customers.note": "Customers with orders who took part in the fit",
        "models.ll": "Log-likelihood", "models.ll.note": "How well the model matches the ledger: only for comparing models "
                                                         "fitted to the same ledger, closer to 0 is better; alone it means nothing",
        "models.state": "Converged", "models.state.note": "Converged: the best-matching parameters were found; "
                                                          "if not, take the forecasts as a rough guide only",
        "models.rate": "Average purchase rate", "models.rate.value": "about {n} a year",
        "models.rate.note": "From r and alpha: how often a typical customer orders in a year while still active",
        "models.dropout": "Chance of dropping out after a purchase",
        "models.dropout.note": "From a and b: the average chance that a customer does not come back after an order",
        "models.spend": "Average order value", "models.spend.note": "From p, q and gamma: what customers spend per order on average",
        "models.param.r": "Shape of the purchase rate: the smaller, the more customers differ in how often they buy",
        "models.param.alpha": "Scale of the purchase rate: with r it sets the average rate (r / alpha purchases per time unit)",
        "models.param.a": "Shape of the dropout tendency: with b it sets the average dropout chance a / (a + b)",
        "models.param.b": "Scale of the dropout tendency: the larger b is against a, the less customers drop out",
        "models.param.p": "Chance of dropping out after each purchase (the same for every customer)",
        "models.param.gg_p": "How steady one customer's order values are: the larger, the closer each order is to the last",
        "models.param.q": "How much customers differ in their average spend: the larger, the less they differ",
        "models.param.gamma": "Scale of order values: with p and q it sets the average order value p × gamma / (q − 1)",
    },
}
LANGUAGES = tuple(WORKBOOK)


def choose(lang: str | None = None, locale: str | None = None) -> str:
    """``--lang``, then the rulebook's locale, then the system locale; Chinese when none says."""
    for candidate in (lang, locale, _system_locale()):
        if candidate:
            return "en" if candidate.lower().startswith("en") else "zh"
    return "zh"


def _system_locale() -> str | None:
    for variable in ("LC_ALL", "LC_MESSAGES", "LANG"):
        value = os.environ.get(variable)
        if value and value not in ("C", "POSIX") and not value.startswith("C."):
            return value
    try:
        return system_locale.getlocale()[0]
    except ValueError:
        return None


class Words:
    """``words("sheet.summary")`` or ``words("basis", title=...)`` in one language."""

    def __init__(self, lang: str):
        self.lang = lang if lang in WORKBOOK else "zh"
        self.catalogue = WORKBOOK[self.lang]

    def __call__(self, key: str, **values) -> str:
        text = self.catalogue[key]
        return text.format(**values) if values else text


ENGLISH, CHINESE = 1, 0  # positions in a kamrules.messages entry


class Text(str):
    """A message: English as a ``str``, plus ``key`` and ``values`` to render it in another language.

    Values may be Texts themselves (a reason inside a sentence); they are localized with it.
    """

    __slots__ = ("key", "values", "_chinese")

    def __new__(cls, key: str, values: dict):
        text = super().__new__(cls, _render(key, "en", values))
        text.key, text.values, text._chinese = key, values, None
        return text

    def __reduce__(self):
        return Text, (self.key, self.values)

    def localize(self, lang: str) -> str:
        if lang != "zh":
            return str.__str__(self)
        if self._chinese is None:  # a calendar shows one customer's lines in many events
            self._chinese = _render(self.key, lang, self.values)
        return self._chinese

    def shown(self, lang: str) -> str:
        """The message for the console, the log or an error: the user's text in its values
        (file names, cells) made :func:`printable`, so it cannot forge lines or colours."""
        return _render(self.key, lang, self.values, printable_values=True)


def msg(key: str, **values) -> Text:
    """The message ``key`` of :mod:`kamrules.messages` with its ``{placeholders}`` filled."""
    return Text(key, values)


def localize(text, lang: str | None):
    """``text`` in ``lang`` if it is a :class:`Text`; anything else unchanged."""
    if isinstance(text, Text) and lang == "zh":
        return text.localize(lang)
    return text


def shown(text, lang: str | None) -> str:
    """``text`` as :meth:`Text.shown` says it if it is a :class:`Text`; anything else unchanged."""
    return text.shown(lang or "en") if isinstance(text, Text) else text


_UNPRINTABLE = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029\ud800-\udfff]")


def printable(text: str) -> str:
    """``text`` with control characters, line separators and undecodable bytes of a file name
    (surrogate escapes) written as escapes: a name with a newline or an ANSI escape sequence
    cannot forge lines in the console or the log."""
    def escape(match: re.Match) -> str:
        code = ord(match.group())
        if 0xDC80 <= code <= 0xDCFF:  # a byte of a file name that is not UTF-8
            return f"\\x{code - 0xDC00:02x}"
        return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"

    return _UNPRINTABLE.sub(escape, text)


class Verbatim(str):
    """Text kamrules composed itself from printable parts (a rendered error, lines and all): put
    into a message as it is."""


def _value(value, lang: str, printable_values: bool):
    if isinstance(value, Text):
        return value.shown(lang) if printable_values else value.localize(lang)
    if printable_values and isinstance(value, str) and not isinstance(value, Verbatim):
        return printable(value)
    return value


def _render(key: str, lang: str, values: dict, printable_values: bool = False) -> str:
    template = _catalogue()[key][CHINESE if lang == "zh" else ENGLISH]
    if not values:
        return template
    return template.format(**{name: _value(value, lang, printable_values) for name, value in values.items()})


@lru_cache(maxsize=1)
def _catalogue() -> dict[str, tuple[str, str]]:
    from .messages import CATALOGUE  # the catalogue's modules import this one

    return CATALOGUE
