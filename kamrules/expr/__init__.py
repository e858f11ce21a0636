"""The expression language every stage shares: parse -> AST -> type check -> compile to Polars.

Computed columns and ``where`` filters in the ledger, aggregates and derived metrics, rule
conditions and decision-table cells are all written in it. It depends on nothing in kamrules
but the words, the errors and the limits, so any stage can use it without importing another.

- :mod:`.parser` — text to :mod:`.ast` nodes (a whitelisted subset of Python syntax)
- :mod:`.unary` — DMN unary tests (decision-table cells)
- :mod:`.typecheck` — static types, so mistakes are found before any data is read
- :mod:`.compiler` — nodes to vectorised Polars expressions
- :mod:`.unparse` — nodes back to readable text
"""
