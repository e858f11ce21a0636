"""Rules stage: rulebook loading and validation, the expression language, the engine."""

from .decisions import CompiledRulebook, load_rulebook
from .engine import DecisionIssue, EvaluationResult, PolarsEngine

__all__ = ["CompiledRulebook", "load_rulebook", "DecisionIssue", "EvaluationResult", "PolarsEngine"]
