"""Parameter importances computed once per report.

The HTML and PNG reports draw the same importance plot; fitting fANOVA's forest
is the slowest step of a report, so both share one evaluator that remembers
its answer.
"""

from __future__ import annotations

from typing import Any

import optuna
from optuna.importance import BaseImportanceEvaluator, FanovaImportanceEvaluator


class OnceEvaluator(BaseImportanceEvaluator):
    """Wraps an importance evaluator; each (study, params, target) is evaluated once."""

    def __init__(self, inner: BaseImportanceEvaluator) -> None:
        self.inner = inner
        self._cache: dict[Any, dict[str, float]] = {}

    def evaluate(
        self,
        study: optuna.Study,
        params: list[str] | None = None,
        *,
        target: Any = None,
    ) -> dict[str, float]:
        key = (id(study), tuple(params) if params else None, target)
        if key not in self._cache:
            self._cache[key] = self.inner.evaluate(study, params=params, target=target)
        return dict(self._cache[key])


def fanova_once(*, max_depth: int, seed: int) -> OnceEvaluator:
    """Optuna's fANOVA evaluator (64 trees of at most ``max_depth``), evaluated once."""
    return OnceEvaluator(FanovaImportanceEvaluator(max_depth=max_depth, seed=seed))
