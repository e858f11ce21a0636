"""Messages of the visit plan (kamrules/plan/, rules/plan_config.py)."""

MESSAGES = {
    # rules/plan_config.py
    "plan.time_unquoted": (
        "{setting} 必须是加引号的时间，例如 \"{hours:02d}:{minutes:02d}\"（不加引号时 YAML 会把 {hours}:{minutes:02d} 读成数字 {value}）",
        "{setting} must be a time in quotes, like \"{hours:02d}:{minutes:02d}\" "
        "(YAML reads an unquoted {hours}:{minutes:02d} as the number {value})"),
    "plan.time": ("{setting} 必须是 00:00 到 23:59 之间的时间 HH:MM，例如 \"09:00\"；实际为 {value!r}",
                  "{setting} must be a time HH:MM between 00:00 and 23:59, like \"09:00\"; got {value!r}"),
    "plan.weekday": ("{value!r} 不是星期几；请写 {days} 之一（或 周一…周日）",
                     "{value!r} is not a day of the week; write one of {days} (or Monday…Sunday)"),
    "plan.week": ("working_days.week 必须列出至少一个工作日，例如 [mon, tue, wed, thu, fri]",
                  "working_days.week must list at least one working day, like [mon, tue, wed, thu, fri]"),
    "plan.range_backwards": ("日期范围 {first} 到 {last} 的结束早于开始", "the range {first} to {last} ends before it starts"),
    "plan.range_long": ("日期范围 {first} 到 {last} 超过十年", "the range {first} to {last} is longer than ten years"),
    "plan.date": ("{value!r} 不是日期；请写成 YYYY-MM-DD，例如 2027-02-08", "{value!r} is not a date; write YYYY-MM-DD, like 2027-02-08"),
    "plan.date_with_time": ("日期不要带时间：{value}", "a date without a time, please: {value}"),
    "plan.lunch": ("reps.lunch 必须写成 \"HH:MM-HH:MM\"（开始早于结束），例如 \"12:00-13:30\"；实际为 {value!r}",
                   "reps.lunch must be \"HH:MM-HH:MM\" (start before end), like \"12:00-13:30\"; got {value!r}"),
    "plan.hours": ("下班时间 {end} 不晚于上班时间 {start}", "the working day ends ({end}) before it starts ({start})"),
    "plan.unknown_field": ("{setting} 写的 {name!r} 不是客户字段", "{setting} names {name!r}, which is not a field of the customers"),
    # plan/planner.py, plan/scheduler.py
    "plan.holidays_unknown": (
        "chinesecalendar 还没有 {years} 年的放假和调休安排：这些日期按每周工作日和法定节日当天安排（不含调休），"
        "请在国务院发布通知后升级 chinesecalendar",
        "chinesecalendar does not know the holiday arrangements of {years} yet: those dates follow the working "
        "week less the statutory holidays themselves (without the 调休 swaps); upgrade chinesecalendar once the "
        "State Council publishes them"),
    "plan.rep_value": ("客户经理表：{rep} 的 {column} 无法使用（{value!r}），按规则中的默认值安排",
                       "reps sheet: {rep}'s {column} cannot be used ({value!r}); the default in the rules applies"),
    "plan.rep_hours": ("客户经理表：{rep} 的下班时间不晚于上班时间，按规则中的默认工作时间安排",
                       "reps sheet: {rep}'s working day ends before it starts; the default hours apply"),
    "plan.unplaced.full": ("{rep} 到 {end} 为止的拜访容量已满", "{rep} has no free slot up to {end}"),
    "plan.unplaced.no_working_day": ("到 {end} 为止没有工作日", "no working day up to {end}"),
    "plan.unplaced.too_long": ("任务需要 {minutes} 分钟，超过 {start}–{end} 的工作时间",
                               "the task takes {minutes} minutes, longer than the working hours {start}–{end}"),
    "run.unplaced": ("{count:,} 项拜访/任务在 {end} 前无法安排（客户经理的容量已满或没有工作日），见工作簿“未能安排”表",
                     "{count:,} visits or tasks could not be scheduled by {end} (the rep's capacity is full, or there is "
                     "no working day): see the Unscheduled sheet of the workbook"),
    "run.unplaced.hint": ("提高 reps.visits_per_day、在客户经理表中调整个人容量，或延长 calendar.horizon_days",
                          "raise reps.visits_per_day, adjust a rep's capacity in the reps sheet, or lengthen "
                          "calendar.horizon_days"),
    "plan.unassigned": ("未分配客户经理", "no account manager"),
    "plan.task.visit": ("拜访", "Visit"),
    "plan.task.gift": ("赠送礼品", "Gift"),
    "plan.task.call": ("电话联系", "Call"),
    "plan.task.renewal": ("合同续签拜访", "Contract renewal visit"),
    "plan.task.birthday": ("生日问候", "Birthday greetings"),
}
