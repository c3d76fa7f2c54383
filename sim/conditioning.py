r"""Conditioning a year on its year-to-date actual ("1—11月增长7.6%").

Model of one year's months. The monthly year-on-year growth rates are
:math:`g_k = \mu + d_k` for :math:`k = 1..12`: a level :math:`\mu` for the year plus within-year
deviations :math:`d_k \sim N(0, s^2)`, independent. The year's growth is (to first order, months of
equal weight) the mean :math:`G = \tfrac1{12}\sum_k g_k`, and the year-to-date figure after
:math:`m` months is :math:`Q = \tfrac1m \sum_{k \le m} g_k`.

Before the year, the AR(1) says :math:`\mu \sim N(f, v)` (the path's own draw,
:math:`x = f + \sqrt v\,\varepsilon`). Observing :math:`Q` (a noisy view of :math:`\mu` with
variance :math:`s^2/m`) updates it to

.. math::

    \mu \mid Q \sim N\big((1-k) f + k Q,\; (1-k) v\big), \qquad k = \frac{v}{v + s^2/m}.

The year is then :math:`G = \tfrac{m}{12} Q + \tfrac{12-m}{12}\big(\mu + \bar d_{\text{rest}}\big)`
with :math:`\bar d_{\text{rest}} \sim N(0, s^2/(12-m))`. Drawing :math:`\mu \mid Q` as
:math:`(1-k)x + kQ + \sqrt{k(1-k)v}\,z_1` keeps the path's own draw :math:`x` (common random numbers,
correlation with the other processes) and gives

.. math::

    G = a x + b + c z, \quad a = w(1-k), \quad b = Q\,(1 - w + wk), \quad
    c = w \sqrt{k(1-k)v + s^2/(12-m)}, \quad w = \tfrac{12-m}{12},

with :math:`z \sim N(0,1)` independent. At :math:`m = 12`, :math:`a = c = 0` and :math:`G = Q`.
``tests/test_conditioning.py`` checks this against a simulation of monthly data.
"""

from __future__ import annotations

import math


def partial_year(ytd: float, months: int, prior_var: float, within_sd: float) -> tuple[float, float, float]:
    """(a, b, c) such that the year's growth is a * (the path's AR draw) + b + c * z.

    ytd: the year-to-date growth after ``months`` months; prior_var: the AR(1) step's variance
    (sigma^2); within_sd: the sd of a month's growth around the year's level.
    """
    if not 1 <= months <= 12:
        raise ValueError(f"months must be 1..12, got {months}")
    if months == 12:
        return 0.0, ytd, 0.0
    w = (12 - months) / 12
    k = prior_var / (prior_var + within_sd**2 / months)
    a = w * (1 - k)
    b = ytd * (1 - w + w * k)
    c = w * math.sqrt(k * (1 - k) * prior_var + within_sd**2 / (12 - months))
    return a, b, c
