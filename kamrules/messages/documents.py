"""Messages of documents and calendars (render/ics, render/context, scripts), as ``key: (中文, English)``."""

MESSAGES: dict[str, tuple[str, str]] = {
    # visits.ics and the Reminders sheet: event titles
    "calendar.visit": ("拜访：{name}（{customer_id}）", "Visit: {name} ({customer_id})"),
    "calendar.birthday": ("生日：{contact}（{name}）", "Birthday: {contact} ({name})"),
    "calendar.someone": ("联系人", "Contact"),
    "calendar.renewal": ("合同到期：{name}", "Contract renewal: {name}"),
    "calendar.festival": ("节日问候：{festival}", "Festival greetings: {festival}"),
    # event details, one line each
    "calendar.customer": ("客户：{name}（{customer_id}）", "Customer: {name} ({customer_id})"),
    "calendar.manager": ("客户经理：{manager}", "Account manager: {manager}"),
    "calendar.contact": ("联系人：{contact}", "Contact: {contact}"),
    "calendar.tier": ("客户等级：{tier}", "Tier: {tier}"),
    "calendar.overdue": ("原定拜访日期：{date}（已逾期）", "Planned visit date: {date} (overdue)"),
    "calendar.birthday_on": ("生日：{date.month}月{date.day}日", "Birthday: {date.name} {date.day}"),
    "calendar.contract_end": ("合同到期日：{date}", "Contract ends: {date}"),
    "calendar.greet_none": ("需问候的重点客户：无", "Key accounts to greet: none"),
    "calendar.greet_count": ("需问候的重点客户（{count}家）：", "Key accounts to greet ({count}):"),
    "calendar.greet": ("{name}（{customer_id}）", "{name} ({customer_id})"),
    "calendar.greet_manager": ("{name}（{customer_id}，客户经理：{manager}）",
                               "{name} ({customer_id}, account manager: {manager})"),
    # CATEGORIES of each kind of event
    "calendar.kind_visit": ("拜访", "Visit"),
    "calendar.kind_birthday": ("生日", "Birthday"),
    "calendar.kind_renewal": ("合同到期", "Contract renewal"),
    "calendar.kind_festival": ("节日", "Festival"),
    # the calendar's name and description
    "calendar.name": ("客户拜访计划", "Customer visits"),
    "calendar.company_name": ("{company}客户拜访计划", "{company}: customer visits"),
    "calendar.description": ("截至{as_of}的客户拜访与提醒（{as_of}至{end}）",
                             "Customer visits and reminders as of {as_of} ({as_of} to {end})"),
}
