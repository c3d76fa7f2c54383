r"""Targets a government delivers by decision: the probability its class of past targets gives.

Events held, projects started, designations awarded have no growth law: whether "新培育10家省级
制造业创新中心" is met is decided, not drawn. Their probability comes from the record of earlier
targets of the same class (``calibration/ledger/outcomes.csv``): in class k, :math:`m_k` of
:math:`n_k` were met. Each class's rate is Beta-distributed around a common one,
:math:`p_k \sim \mathrm{Beta}(\mu\kappa, (1-\mu)\kappa)`, with :math:`(\mu, \kappa)` maximising the
beta-binomial likelihood of all classes (scipy); a class's probability is its posterior mean
:math:`(\mu\kappa + m_k)/(\kappa + n_k)` and its uncertainty the posterior sd. A class with no record
takes :math:`\mu`. Only outcomes published by the run's date count.

Governments publish successes more readily than misses, so these rates are upper bounds of what a
complete record would say; every such probability says so.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import optimize, special

from sim.targets import CLASSES, NOT_SIMULATED

KAPPA_BOUNDS = (1.0, 1000.0)  # prior strength: from a loose common rate to complete pooling


@dataclass(frozen=True)
class ClassRate:
    """The posterior of one class's rate of met targets."""

    target_class: str
    n: int
    met: int
    probability: float
    sd: float


def class_rates(outcomes: pd.DataFrame, as_of: dt.date | None = None) -> dict[str, ClassRate]:
    """Every class's posterior rate from the outcomes known by ``as_of``."""
    known = outcomes[outcomes["met"].notna()]
    if as_of is not None:
        known = known[known["outcome_published"].map(lambda d: d is not None and d <= as_of)]
    counts = {c: (int((known["kind"] == c).sum()), int(known.loc[known["kind"] == c, "met"].sum()))
              for c in CLASSES}
    seen = [(n, m) for n, m in counts.values() if n]
    if not seen:
        return {}
    n_arr, m_arr = np.array([n for n, _ in seen]), np.array([m for _, m in seen])

    def nll(theta: np.ndarray) -> float:
        mu, kappa = 1 / (1 + math.exp(-theta[0])), math.exp(theta[1])
        a, b = mu * kappa, (1 - mu) * kappa  # the beta-binomial log-likelihood without its binomial
        return -float(np.sum(special.betaln(m_arr + a, n_arr - m_arr + b) - special.betaln(a, b)))

    pooled = (m_arr.sum() + 0.5) / (n_arr.sum() + 1.0)
    res = optimize.minimize(nll, [math.log(pooled / (1 - pooled)), math.log(10.0)], method="L-BFGS-B",
                            bounds=[(-10, 10), tuple(math.log(b) for b in KAPPA_BOUNDS)])
    mu, kappa = 1 / (1 + math.exp(-res.x[0])), math.exp(res.x[1])
    out = {}
    for c, (n, m) in counts.items():
        a, b = mu * kappa + m, (1 - mu) * kappa + n - m
        out[c] = ClassRate(c, n, m, a / (a + b), math.sqrt(a * b / ((a + b) ** 2 * (a + b + 1))))
    return out


def classify(name_zh: str, clause: str) -> str | None:
    """The class a target's wording puts it in (the first whose words it contains), or None."""
    text = f"{name_zh} {clause}"
    for name, cls in CLASSES.items():
        if re.search(cls.words, text):
            return name
    return None


def not_simulated(name_zh: str) -> str | None:
    """Why no probability fits a target of this wording (several quantities, part of a year …)."""
    for words, reason in NOT_SIMULATED.items():
        if re.search(words, name_zh):
            return reason
    return None
