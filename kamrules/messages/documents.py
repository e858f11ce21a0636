"""Messages of documents and calendars (render/ics, render/context, scripts), as ``key: (中文, English)``."""

MESSAGES: dict[str, tuple[str, str]] = {
}
