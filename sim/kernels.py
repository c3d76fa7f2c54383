r"""Numba kernels: the only place with compiled code. They see arrays and scalars, nothing else.

Random numbers are a pure function of (seed, path index): each path reads its own segment of the
SplitMix64 sequence, starting at a point hashed from the seed and the path index. Paths can then be
cut into blocks, chunks and threads in any way and still draw the same numbers, and every scenario
of a path reuses them (common random numbers).

The model, for latent process :math:`p` on the yearly grid :math:`t = 0..T`:

.. math::

    x_{p,t} - m_{p,t} = \phi_p (x_{p,t-1} - m_{p,t-1}) + \sigma_p v_{p,t} \varepsilon_{p,t},
    \qquad m_{p,t} = \mu_p + \delta_{p,t},

with :math:`\varepsilon_t = L n_t \sqrt{(\nu - 2) / \chi^2_\nu}` (multivariate Student t with
correlation :math:`L L^\top` and unit variances), scenario shifts :math:`\delta` and volatility
multipliers :math:`v`. Each path draws its own :math:`(\mu, \operatorname{atanh}\phi, \log\sigma)`
from the calibration's sampling distribution. Observed years are pinned.
"""

from __future__ import annotations

import math

import numba as nb
import numpy as np

_GAMMA = np.uint64(0x9E3779B97F4A7C15)
_M1 = np.uint64(0xBF58476D1CE4E5B9)
_M2 = np.uint64(0x94D049BB133111EB)
_PATH_MUL = np.uint64(0xD1B54A32D192ED03)
_TO_UNIT = 1.0 / 9007199254740992.0  # 2**-53
GAUSSIAN_DF = 1000.0  # above this, shocks are Gaussian

RATE, LEVEL, SHARE, COUNT, ENTRIES = 0, 1, 2, 3, 4
_COUNT_SALT = np.uint64(0x5DEECE66D)
VALUE, PCT_CHANGE, DIFFERENCE = 0, 1, 2
GE, GT, LE, LT = 0, 1, 2, 3


def compiled_on_disk() -> bool:
    """Whether the simulation kernel has an on-disk cache for this source (numba compiles on first
    use, one to two minutes, and reuses the cache afterwards). Asks numba's own index, which is stamped with
    the source's content: a file touched but not changed keeps its cache."""
    try:
        return bool(simulate._cache._cache_file._load_index())
    except Exception:  # noqa: BLE001 - a private numba API, read for a hint only: if it fails, say nothing
        return True


@nb.njit(cache=True, inline="always")
def _mix(z: np.uint64) -> np.uint64:
    z = (z ^ (z >> np.uint64(30))) * _M1
    z = (z ^ (z >> np.uint64(27))) * _M2
    return z ^ (z >> np.uint64(31))


@nb.njit(cache=True, inline="always")
def path_state(seed: np.uint64, path: np.uint64) -> np.uint64:
    """Start of a path's stream: a hash of (seed, path index)."""
    return _mix(_mix(seed) ^ (path * _PATH_MUL))


@nb.njit(cache=True, inline="always")
def next_uniform(state: np.uint64) -> tuple[float, np.uint64]:
    """A uniform on the open interval (0, 1), and the advanced state. States are passed by value,
    so that the compiler keeps them in a register."""
    state += _GAMMA
    return ((_mix(state) >> np.uint64(11)) + 0.5) * _TO_UNIT, state


def _ziggurat_tables(n: int = 128, r: float = 3.442619855899, v: float = 9.91256303526217e-3
                     ) -> tuple[np.ndarray, np.ndarray]:
    """Layer edges x and ratios x[i+1]/x[i] of the 128-layer normal ziggurat (Doornik 2005)."""
    x = np.zeros(n + 1)
    x[0] = v / np.exp(-0.5 * r * r)
    x[1] = r
    for i in range(2, n):
        x[i] = np.sqrt(-2.0 * np.log(v / x[i - 1] + np.exp(-0.5 * x[i - 1] ** 2)))
    return x, x[1:] / x[:-1]


_ZIG_X, _ZIG_R = _ziggurat_tables()
_ZIG_TAIL = 3.442619855899


@nb.njit(cache=True, inline="always")
def next_normal(state: np.uint64) -> tuple[float, np.uint64]:
    """A standard normal by the ziggurat method (Marsaglia and Tsang 2000, Doornik's ZIGNOR), and
    the advanced state: one 64-bit draw gives the layer (7 bits) and the abscissa (53 bits) most of
    the time."""
    while True:
        state += _GAMMA
        bits = _mix(state)
        layer = np.int64(bits & np.uint64(0x7F))
        u = 2.0 * (((bits >> np.uint64(11)) + 0.5) * _TO_UNIT) - 1.0
        if abs(u) < _ZIG_R[layer]:
            return u * _ZIG_X[layer], state
        if layer == 0:  # the tail beyond R
            while True:
                u1, state = next_uniform(state)
                u2, state = next_uniform(state)
                tx = np.log(u1) / _ZIG_TAIL
                ty = np.log(u2)
                if -2.0 * ty >= tx * tx:
                    return (tx - _ZIG_TAIL if u < 0.0 else _ZIG_TAIL - tx), state
        x = u * _ZIG_X[layer]
        f0 = np.exp(-0.5 * (_ZIG_X[layer] ** 2 - x * x))
        f1 = np.exp(-0.5 * (_ZIG_X[layer + 1] ** 2 - x * x))
        u1, state = next_uniform(state)
        if f1 + u1 * (f0 - f1) < 1.0:
            return x, state


@nb.njit(cache=True, inline="always")
def next_gamma(state: np.uint64, d: float, c: float) -> tuple[float, np.uint64]:
    """Gamma(d + 1/3, 1) for a shape of at least 1, by Marsaglia and Tsang (2000) with their squeeze
    (which spares the logarithms 98% of the time); ``c = 1 / sqrt(9 d)``."""
    while True:
        z, state = next_normal(state)
        v = 1.0 + c * z
        if v <= 0.0:
            continue
        v = v * v * v
        u, state = next_uniform(state)
        z2 = z * z
        if u < 1.0 - 0.0331 * z2 * z2 or np.log(u) < 0.5 * z2 + d - d * v + d * np.log(v):
            return d * v, state


@nb.njit(cache=True)
def next_poisson(state: np.uint64, lam: float) -> tuple[float, np.uint64]:
    """Poisson(lam): multiplication below 10, else PTRS (Hörmann 1993), as numpy does."""
    if lam <= 0.0:
        return 0.0, state
    if lam < 10.0:
        limit = np.exp(-lam)
        k = 0.0
        prod, state = next_uniform(state)
        while prod > limit:
            k += 1.0
            u, state = next_uniform(state)
            prod *= u
        return k, state
    slam = np.sqrt(lam)
    loglam = np.log(lam)
    b = 0.931 + 2.53 * slam
    a = -0.059 + 0.02483 * b
    invalpha = 1.1239 + 1.1328 / (b - 3.4)
    vr = 0.9277 - 3.6224 / (b - 2.0)
    while True:
        u, state = next_uniform(state)
        v, state = next_uniform(state)
        u -= 0.5
        us = 0.5 - abs(u)
        k = np.floor((2.0 * a / us + b) * u + lam + 0.43)
        if us >= 0.07 and v <= vr:
            return k, state
        if k < 0.0 or (us < 0.013 and v > us):
            continue
        log_ratio = np.log(v) + np.log(invalpha) - np.log(a / (us * us) + b)
        if log_ratio <= -lam + k * loglam - math.lgamma(k + 1.0):
            return k, state


@nb.njit(cache=True)
def next_binomial(state: np.uint64, n: float, p: float) -> tuple[float, np.uint64]:
    """Binomial(n, p): inversion when n p < 10, else BTRS (Hörmann 1993); p > 1/2 by symmetry."""
    if n <= 0.0 or p <= 0.0:
        return 0.0, state
    if p >= 1.0:
        return n, state
    flip = p > 0.5
    if flip:
        p = 1.0 - p
    if n * p < 10.0:
        q = 1.0 - p
        s = p / q
        a = (n + 1.0) * s
        r = q**n
        u, state = next_uniform(state)
        k = 0.0
        while u > r:
            u -= r
            k += 1.0
            if k > n:  # rounding left u above the total mass: start again
                u, state = next_uniform(state)
                k = 0.0
                r = q**n
                continue
            r *= a / k - s
        return (n - k if flip else k), state
    spq = np.sqrt(n * p * (1.0 - p))
    b = 1.15 + 2.53 * spq
    a = -0.0873 + 0.0248 * b + 0.01 * p
    c = n * p + 0.5
    vr = 0.92 - 4.2 / b
    alpha = (2.83 + 5.1 / b) * spq
    lpq = np.log(p / (1.0 - p))
    m = np.floor((n + 1.0) * p)
    h = math.lgamma(m + 1.0) + math.lgamma(n - m + 1.0)
    while True:
        u, state = next_uniform(state)
        v, state = next_uniform(state)
        u -= 0.5
        us = 0.5 - abs(u)
        k = np.floor((2.0 * a / us + b) * u + c)
        if k < 0.0 or k > n:
            continue
        if us >= 0.07 and v <= vr:
            return (n - k if flip else k), state
        v = np.log(v * alpha / (a / (us * us) + b))
        if v <= h - math.lgamma(k + 1.0) - math.lgamma(n - k + 1.0) + (k - m) * lpq:
            return (n - k if flip else k), state


@nb.njit(cache=True)
def sample_counts(seed, n, lam, trials, p):
    """n Poisson(lam) and n Binomial(trials, p) draws, one stream per draw (for tests)."""
    pois = np.empty(n)
    binom = np.empty(n)
    for i in range(n):
        state = path_state(np.uint64(seed), np.uint64(i))
        pois[i], state = next_poisson(state, lam)
        binom[i], state = next_binomial(state, trials, p)
    return pois, binom


LANES = 8  # paths simulated side by side (even: antithetic pairs; < 64: lane masks)


@nb.njit(cache=True)
def _t_constants(df):
    """What the Student-t scale of a step needs, computed once per run: Marsaglia-Tsang's d and c
    for Gamma(df / 2), and sqrt((df - 2) / 2); d = 0 for Gaussian shocks (no scale drawn)."""
    if df >= GAUSSIAN_DF:
        return 0.0, 0.0, 1.0
    d = 0.5 * df - 1.0 / 3.0
    return d, 1.0 / np.sqrt(9.0 * d), np.sqrt(0.5 * (df - 2.0))


@nb.njit(cache=True, inline="always")
def _shock_draws(state, t_const, sign, nrm, scale, lane):
    """One path's shock draws into lane ``lane``: ``sign`` times standard normals ``nrm[t, p]`` for
    every step, then the Student-t scales ``scale[t] = sqrt((df - 2) / chi2_df)`` with
    chi2_df = 2 Gamma(df / 2) (1 for Gaussian shocks); ``t_const`` from _t_constants."""
    n_t, n_p = nrm.shape[0], nrm.shape[1]
    for t in range(n_t):
        for p in range(n_p):
            z, state = next_normal(state)
            nrm[t, p, lane] = sign * z
    d, c, k = t_const
    for t in range(n_t):
        if d > 0.0:
            g, state = next_gamma(state, d, c)
            scale[t, lane] = k / np.sqrt(g)
        else:
            scale[t, lane] = 1.0


@nb.njit(cache=True, inline="always")
def _correlate(chol, nrm, scale, eps):
    """Correlated unit-variance shocks of all lanes: ``eps[t, p] = scale[t] (L n_t)[p]``."""
    n_t, n_p = nrm.shape[0], nrm.shape[1]
    for t in range(n_t):
        for p in range(n_p):
            for lane in range(LANES):
                eps[t, p, lane] = 0.0
            for q in range(p + 1):
                c = chol[p, q]
                for lane in range(LANES):
                    eps[t, p, lane] += c * nrm[t, q, lane]
            for lane in range(LANES):
                eps[t, p, lane] *= scale[t, lane]


# how a driver enters an indicator's step (chosen once per run, see _sparse_drivers)
LINEAR, LOG_PCT, MUL_PCT, POW_PCT, EXP_LINEAR = 0, 1, 2, 3, 4


@nb.njit(cache=True)
def _sparse_drivers(ind_kind, drivers, proc_pct):
    """Each indicator's drivers as a list (CSR: ``ptr``, process, coefficient, mode), so the path
    loop touches only the processes that move it. Levels compound multiplicatively: a growth rate in
    % with coefficient 1 multiplies by 1 + x/100, which needs no logarithm or exponential."""
    n_m, n_p = drivers.shape
    ptr = np.zeros(n_m + 1, np.int64)
    proc = np.empty(n_m * n_p, np.int64)
    coef = np.empty(n_m * n_p)
    mode = np.empty(n_m * n_p, np.int64)
    k = 0
    for m in range(n_m):
        for p in range(n_p):
            c = drivers[m, p]
            if c == 0.0:
                continue
            proc[k] = p
            coef[k] = c
            if ind_kind[m] == LEVEL:
                mode[k] = (MUL_PCT if c == 1.0 else POW_PCT) if proc_pct[p] else EXP_LINEAR
            elif ind_kind[m] == SHARE:
                mode[k] = LOG_PCT if proc_pct[p] else LINEAR
            else:
                mode[k] = LINEAR
            k += 1
        ptr[m + 1] = k
    return ptr, proc[:k], coef[:k], mode[:k]


@nb.njit(cache=True, inline="always")
def _ar_params(th0, th1, th2):
    """(mu, phi, sigma, stationary sd) from (mu, atanh phi, log sigma), with one exp for phi and the
    sd: phi = tanh(th1) and 1 / sqrt(1 - phi^2) = cosh(th1)."""
    e = np.exp(min(max(th1, -20.0), 20.0))
    sigma = np.exp(th2)
    return th0, (e * e - 1.0) / (e * e + 1.0), sigma, sigma * 0.5 * (e + 1.0 / e)


@nb.njit(cache=True)
def _sharing(shift, vol, theta_over, pin_b, level_shock, ind_kind, drv_ptr, drv_p):
    """What scenarios have in common, so that each path computes it once. For scenario s:
    ``dev_same[s, p]`` is the first scenario whose deviations from the mean process p shares (they
    differ by mean shifts after the process's pinned years and t = 0 only, so their paths differ by
    the shifts); ``x_same[s, p]`` the first whose path of p is identical; ``ind_same[s, m]`` the
    first whose indicator m is identical (same driver paths and level shocks; counts always draw
    their own). Each is s itself when no earlier scenario qualifies. Also each process's last
    pinned step."""
    n_s, n_p, n_t = shift.shape
    last_pin = np.zeros(n_p, np.int64)  # the start's deviation depends on the mean at t = 0
    for p in range(n_p):
        for t in range(n_t):
            if not np.isnan(pin_b[p, t]):
                last_pin[p] = t
    dev_same = np.empty((n_s, n_p), np.int64)
    x_same = np.empty((n_s, n_p), np.int64)
    for s in range(n_s):
        for p in range(n_p):
            dev_same[s, p] = s
            x_same[s, p] = s
            for r in range(s - 1, -1, -1):  # the first one wins: go backwards
                ok = True
                for k in range(3):
                    u, v = theta_over[s, p, k], theta_over[r, p, k]
                    ok = ok and (u == v or (np.isnan(u) and np.isnan(v)))
                shifted = False
                for t in range(n_t):
                    ok = ok and vol[s, p, t] == vol[r, p, t]
                    ok = ok and (t > last_pin[p] or shift[s, p, t] == shift[r, p, t])
                    shifted = shifted or shift[s, p, t] != shift[r, p, t]
                if ok:
                    dev_same[s, p] = r
                    if not shifted:
                        x_same[s, p] = r
    n_m = ind_kind.size
    ind_same = np.empty((n_s, n_m), np.int64)
    for s in range(n_s):
        for m in range(n_m):
            ind_same[s, m] = s
            if ind_kind[m] == COUNT or ind_kind[m] == ENTRIES:
                continue
            for r in range(s - 1, -1, -1):
                ok = True
                for k in range(drv_ptr[m], drv_ptr[m + 1]):
                    ok = ok and x_same[s, drv_p[k]] == x_same[r, drv_p[k]]
                for t in range(n_t):
                    ok = ok and level_shock[s, m, t] == level_shock[r, m, t]
                if ok:
                    ind_same[s, m] = r
    return dev_same, ind_same, last_pin


@nb.njit(cache=True, parallel=True)
def simulate(seed, path_offset, n_paths, block, antithetic,
             theta_hat, theta_chol, theta_over, shock_chol, df, proc_pct,
             pin_a, pin_b, pin_c, shift, vol, level_shock,
             ind_kind, drivers, ind_link, ind_start, ind_state, ind_fixed,
             tgt_ind, tgt_t, tgt_measure, tgt_base_t, tgt_base_value, tgt_cmp, tgt_threshold,
             n_keep):
    """Simulate ``n_paths`` paths starting at global index ``path_offset`` and reduce as it goes.

    Paths come in sampling units: single paths, or with ``antithetic`` pairs (2k, 2k + 1) that read
    the same stream, the second with every normal negated (the Student-t scales are shared; count
    draws come from each path's own stream), so both are draws of the model and their errors
    partly cancel. ``n_paths`` and
    ``path_offset`` are then even. Returns ``hits[s, j]`` (paths meeting target j under scenario s;
    j = J is all targets at once), ``cross[s, r, j]`` (the sum over units of H_s H_r, H a unit's
    hits, for standard errors), ``kept[s, m, t, i]`` (indicator values of global paths i < n_keep)
    and ``bad[s, m]`` (paths whose indicator m became non-finite).

    Paths go through in groups of LANES: each path draws its numbers alone, then the group's
    scenarios, indicators and targets are computed lane by lane as vectors. Every lane does the
    same arithmetic, so a path's result does not depend on its group (a last group is padded with
    paths that are simulated and not counted).
    """
    n_s, n_p, n_t = shift.shape
    n_m = ind_kind.size
    n_j = tgt_ind.size
    unit = 2 if antithetic else 1
    n_groups = (n_paths + LANES - 1) // LANES
    per_block = max(block // LANES, 1)
    n_blocks = (n_groups + per_block - 1) // per_block
    hits = np.zeros((n_blocks, n_s, n_j + 1), np.int64)
    cross = np.zeros((n_blocks, n_s, n_s, n_j + 1), np.int64)
    n_kept = min(n_paths, max(n_keep - path_offset, 0))
    kept = np.full((n_s, n_m, n_t, n_kept), np.nan)
    bad = np.zeros((n_blocks, n_s, n_m), np.int64)
    seed64 = np.uint64(seed)
    # a process's (mu, phi, sigma, stationary sd) are drawn per path only if they have a sampling error
    uncertain = np.zeros(n_p, np.bool_)
    fixed = np.empty((n_p, 4))
    for p in range(n_p):
        uncertain[p] = np.any(theta_chol[p] != 0.0)
        fixed[p] = _ar_params(theta_hat[p, 0], theta_hat[p, 1], theta_hat[p, 2])
    drv_ptr, drv_p, drv_c, drv_mode = _sparse_drivers(ind_kind, drivers, proc_pct)
    dev_same, ind_same, last_pin = _sharing(shift, vol, theta_over, pin_b, level_shock, ind_kind,
                                            drv_ptr, drv_p)
    partial = np.argwhere(pin_c.T != 0.0)  # (t, p) of partly observed years, in drawing order
    t_const = _t_constants(df)
    start_level = ind_state.copy()
    step_shock = level_shock.copy()  # levels: a factor; rates: points added; shares: points moved
    for m in range(n_m):
        if ind_kind[m] == LEVEL:
            start_level[m] = np.exp(ind_state[m])
            step_shock[:, m, :] = np.exp(level_shock[:, m, :])
    for b in nb.prange(n_blocks):
        cstart = np.empty(LANES, np.uint64)  # where each lane's count stream starts
        cstate = np.empty(LANES, np.uint64)  # and where it is
        mu = np.empty((n_p, LANES))
        phi = np.empty((n_p, LANES))
        sigma = np.empty((n_p, LANES))
        x0 = np.empty((n_p, LANES))
        z_pin = np.zeros((n_t, n_p, LANES))  # zero where a year is not partly observed
        nrm = np.empty((n_t - 1, n_p, LANES))
        scale = np.empty((n_t - 1, LANES))
        eps = np.empty((n_t - 1, n_p, LANES))  # shocks of steps 1..T (step 0 is the start)
        ar = np.empty((4, n_p, LANES))  # a scenario's mean, phi, sigma and current deviation
        x = np.empty((n_s, n_p, n_t, LANES))
        y = np.empty((n_s, n_m, n_t, LANES))
        flow = np.zeros((n_m, n_t, LANES))
        work = np.empty((3, LANES))
        met = np.empty((n_s, n_j + 1, LANES), np.bool_)  # j = n_j: all targets
        nonfinite = np.empty((n_s, n_m, LANES), np.bool_)
        mask = np.zeros((n_s, n_j + 1), np.uint64)
        for g in range(b * per_block, min((b + 1) * per_block, n_groups)):
            for lane in range(LANES):
                i = g * LANES + lane
                sign = 1.0 - 2.0 * (i % unit)
                state = path_state(seed64, np.uint64((path_offset + i) // unit))
                cstart[lane] = path_state(seed64 ^ _COUNT_SALT, np.uint64(path_offset + i))
                # only the numbers a path needs are drawn: parameters with a sampling error, a start
                # for processes not observed at t = 0, the rest of partially observed years
                for p in range(n_p):
                    if uncertain[p]:
                        th0 = theta_hat[p, 0]
                        th1 = theta_hat[p, 1]
                        th2 = theta_hat[p, 2]
                        for q in range(3):
                            z, state = next_normal(state)
                            z *= sign
                            th0 += theta_chol[p, 0, q] * z
                            th1 += theta_chol[p, 1, q] * z
                            th2 += theta_chol[p, 2, q] * z
                        mu[p, lane], phi[p, lane], sigma[p, lane], sd0 = _ar_params(th0, th1, th2)
                    else:
                        mu[p, lane], phi[p, lane], sigma[p, lane] = fixed[p, 0], fixed[p, 1], fixed[p, 2]
                        sd0 = fixed[p, 3]
                    x0[p, lane] = mu[p, lane]
                    if np.isnan(pin_b[p, 0]) or pin_a[p, 0] != 0.0:
                        z, state = next_normal(state)
                        x0[p, lane] += sd0 * sign * z
                for k in range(partial.shape[0]):
                    z, state = next_normal(state)
                    z_pin[partial[k, 0], partial[k, 1], lane] = sign * z
                _shock_draws(state, t_const, sign, nrm, scale, lane)
            _correlate(shock_chol, nrm, scale, eps)
            for s in range(n_s):
                _paths_for_scenario(s, dev_same, last_pin, mu, phi, sigma, theta_over, x0, eps, z_pin,
                                    pin_a, pin_b, pin_c, shift, vol, ar, x)
                _indicators(s, ind_same, x[s], ind_kind, drv_ptr, drv_p, drv_c, drv_mode, ind_link,
                            ind_start, start_level, ind_fixed, y[s], flow, cstart, cstate, step_shock[s],
                            work)
                for m in range(n_m):  # what an earlier scenario computed is copied, not recomputed
                    r = ind_same[s, m]
                    if r == s:  # a sum of y * 0 is 0 if every y is finite, NaN otherwise
                        for lane in range(LANES):
                            work[0, lane] = 0.0
                        for t in range(ind_start[m] + 1, n_t):
                            for lane in range(LANES):
                                work[0, lane] += y[s, m, t, lane] * 0.0
                        for lane in range(LANES):
                            nonfinite[s, m, lane] = work[0, lane] != 0.0
                    else:
                        nonfinite[s, m] = nonfinite[r, m]
                        if path_offset + g * LANES < n_keep:  # only kept paths read it
                            y[s, m] = y[r, m]
                for lane in range(LANES):
                    met[s, n_j, lane] = True
                for j in range(n_j):
                    r = ind_same[s, tgt_ind[j]]
                    if r == s:
                        _targets_met(y[s], tgt_ind[j], tgt_t[j], tgt_measure[j], tgt_base_t[j],
                                     tgt_base_value[j], tgt_cmp[j], tgt_threshold[j], work[0], met[s, j])
                    else:
                        met[s, j] = met[r, j]
                    for lane in range(LANES):
                        met[s, n_j, lane] &= met[s, j, lane]
            # reduce the lanes that are paths of this call, as bit masks (bit = lane)
            n_in = min(LANES, n_paths - g * LANES)
            valid = (np.uint64(1) << np.uint64(n_in)) - np.uint64(1)
            for s in range(n_s):
                for j in range(n_j + 1):
                    mask[s, j] = _lane_mask(met[s, j]) & valid
                    hits[b, s, j] += _popcount(mask[s, j])
                for m in range(n_m):
                    bad[b, s, m] += _popcount(_lane_mask(nonfinite[s, m]) & valid)
            for s in range(n_s):
                for r in range(s, n_s):
                    for j in range(n_j + 1):
                        # sum over units of H_s H_r: pairs add the products across the pair
                        both = mask[s, j] & mask[r, j]
                        if unit == 2:
                            both_across = mask[s, j] & _swap_pairs(mask[r, j])
                            cross[b, s, r, j] += _popcount(both) + _popcount(both_across)
                        else:
                            cross[b, s, r, j] += _popcount(both)
            for lane in range(n_in):
                if path_offset + g * LANES + lane < n_keep:
                    kept[:, :, :, g * LANES + lane] = y[:, :, :, lane]
    total = cross.sum(axis=0)
    for s in range(n_s):
        for r in range(s):
            total[s, r] = total[r, s]
    return hits.sum(axis=0), total, kept, bad.sum(axis=0)


_M55 = np.uint64(0x5555555555555555)
_M33 = np.uint64(0x3333333333333333)
_M0F = np.uint64(0x0F0F0F0F0F0F0F0F)
_M01 = np.uint64(0x0101010101010101)


@nb.njit(cache=True, inline="always")
def _lane_mask(flags):
    """The lanes whose flag is set, as the bits of an integer."""
    mask = np.uint64(0)
    for lane in range(LANES):
        mask |= np.uint64(flags[lane]) << np.uint64(lane)
    return mask


@nb.njit(cache=True, inline="always")
def _popcount(v):
    """Set bits of a 64-bit mask (the SWAR count, which LLVM turns into one instruction)."""
    v = v - ((v >> np.uint64(1)) & _M55)
    v = (v & _M33) + ((v >> np.uint64(2)) & _M33)
    v = (v + (v >> np.uint64(4))) & _M0F
    return np.int64((v * _M01) >> np.uint64(56))


@nb.njit(cache=True, inline="always")
def _swap_pairs(v):
    """Exchange the bits of lanes 2k and 2k + 1 (the two paths of an antithetic pair)."""
    return ((v >> np.uint64(1)) & _M55) | ((v & _M55) << np.uint64(1))


@nb.njit(cache=True, inline="always")
def _paths_for_scenario(s, dev_same, last_pin, mu_d, phi_d, sigma_d, theta_over, x0, eps, z_pin, pin_a, pin_b,
                        pin_c, shift, vol, ar, x):
    """Scenario s's process paths ``x[s, p, t]`` (all lanes), as deviations from the mean (AR(1))
    added to it. A pinned year (pin_b not NaN) is a * (the AR draw) + b + c * z: a full observed
    year has a = c = 0; a year known up to some months keeps part of the draw. A scenario's
    parameter override (not NaN) replaces the path's drawn parameter. Processes whose deviations an
    earlier scenario shares (see _sharing) are that scenario's paths moved by the shifts."""
    n_p, n_t = x.shape[1], x.shape[2]
    for p in range(n_p):
        r = dev_same[s, p]
        if r != s:
            for t in range(n_t):
                moved = shift[s, p, t] - shift[r, p, t]
                for lane in range(LANES):
                    x[s, p, t, lane] = x[r, p, t, lane] + moved
            continue
        over_mu, over_phi, over_sigma = theta_over[s, p, 0], theta_over[s, p, 1], theta_over[s, p, 2]
        for lane in range(LANES):
            ar[0, p, lane] = mu_d[p, lane] if np.isnan(over_mu) else over_mu
            ar[1, p, lane] = phi_d[p, lane] if np.isnan(over_phi) else over_phi
            ar[2, p, lane] = sigma_d[p, lane] if np.isnan(over_sigma) else over_sigma
        a, b, c = pin_a[p, 0], pin_b[p, 0], pin_c[p, 0]
        for lane in range(LANES):
            prev = x0[p, lane]
            if not np.isnan(b):
                prev = a * prev + b + c * z_pin[0, p, lane]
            x[s, p, 0, lane] = prev
            ar[3, p, lane] = prev - (ar[0, p, lane] + shift[s, p, 0])  # the deviation from the mean
        for t in range(1, n_t):
            shifted, v = shift[s, p, t], vol[s, p, t]
            a, b, c = pin_a[p, t], pin_b[p, t], pin_c[p, t]
            if t <= last_pin[p] and not np.isnan(b):
                for lane in range(LANES):
                    mean_t = ar[0, p, lane] + shifted
                    d = ar[1, p, lane] * ar[3, p, lane] + ar[2, p, lane] * v * eps[t - 1, p, lane]
                    d = a * (mean_t + d) + b + c * z_pin[t, p, lane] - mean_t
                    x[s, p, t, lane] = mean_t + d
                    ar[3, p, lane] = d
            else:
                for lane in range(LANES):
                    mean_t = ar[0, p, lane] + shifted
                    d = ar[1, p, lane] * ar[3, p, lane] + ar[2, p, lane] * v * eps[t - 1, p, lane]
                    x[s, p, t, lane] = mean_t + d
                    ar[3, p, lane] = d


@nb.njit(cache=True, inline="always")
def _indicators(s, ind_same, x, ind_kind, drv_ptr, drv_p, drv_c, drv_mode, ind_link, ind_start, start_level,
                ind_fixed, y, flow, cstart, cstate, shock, work):
    """Scenario s's indicator values ``y[m, t]`` (all lanes) from its process paths ``x[p, t]``,
    except those an earlier scenario computed; observed years stay fixed. A level compounds by a
    product of factors (a growth below -100% makes it NaN, reported as non-finite), a share on the
    logit scale, a rate is the sum of its drivers. Counts draw from each lane's count stream,
    restarted at ``cstart`` for every scenario (so scenarios draw the same numbers)."""
    n_t = x.shape[1]
    level = work[1]
    factor = work[2]
    for lane in range(LANES):
        cstate[lane] = cstart[lane]
    for m in range(ind_kind.size):
        kind = ind_kind[m]
        if ind_same[s, m] != s:
            continue
        first = ind_start[m] + 1
        for t in range(min(first, n_t)):
            for lane in range(LANES):
                y[m, t, lane] = ind_fixed[m, t]
        lo, hi = drv_ptr[m], drv_ptr[m + 1]
        for lane in range(LANES):
            level[lane] = start_level[m]
        if kind == RATE:
            for t in range(first, n_t):
                for lane in range(LANES):
                    y[m, t, lane] = 0.0
                for k in range(lo, hi):
                    p, c = drv_p[k], drv_c[k]
                    for lane in range(LANES):
                        y[m, t, lane] += c * x[p, t, lane]
                for lane in range(LANES):
                    y[m, t, lane] += shock[m, t]
        elif kind == LEVEL:
            for t in range(first, n_t):
                for lane in range(LANES):
                    factor[lane] = shock[m, t]
                for k in range(lo, hi):
                    p, c = drv_p[k], drv_c[k]
                    if drv_mode[k] == MUL_PCT:
                        for lane in range(LANES):
                            f = 1.0 + x[p, t, lane] * 0.01
                            factor[lane] *= f if f >= 0.0 else np.nan
                    elif drv_mode[k] == POW_PCT:
                        for lane in range(LANES):
                            factor[lane] *= np.exp(c * np.log1p(x[p, t, lane] / 100.0))
                    else:
                        for lane in range(LANES):
                            factor[lane] *= np.exp(c * x[p, t, lane])
                for lane in range(LANES):
                    level[lane] *= factor[lane]
                    y[m, t, lane] = level[lane]
        elif kind == SHARE:
            for t in range(first, n_t):
                for lane in range(LANES):
                    factor[lane] = 0.0  # the step of the logit
                for k in range(lo, hi):
                    p, c = drv_p[k], drv_c[k]
                    if drv_mode[k] == LOG_PCT:
                        for lane in range(LANES):
                            factor[lane] += c * np.log1p(x[p, t, lane] / 100.0)
                    else:
                        for lane in range(LANES):
                            factor[lane] += c * x[p, t, lane]
                moved = shock[m, t]
                for lane in range(LANES):
                    level[lane] += factor[lane]
                    share = 100.0 / (1.0 + np.exp(-level[lane]))
                    if moved != 0.0:
                        share = min(max(share + moved, 1e-9), 100.0 - 1e-9)
                        level[lane] = np.log(share / (100.0 - share))
                    y[m, t, lane] = share
        elif kind == COUNT:
            for lane in range(LANES):
                stock = level[lane]
                cs = cstate[lane]
                for t in range(first, n_t):
                    entry_rate = max(x[ind_link[m, 0], t, lane], 0.0) / 100.0
                    entries, cs = next_poisson(cs, stock * entry_rate)
                    exits = 0.0
                    if ind_link[m, 1] >= 0:
                        exit_rate = min(max(x[ind_link[m, 1], t, lane], 0.0) / 100.0, 1.0)
                        exits, cs = next_binomial(cs, stock, exit_rate)
                    stock += entries - exits
                    y[m, t, lane] = stock
                    flow[m, t, lane] = entries
                cstate[lane] = cs
    for m in range(ind_kind.size):
        if ind_kind[m] == ENTRIES:  # second pass: needs its stock's entries
            stock = ind_link[m, 0]
            for t in range(n_t):
                for lane in range(LANES):
                    y[m, t, lane] = ind_fixed[m, t] if t <= ind_start[stock] else flow[stock, t, lane]


@nb.njit(cache=True, inline="always")
def _targets_met(y, m, t, measure, base_t, base_value, cmp, threshold, value, met):
    """Whether each lane meets one target: ``met[lane]`` (``value`` is scratch)."""
    for lane in range(LANES):
        value[lane] = y[m, t, lane]
    if measure != VALUE:
        for lane in range(LANES):
            base = base_value if base_t < 0 else y[m, base_t, lane]
            value[lane] = (value[lane] / base - 1.0) * 100.0 if measure == PCT_CHANGE else value[lane] - base
    if cmp == GE:
        for lane in range(LANES):
            met[lane] = value[lane] >= threshold
    elif cmp == GT:
        for lane in range(LANES):
            met[lane] = value[lane] > threshold
    elif cmp == LE:
        for lane in range(LANES):
            met[lane] = value[lane] <= threshold
    else:
        for lane in range(LANES):
            met[lane] = value[lane] < threshold


@nb.njit(cache=True, parallel=True)
def sample_shocks(seed, n_paths, n_t, chol, df):
    """The shocks ``simulate`` would feed path i, without the rest (for tests and benchmarks):
    an array (n_paths, n_t, n_p) drawn from each path's own stream."""
    n_p = chol.shape[0]
    out = np.empty((n_paths, n_t, n_p))
    seed64 = np.uint64(seed)
    n_groups = (n_paths + LANES - 1) // LANES
    per_block = 512
    t_const = _t_constants(df)
    for b in nb.prange((n_groups + per_block - 1) // per_block):
        nrm = np.empty((n_t, n_p, LANES))
        scale = np.empty((n_t, LANES))
        eps = np.empty((n_t, n_p, LANES))
        for g in range(b * per_block, min((b + 1) * per_block, n_groups)):
            for lane in range(LANES):
                _shock_draws(path_state(seed64, np.uint64(g * LANES + lane)), t_const, 1.0, nrm, scale, lane)
            _correlate(chol, nrm, scale, eps)
            for lane in range(min(LANES, n_paths - g * LANES)):
                out[g * LANES + lane] = eps[:, :, lane]
    return out
