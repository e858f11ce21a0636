"""Rules stage: rulebook loading and validation, the expression language, the engine.

Exports are resolved lazily so that other stages can use the expression compiler
(``kamrules.rules.compiler``) without importing the whole stage (and its imports of them).
"""

from importlib import import_module

_EXPORTS = {
    "CompiledRulebook": "decisions", "load_rulebook": "decisions",
    "DecisionIssue": "engine", "EvaluationResult": "engine", "PolarsEngine": "engine",
}

__all__ = list(_EXPORTS)


def __getattr__(name: str):
    if name in _EXPORTS:
        return getattr(import_module(f".{_EXPORTS[name]}", __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
