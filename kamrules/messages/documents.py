"""Messages of documents and calendars (render/ics, render/context, scripts), as ``key: (中文, English)``."""

MESSAGES: dict[str, tuple[str, str]] = {
    # the company's identity (render/pictures.py, rules/documents_config.py)
    "company.logo.kind": ("公司标志必须是 PNG 或 JPEG 图片", "the company logo must be a PNG or JPEG image"),
    "company.logo.too_big": ("公司标志太大（{size:,} 字节，最多 {limit:,} 字节）", "the company logo is too large ({size:,} bytes; at most {limit:,})"),
    "company.logo.unreadable": ("无法读取公司标志：{reason}", "cannot read the company logo: {reason}"),
    "company.logo.hint": ("在 rules/documents.yaml 的 company.logo 中写项目内图片的相对路径，例如 templates/logo.png（PNG 或 JPEG，不超过 2 MB）",
                          "set company.logo in rules/documents.yaml to a picture inside the project, like templates/logo.png "
                          "(PNG or JPEG, at most 2 MB)"),
    "documents.path.project": ("项目文件夹", "the project folder"),
    "company.unfinished": ("rules/documents.yaml 的 company 还没有填写：{keys}；发给客户的文档会缺少这些公司信息",
                           "company in rules/documents.yaml is not filled in yet: {keys}; documents sent to clients will lack them"),
    "company.unfinished.hint": ("填写贵公司的名称、地址、电话、电子邮箱、签署人和标志（logo: 项目内的 PNG 或 JPEG）",
                                "fill in your company's name, address, phone, e-mail, signatory and logo (logo: a PNG or JPEG in the project)"),
    # the audience boundary (rules/rulebook_compiler.py client_fields, pipeline.check, render)
    "documents.client_unknown": ("metrics.client 里的 {name!r} 不是指标或字段", "metrics.client names {name!r}, which is not a metric or field"),
    "documents.client_not_output": ("client 里的 {name!r} 不是决策 {decision} 的输出",
                                    "client names {name!r}, which is not an output of decision {decision}"),
    "documents.internal_field": (
        "发给客户的文档（audience: client）不能显示内部字段 {name}（{where}）",
        "a client document (audience: client) cannot show the internal field {name} ({where})"),
    "documents.internal_field.hint": (
        "从模板中删去它；或者在规则中把它标为客户可见（决策写 client: true，指标列入 metrics.client，客户档案的列写 client: true）；"
        "或者把该文档设为 audience: internal",
        "remove it from the template; or mark it client-visible in the rules (client: true on the decision, "
        "the metric in metrics.client, client: true on the customers column); or make the document audience: internal"),
    # visits.ics and the Reminders sheet: event titles
    "calendar.visit": ("拜访：{name}（{customer_id}）", "Visit: {name} ({customer_id})"),
    "calendar.birthday": ("生日：{contact}（{name}）", "Birthday: {contact} ({name})"),
    "calendar.someone": ("联系人", "Contact"),
    "calendar.renewal_visit": ("合同续签：{name}（{customer_id}）", "Contract renewal: {name} ({customer_id})"),
    "calendar.gift": ("赠送礼品：{name}（{customer_id}）", "Gift: {name} ({customer_id})"),
    "calendar.call": ("电话联系：{name}（{customer_id}）", "Call: {name} ({customer_id})"),
    "calendar.task": ("{task}：{name}（{customer_id}）", "{task}: {name} ({customer_id})"),
    "calendar.festival": ("节日问候：{festival}", "Festival greetings: {festival}"),
    # event details, one line each
    "calendar.customer": ("客户：{name}（{customer_id}）", "Customer: {name} ({customer_id})"),
    "calendar.manager": ("客户经理：{manager}", "Account manager: {manager}"),
    "calendar.contact": ("联系人：{contact}", "Contact: {contact}"),
    "calendar.tier": ("客户等级：{tier}", "Tier: {tier}"),
    "calendar.overdue_days": ("已超过拜访间隔 {days} 天", "{days} days past the visit interval"),
    "calendar.never_visited": ("从未拜访", "Never visited"),
    "calendar.due": ("应于 {date} 起安排（当天已排满或不是工作日）", "Due from {date} (that day was full or not a working day)"),
    "calendar.purpose": ("拜访目的：{purpose}", "Purpose: {purpose}"),
    "calendar.onboarding": ("新大客户首月跟进", "A new key account's first month"),
    "calendar.cancelled": ("此安排已取消", "This task is cancelled"),
    "calendar.birthday_on": ("生日：{date.month}月{date.day}日", "Birthday: {date.name} {date.day}"),
    "calendar.contract_end": ("合同到期日：{date}", "Contract ends: {date}"),
    "calendar.greet_none": ("需问候的客户：无", "Customers to greet: none"),
    "calendar.greet_count": ("需问候的客户（{count}家）：", "Customers to greet ({count}):"),
    "calendar.greet": ("{name}（{customer_id}）", "{name} ({customer_id})"),
    "calendar.greet_manager": ("{name}（{customer_id}，客户经理：{manager}）",
                               "{name} ({customer_id}, account manager: {manager})"),
    # CATEGORIES of each kind of event
    "calendar.kind_visit": ("拜访", "Visit"),
    "calendar.kind_birthday": ("生日", "Birthday"),
    "calendar.kind_renewal": ("合同续签", "Contract renewal"),
    "calendar.kind_festival": ("节日", "Festival"),
    # the calendar's name and description
    "calendar.name": ("客户拜访计划", "Customer visits"),
    "calendar.company_name": ("{company}客户拜访计划", "{company}: customer visits"),
    "calendar.rep_name": ("客户拜访计划（{rep}）", "Customer visits ({rep})"),
    "calendar.rep_company_name": ("{company}客户拜访计划（{rep}）", "{company}: customer visits ({rep})"),
    "calendar.description": ("截至{as_of}的客户拜访与提醒（{as_of}至{end}）",
                             "Customer visits and reminders as of {as_of} ({as_of} to {end})"),
}
