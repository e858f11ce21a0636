"""Messages of rules, as ``key: (中文, English)``."""

MESSAGES: dict[str, tuple[str, str]] = {
}
