"""Messages of ledger, as ``key: (中文, English)``."""

MESSAGES: dict[str, tuple[str, str]] = {
}
