"""Messages about the project, its files and where a problem is, as ``key: (中文, English)``."""

MESSAGES: dict[str, tuple[str, str]] = {
    "located": ("{where}：{message}", "{where}: {message}"),
    "hint": ("建议：{hint}", "hint: {hint}"),
    "where.sheet": ("工作表 {sheet}", "sheet {sheet}"),
    "where.row": ("第 {row} 行", "row {row}"),
    "where.column": ("列 {column}", "column {column}"),
    "where.separator": ("，", ", "),
    "where.expression": ("在 {expression!r} 中", "in {expression!r}"),
    "where.expression_at": ("在 {expression!r} 的第 {position} 个字符处", "in {expression!r} at {position}"),
    "where.in_expression": ("（在 {expression!r} 中）", " (in {expression!r})"),
    "where.rulebook": ("规则", "rulebook"),
    "where.customer": ("{template}（客户 {customer_id}）", "{template} (customer {customer_id})"),
    "project.missing": ("项目文件夹不存在", "project folder does not exist"),
    "rulebook.errors": ("规则有 {count} 处错误", "rulebook has {count} error{s}"),
}
