"""Name suggestions ("did you mean") shared by every stage that resolves user-typed names."""

from __future__ import annotations

import difflib
from typing import Iterable


def did_you_mean(name: str, candidates: Iterable[str]) -> str | None:
    """A hint naming the closest candidates, or None when nothing is close."""
    pool = [str(c) for c in candidates]
    lowered = {c.lower(): c for c in pool}
    if name.lower() in lowered:
        return f"did you mean {lowered[name.lower()]!r}?"
    close = difflib.get_close_matches(name, pool, n=3, cutoff=0.6)
    if not close:
        return None
    return "did you mean " + " or ".join(repr(c) for c in close) + "?"
