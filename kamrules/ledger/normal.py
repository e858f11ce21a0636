"""How headers (and sheet names) are compared: see :mod:`kamrules.ledger.headers`."""

from __future__ import annotations

import re
import unicodedata

_CAMEL = re.compile(r"(?<=[a-z])(?=[A-Z])")
_ID_WORD = re.compile(r"(?<![a-z0-9])(?:id|no|nr|num|number|#|№)(?![a-z0-9])\.?")
_HASH_AFTER_HAN = re.compile(r"(?<=[\u3400-\u9fff])\s*[#№]+")
_IGNORED = re.compile(r"[\s*_\-.:：;,/\\|#'\"`·、，。；]+")
_BRACKETS = re.compile(r"[()\[\]{}【】〔〕<>《》]")
_UNIT = re.compile(r"[(\[【〔][^()\[\]【】〔〕]*[)\]】〕]\s*$")


def _canonical(text: object) -> str:
    value = unicodedata.normalize("NFKC", str(text)).strip()
    value = _HASH_AFTER_HAN.sub("", value)
    value = _CAMEL.sub(" ", value).lower()
    return _ID_WORD.sub(" id ", value)


def _squeeze(text: str) -> str:
    return _IGNORED.sub("", _BRACKETS.sub("", text))


def normalise(text: object) -> str:
    """The form headers are compared in: ``Customer No.`` → ``customerid``."""
    return _squeeze(_canonical(text))


def header_keys(text: object) -> list[str]:
    """The header's normalised form, then (if it has one) the form without a trailing unit."""
    canonical = _canonical(text)
    key = _squeeze(canonical)
    bare = _squeeze(_UNIT.sub("", canonical))
    return [key] if bare == key or not bare else [key, bare]


def word_tokens(text: object) -> set[str]:
    """The Latin words of a header, three letters or more (``InvoiceDate`` → invoice, date)."""
    return {w for w in re.split(r"[^a-z0-9]+", _canonical(text)) if len(w) >= 3 and w.isalpha()}
