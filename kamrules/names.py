"""Name suggestions ("did you mean") shared by every stage that resolves user-typed names,
and lists of names joined by "or" / "and" in either language."""

from __future__ import annotations

import difflib
from typing import Callable, Iterable

from .i18n import Text, msg


def did_you_mean(name: str, candidates: Iterable[str]) -> Text | None:
    """A hint naming the closest candidates (those nearly as close as the best), or None."""
    pool = [str(c) for c in candidates]
    lowered = {c.lower(): c for c in pool}
    if name.lower() in lowered:
        return msg("names.did_you_mean", names=repr(lowered[name.lower()]))
    scored = sorted(((difflib.SequenceMatcher(None, name, c).ratio(), c) for c in pool), reverse=True)
    scored = [(score, c) for score, c in scored if score >= 0.6]
    if not scored:
        return None
    best = scored[0][0]
    close = [repr(c) for score, c in scored[:3] if score >= best - 0.05]
    return msg("names.did_you_mean", names=any_of(close))


def any_of(items: Iterable) -> Text | str:
    """``a or b or c`` (one item: itself)."""
    return _joined(list(items), lambda first, second: msg("names.or", first=first, second=second))


def all_of(items: Iterable) -> Text | str:
    """``a and b and c`` (one item: itself)."""
    return _joined(list(items), lambda first, second: msg("names.and", first=first, second=second))


def _joined(items: list, pair: Callable) -> Text | str:
    # Nested in halves, so a long list stays a shallow tree of messages.
    if len(items) <= 1:
        return items[0] if items else ""
    half = len(items) // 2
    return pair(_joined(items[:half], pair), _joined(items[half:], pair))
