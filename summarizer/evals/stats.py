"""Means with percentile-bootstrap 95 % confidence intervals, plain and paired (numpy only, seeded)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from pydantic import BaseModel

DEFAULT_RESAMPLES = 2000
DEFAULT_SEED = 0


class Estimate(BaseModel):
    """A mean over ``n`` values with its 95 % bootstrap interval (None when there is nothing to average)."""

    n: int
    mean: float | None
    ci_low: float | None
    ci_high: float | None

    def fmt(self, digits: int = 3) -> str:
        if self.mean is None or self.ci_low is None or self.ci_high is None:
            return "–"
        return f"{self.mean:.{digits}f} [{self.ci_low:.{digits}f}, {self.ci_high:.{digits}f}]"


def bootstrap_mean(values: Sequence[float], *, resamples: int = DEFAULT_RESAMPLES, seed: int = DEFAULT_SEED,
                   confidence: float = 0.95) -> Estimate:
    """The mean of ``values`` and a percentile bootstrap interval. One value gives a zero-width interval."""
    data = np.asarray(list(values), dtype=np.float64)
    if data.size == 0:
        return Estimate(n=0, mean=None, ci_low=None, ci_high=None)
    mean = float(data.mean())
    if data.size == 1 or np.all(data == data[0]):
        return Estimate(n=int(data.size), mean=mean, ci_low=mean, ci_high=mean)
    rng = np.random.default_rng(seed)
    idx = rng.integers(0, data.size, size=(resamples, data.size))
    means = data[idx].mean(axis=1)
    alpha = (1 - confidence) / 2
    low, high = np.quantile(means, [alpha, 1 - alpha])
    return Estimate(n=int(data.size), mean=mean, ci_low=float(low), ci_high=float(high))


def paired_difference(a: Sequence[float], b: Sequence[float], *, resamples: int = DEFAULT_RESAMPLES,
                      seed: int = DEFAULT_SEED) -> Estimate:
    """Mean of ``b - a`` over paired values, with a bootstrap interval that resamples the pairs."""
    if len(a) != len(b):
        raise ValueError("paired values must have the same length")
    return bootstrap_mean([y - x for x, y in zip(a, b, strict=True)], resamples=resamples, seed=seed)
