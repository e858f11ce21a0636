"""Messages of rendering and running (kamrules/render, pipeline, watch, diff, init), as ``key: (中文, English)``."""

MESSAGES: dict[str, tuple[str, str]] = {
}
