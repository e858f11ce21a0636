"""Every message kamrules shows a person, in Chinese and English.

One module per pipeline stage, each a ``MESSAGES`` dict of ``key: (中文, English)``. Code
builds messages with :func:`kamrules.i18n.msg` and never formats the words itself, so a
message can be shown in either language long after it was raised (the language is only
known once the CLI has read ``--lang`` and the rulebook's locale). Both texts of a key
must use the same ``{placeholders}``; tests/test_i18n.py checks that, and that every key
the code uses is here and every key here is used.
"""

from __future__ import annotations

from . import cli, documents, ledger, plan, project, render, rules

CATALOGUE: dict[str, tuple[str, str]] = {}
for _module in (cli, documents, ledger, plan, project, render, rules):
    _clash = CATALOGUE.keys() & _module.MESSAGES.keys()
    assert not _clash, f"message keys defined twice: {sorted(_clash)}"
    CATALOGUE.update(_module.MESSAGES)
