"""Messages of reading the ledger (kamrules/ledger, limits, yamlio), as ``key: (中文, English)``."""

MESSAGES: dict[str, tuple[str, str]] = {
}
