"""Messages of the rulebook and metrics (kamrules/rules, kamrules/metrics), as ``key: (中文, English)``."""

MESSAGES: dict[str, tuple[str, str]] = {
}
