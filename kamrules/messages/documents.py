"""Messages of documents and calendars (render/ics, render/context, scripts), as ``key: (中文, English)``."""

MESSAGES: dict[str, tuple[str, str]] = {
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
