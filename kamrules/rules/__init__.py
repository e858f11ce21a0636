"""Rules stage: the rulebook (every ``rules/*.yaml`` merged and validated, DMN tables
imported), its compilation into decisions, the engines that evaluate them, and the checks,
explanations and rule tests built on them. The expression language is :mod:`kamrules.expr`.
"""

from .decisions import CompiledRulebook
from .engine import DecisionIssue, EvaluationResult, PolarsEngine
from .rulebook_compiler import load_rulebook

__all__ = ["CompiledRulebook", "DecisionIssue", "EvaluationResult", "PolarsEngine", "load_rulebook"]
