"""Text cleaning every stage shares: ONE definition of whitespace, and what an XML file can hold.

Whitespace (:data:`WHITESPACE`) is every character Python's ``str.isspace()`` accepts (the
Unicode White_Space property: ordinary, no-break, full-width, em and thin spaces, line and
paragraph separators, …, plus the four C0 separators ``\\x1c``–``\\x1f``), and the invisible
characters a copy from a web page or a CSV export leaves at the edges of a cell: zero-width
space, word joiner, the byte-order mark and the Mongolian vowel separator. A value made only
of these is blank; the ledger trims them from the edges of every text cell
(``kamrules.ledger.coerce.clean_text``) and the renderers (calendar, file names, sheet titles)
decide "blank" with :func:`is_blank`, so a value the ledger kept is never blank to a renderer.

:data:`WHITESPACE_CLASS` is the same set as a regular-expression class that both Python's
``re`` and Polars (Rust ``regex``) read the same way.

XML (:data:`XML_ILLEGAL`, :func:`xml_text`): a workbook cell cannot hold the C0 control
characters other than tab, line feed and carriage return, nor U+FFFE/U+FFFF, and UTF-8 cannot
encode a lone surrogate (Python's stand-in for an undecodable byte of a file name). Every cell
kamrules writes drops the first two and shows the last as U+FFFD.
"""

from __future__ import annotations

import json
import re

_PYTHON_SPACES = ("\t\n\x0b\x0c\r\x1c\x1d\x1e\x1f \x85\xa0\u1680" + "".join(map(chr, range(0x2000, 0x200B)))
                  + "\u2028\u2029\u202f\u205f\u3000")
_INVISIBLE = "\u180e\u200b\u2060\ufeff"

WHITESPACE = _PYTHON_SPACES + _INVISIBLE
"""Every character kamrules treats as whitespace (trimmed at the edges; a value of only these is blank)."""

WHITESPACE_CLASS = "[" + "".join(f"\\u{ord(c):04x}" for c in WHITESPACE) + "]"
""":data:`WHITESPACE` as a regex character class, for ``re`` and for Polars alike."""

XML_ILLEGAL = "[\\x00-\\x08\\x0b\\x0c\\x0e-\\x1f\\ufffe\\uffff]"
"""Characters no XML 1.0 document (so no .xlsx cell) can hold; they are dropped (re and Polars)."""

_XML_ILLEGAL = re.compile(XML_ILLEGAL)
_SURROGATE = re.compile("[\ud800-\udfff]")
_WHITESPACE_RUN = re.compile(WHITESPACE_CLASS + "+")


def strip(text: str) -> str:
    """``text`` without whitespace (:data:`WHITESPACE`) at either end."""
    return text.strip(WHITESPACE)


def is_blank(text: str | None) -> bool:
    """None, empty, or whitespace only."""
    return text is None or not text.strip(WHITESPACE)


def one_line(text: str) -> str:
    """``text`` trimmed, every run of whitespace inside (line breaks included) one ordinary space."""
    return _WHITESPACE_RUN.sub(" ", text).strip(" ")


def xml_text(text: str) -> str:
    """``text`` as an XML text node can hold it: control characters XML forbids and U+FFFE/U+FFFF
    dropped, a lone surrogate (an undecodable byte of a file name) shown as U+FFFD."""
    if text.isprintable():  # the usual case, in C: nothing to clean
        return text
    return _SURROGATE.sub("\ufffd", _XML_ILLEGAL.sub("", text))


def json_text(data, **options) -> str:
    """``json.dumps(data, ensure_ascii=False, **options)``, unless a string holds a lone surrogate
    (a file name that is not UTF-8): then JSON's ``\\u`` escapes, which keep the exact name and
    can be written as UTF-8."""
    text = json.dumps(data, ensure_ascii=False, **options)
    if _SURROGATE.search(text) is None:
        return text
    return json.dumps(data, ensure_ascii=True, **options)
