"""Name suggestions ("did you mean") shared by every stage that resolves user-typed names."""

from __future__ import annotations

import difflib
from typing import Iterable


def did_you_mean(name: str, candidates: Iterable[str]) -> str | None:
    """A hint naming the closest candidates (those nearly as close as the best), or None."""
    pool = [str(c) for c in candidates]
    lowered = {c.lower(): c for c in pool}
    if name.lower() in lowered:
        return f"did you mean {lowered[name.lower()]!r}?"
    scored = sorted(((difflib.SequenceMatcher(None, name, c).ratio(), c) for c in pool), reverse=True)
    scored = [(score, c) for score, c in scored if score >= 0.6]
    if not scored:
        return None
    best = scored[0][0]
    close = [c for score, c in scored[:3] if score >= best - 0.05]
    return "did you mean " + " or ".join(repr(c) for c in close) + "?"
