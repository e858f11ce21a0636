"""The visit plan: working days, the reps' capacity, and a scheduler that places every due task
(visits, onboarding steps, renewals, greetings) on a working day and a free slot of its rep.

Between ``rules`` (which decides each customer's cadence and first due date) and ``render``
(which writes the calendars, the workbook's 拜访计划 sheet and the documents' visit dates)."""
