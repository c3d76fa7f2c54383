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
from typing import NamedTuple

import numba as nb
import numpy as np

from sim.kinds import COUNT, ENTRIES, INCREMENT, LEVEL, RATE, RATIO, SHARE
from sim.targets import GE, GT, LE, PCT_CHANGE

_GAMMA = np.uint64(0x9E3779B97F4A7C15)
_M1 = np.uint64(0xBF58476D1CE4E5B9)
_M2 = np.uint64(0x94D049BB133111EB)
_PATH_MUL = np.uint64(0xD1B54A32D192ED03)
_TO_UNIT = 1.0 / 9007199254740992.0  # 2**-53
GAUSSIAN_DF = 1000.0  # above this, shocks are Gaussian

_COUNT_SALT = np.uint64(0x5DEECE66D)


def compiled_on_disk() -> bool:
    """Whether the simulation kernel has an on-disk cache for this source (numba compiles on first
    use, about 15 seconds, and reuses the cache afterwards). Asks numba's own index, which is stamped
    with the source's content: a file touched but not changed keeps its cache."""
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


class Processes(NamedTuple):
    """The latent processes of a run, on its grid of steps t = 0..T (n_p processes)."""

    theta_hat: np.ndarray  # (n_p, 3): (mu, atanh phi, log sigma)
    theta_chol: np.ndarray  # (n_p, 3, 3): Cholesky factor of their sampling covariance
    uncertain: np.ndarray  # (n_p,) bool: parameters drawn per path (else ``fixed``)
    fixed: np.ndarray  # (n_p, 4): (mu, phi, sigma, stationary sd) of a process without sampling error
    shock_chol: np.ndarray  # (n_p, n_p): Cholesky factor of the shocks' correlation
    t_const: np.ndarray  # (n_g, 3): Student-t constants (d, c, k) of t_constants, by degrees of freedom
    t_group: np.ndarray  # (n_p,) int: each process's row of t_const (processes sharing one share a scale)
    pin_a: np.ndarray  # (n_p, n_t): an observed step is a * (the AR draw) + b + c * z; b NaN: free
    pin_b: np.ndarray
    pin_c: np.ndarray
    partial: np.ndarray  # (k, 2) int: (t, p) of partly observed steps, in drawing order
    last_pin: np.ndarray  # (n_p,) int: each process's last pinned step (0 if none)


class Scenarios(NamedTuple):
    """What each scenario changes, and what it shares with earlier ones (n_s scenarios)."""

    shift: np.ndarray  # (n_s, n_p, n_t): added to the process's mean
    vol: np.ndarray  # (n_s, n_p, n_t): multiplies its shock sd
    theta_over: np.ndarray  # (n_s, n_p, 3): fixed (mu, phi, sigma); NaN: the path's own draw
    shock: np.ndarray  # (n_s, n_m, n_t): one-off shocks: a factor for levels, points otherwise
    dev_same: np.ndarray  # (n_s, n_p) int: first scenario whose deviations of process p it shares
    ind_same: np.ndarray  # (n_s, n_m) int: first scenario whose indicator m it shares
    copy: np.ndarray  # (n_s, n_m) bool: a shared indicator another one of this scenario is built on


class Indicators(NamedTuple):
    """How each indicator is built (n_m indicators, operands before the indicators built on them)."""

    kind: np.ndarray  # (n_m,) int: sim.kinds codes
    drv_ptr: np.ndarray  # (n_m + 1,): indicator m's drivers are drv_*[drv_ptr[m]:drv_ptr[m + 1]]
    drv_p: np.ndarray  # process
    drv_c: np.ndarray  # coefficient
    drv_mode: np.ndarray  # LINEAR, LOG_PCT, MUL_PCT, POW_PCT or EXP_LINEAR
    operand: np.ndarray  # (n_m, 2) int: the indicators it is built from (-1: none)
    link: np.ndarray  # (n_m, 2) int: a count's entry and exit processes (-1: none)
    start: np.ndarray  # (n_m,) int: the step of its last observation
    start_level: np.ndarray  # (n_m,): the state there: a level, a share's logit, a stock, a ratio
    fixed: np.ndarray  # (n_m, n_t): observed values (NaN elsewhere)


class Targets(NamedTuple):
    """The targets (n_j): sim.targets' measure and comparator codes."""

    ind: np.ndarray
    t: np.ndarray
    measure: np.ndarray
    base_t: np.ndarray  # -1: the base is ``base_value``, observed before the grid
    base_value: np.ndarray
    cmp: np.ndarray
    threshold: np.ndarray


def t_constants(df: float) -> np.ndarray:
    """What the Student-t scale of a step needs: Marsaglia-Tsang's d and c for Gamma(df / 2), and
    sqrt((df - 2) / 2); d = 0 for Gaussian shocks (no scale drawn)."""
    if df >= GAUSSIAN_DF:
        return np.array([0.0, 0.0, 1.0])
    d = 0.5 * df - 1.0 / 3.0
    return np.array([d, 1.0 / np.sqrt(9.0 * d), np.sqrt(0.5 * (df - 2.0))])


@nb.njit(cache=True, inline="always")
def _shock_draws(state, t_const, sign, nrm, scale, lane):
    """One path's shock draws into lane ``lane``: ``sign`` times standard normals ``nrm[t, p]`` for
    every step, then the Student-t scales of each group of processes with the same degrees of
    freedom, ``scale[t, g] = sqrt((df_g - 2) / chi2)`` with chi2 = 2 Gamma(df_g / 2) (1 for Gaussian
    shocks)."""
    n_t, n_p = nrm.shape[0], nrm.shape[1]
    for t in range(n_t):
        for p in range(n_p):
            z, state = next_normal(state)
            nrm[t, p, lane] = sign * z
    for t in range(n_t):
        for g in range(t_const.shape[0]):
            d = t_const[g, 0]
            if d > 0.0:
                gam, state = next_gamma(state, d, t_const[g, 1])
                scale[t, g, lane] = t_const[g, 2] / np.sqrt(gam)
            else:
                scale[t, g, lane] = 1.0


@nb.njit(cache=True, inline="always")
def _correlate(chol, t_group, nrm, scale, eps):
    """Correlated unit-variance shocks of all lanes: ``eps[t, p] = scale[t, g(p)] (L n_t)[p]``:
    multivariate t within a group of processes with the same degrees of freedom; across groups the
    correlation of the normals times E[scale_g] E[scale_h]."""
    n_t, n_p = nrm.shape[0], nrm.shape[1]
    for t in range(n_t):
        for p in range(n_p):
            for lane in range(LANES):
                eps[t, p, lane] = 0.0
            for q in range(p + 1):
                c = chol[p, q]
                for lane in range(LANES):
                    eps[t, p, lane] += c * nrm[t, q, lane]
            g = t_group[p]
            for lane in range(LANES):
                eps[t, p, lane] *= scale[t, g, lane]


# how a driver enters an indicator's step (sim.plan chooses it once per run)
LINEAR, LOG_PCT, MUL_PCT, POW_PCT, EXP_LINEAR = 0, 1, 2, 3, 4
# Far tails stay numbers: a drawn sigma within exp(±50), a level, a year's factor and a ratio within
# [TINY, HUGE], an exponent within ±EXP_BOUND. No path of any plausible model comes near (a level
# would have to grow 10^300-fold); without them a one-in-10^9 draw of fat-tailed shocks times an
# extreme parameter draw could make inf − inf or 0 × inf, a NaN that stops the run.
TINY, HUGE, EXP_BOUND, LOG_SIGMA_BOUND = 1e-300, 1e300, 690.0, 50.0


@nb.njit(cache=True, inline="always")
def ar_params(th0, th1, th2):
    """(mu, phi, sigma, stationary sd) from (mu, atanh phi, log sigma), with one exp for phi and the
    sd: phi = tanh(th1) and 1 / sqrt(1 - phi^2) = cosh(th1)."""
    e = np.exp(min(max(th1, -20.0), 20.0))
    sigma = np.exp(min(max(th2, -LOG_SIGMA_BOUND), LOG_SIGMA_BOUND))
    return th0, (e * e - 1.0) / (e * e + 1.0), sigma, sigma * 0.5 * (e + 1.0 / e)


@nb.njit(cache=True, inline="always")
def _path_draws(state, sign, proc, mu, phi, sigma, x0, z_pin, nrm, scale, lane):
    """Everything one path draws, into lane ``lane``: parameters with a sampling error, a start for
    processes not observed at t = 0, the rest of partly observed steps, then the shocks."""
    for p in range(proc.theta_hat.shape[0]):
        if proc.uncertain[p]:
            th0 = proc.theta_hat[p, 0]
            th1 = proc.theta_hat[p, 1]
            th2 = proc.theta_hat[p, 2]
            for q in range(3):
                z, state = next_normal(state)
                z *= sign
                th0 += proc.theta_chol[p, 0, q] * z
                th1 += proc.theta_chol[p, 1, q] * z
                th2 += proc.theta_chol[p, 2, q] * z
            mu[p, lane], phi[p, lane], sigma[p, lane], sd0 = ar_params(th0, th1, th2)
        else:
            mu[p, lane], phi[p, lane], sigma[p, lane] = proc.fixed[p, 0], proc.fixed[p, 1], proc.fixed[p, 2]
            sd0 = proc.fixed[p, 3]
        x0[p, lane] = mu[p, lane]
        if np.isnan(proc.pin_b[p, 0]) or proc.pin_a[p, 0] != 0.0:
            z, state = next_normal(state)
            x0[p, lane] += sd0 * sign * z
    for k in range(proc.partial.shape[0]):
        z, state = next_normal(state)
        z_pin[proc.partial[k, 0], proc.partial[k, 1], lane] = sign * z
    _shock_draws(state, proc.t_const, sign, nrm, scale, lane)


@nb.njit(cache=True, nogil=True)
def simulate(seed, path_offset, n_paths, antithetic, n_keep, proc, scen, ind, tgt):
    """Simulate ``n_paths`` paths starting at global index ``path_offset`` and reduce as it goes.

    Paths come in sampling units: single paths, or with ``antithetic`` pairs (2k, 2k + 1) that read
    the same stream, the second with every normal negated (the Student-t scales are shared; count
    draws come from each path's own stream), so both are draws of the model and their errors
    partly cancel; ``n_paths`` and ``path_offset`` are then even. Returns ``hits[s, j]`` (paths
    meeting target j under scenario s; j = J is all targets at once), ``cross[s, r, j]`` (the sum
    over units of H_s H_r, H a unit's hits, for standard errors), ``kept[s, m, t, i]`` (indicator
    values of global paths i < n_keep) and ``bad[s, m]`` (paths whose indicator m became
    non-finite).

    Paths go through in groups of LANES: each path draws its numbers alone, then the group's
    scenarios, indicators and targets are computed lane by lane as vectors. Every lane does the
    same arithmetic, so a path's result does not depend on its group (a last group is padded with
    paths that are simulated and not counted). The GIL is released: callers run disjoint ranges of
    paths on threads and add the counts.
    """
    n_s, n_p, n_t = scen.shift.shape
    n_m = ind.kind.size
    n_j = tgt.ind.size
    unit = 2 if antithetic else 1
    n_groups = (n_paths + LANES - 1) // LANES
    hits = np.zeros((n_s, n_j + 1), np.int64)
    cross = np.zeros((n_s, n_s, n_j + 1), np.int64)
    n_kept = min(n_paths, max(n_keep - path_offset, 0))
    kept = np.full((n_s, n_m, n_t, n_kept), np.nan)
    bad = np.zeros((n_s, n_m), np.int64)
    seed64 = np.uint64(seed)
    cstart = np.empty(LANES, np.uint64)  # where each lane's count stream starts
    cstate = np.empty(LANES, np.uint64)  # and where it is
    mu = np.empty((n_p, LANES))
    phi = np.empty((n_p, LANES))
    sigma = np.empty((n_p, LANES))
    x0 = np.empty((n_p, LANES))
    z_pin = np.zeros((n_t, n_p, LANES))  # zero where a step is not partly observed
    nrm = np.empty((n_t - 1, n_p, LANES))
    scale = np.empty((n_t - 1, proc.t_const.shape[0], LANES))
    eps = np.empty((n_t - 1, n_p, LANES))  # shocks of steps 1..T (step 0 is the start)
    ar = np.empty((4, n_p, LANES))  # a scenario's mean, phi, sigma and current deviation
    x = np.empty((n_s, n_p, n_t, LANES))
    y = np.empty((n_s, n_m, n_t, LANES))
    flow = np.zeros((n_m, n_t, LANES))
    work = np.empty((3, LANES))
    met = np.empty((n_s, n_j + 1, LANES), np.bool_)  # j = n_j: all targets
    nonfinite = np.empty((n_s, n_m, LANES), np.bool_)
    mask = np.zeros((n_s, n_j + 1), np.uint64)
    for g in range(n_groups):
        for lane in range(LANES):
            i = g * LANES + lane
            sign = 1.0 - 2.0 * (i % unit)
            state = path_state(seed64, np.uint64((path_offset + i) // unit))
            cstart[lane] = path_state(seed64 ^ _COUNT_SALT, np.uint64(path_offset + i))
            _path_draws(state, sign, proc, mu, phi, sigma, x0, z_pin, nrm, scale, lane)
        _correlate(proc.shock_chol, proc.t_group, nrm, scale, eps)
        for s in range(n_s):
            _processes(s, proc, scen, mu, phi, sigma, x0, eps, z_pin, ar, x)
            _indicators(s, scen, ind, x[s], y, flow, cstart, cstate, work)
            for m in range(n_m):  # what an earlier scenario computed is copied, not recomputed
                r = scen.ind_same[s, m]
                if r == s:  # a sum of y * 0 is 0 if every y is finite, NaN otherwise
                    for lane in range(LANES):
                        work[0, lane] = 0.0
                    for t in range(ind.start[m] + 1, n_t):
                        for lane in range(LANES):
                            work[0, lane] += y[s, m, t, lane] * 0.0
                    for lane in range(LANES):
                        nonfinite[s, m, lane] = work[0, lane] != 0.0
                else:
                    for lane in range(LANES):
                        nonfinite[s, m, lane] = nonfinite[r, m, lane]
                    if path_offset + g * LANES < n_keep and not scen.copy[s, m]:  # only kept paths read it
                        _copy_rows(y[r, m], y[s, m])
            for lane in range(LANES):
                met[s, n_j, lane] = True
            for j in range(n_j):
                r = scen.ind_same[s, tgt.ind[j]]
                if r == s:
                    _target_met(y[s], tgt.ind[j], tgt.t[j], tgt.measure[j], tgt.base_t[j],
                                tgt.base_value[j], tgt.cmp[j], tgt.threshold[j], work[0], met[s, j])
                else:
                    for lane in range(LANES):
                        met[s, j, lane] = met[r, j, lane]
                for lane in range(LANES):
                    met[s, n_j, lane] &= met[s, j, lane]
        # reduce the lanes that are paths of this call, as bit masks (bit = lane)
        n_in = min(LANES, n_paths - g * LANES)
        valid = (np.uint64(1) << np.uint64(n_in)) - np.uint64(1)
        for s in range(n_s):
            for j in range(n_j + 1):
                mask[s, j] = _lane_mask(met[s, j]) & valid
                hits[s, j] += _popcount(mask[s, j])
            for m in range(n_m):
                bad[s, m] += _popcount(_lane_mask(nonfinite[s, m]) & valid)
        for s in range(n_s):
            for r in range(s, n_s):
                for j in range(n_j + 1):
                    # sum over units of H_s H_r: pairs add the products across the pair
                    both = mask[s, j] & mask[r, j]
                    if unit == 2:
                        both_across = mask[s, j] & _swap_pairs(mask[r, j])
                        cross[s, r, j] += _popcount(both) + _popcount(both_across)
                    else:
                        cross[s, r, j] += _popcount(both)
        for lane in range(n_in):
            i = g * LANES + lane
            if path_offset + i < n_keep:
                for s in range(n_s):
                    for m in range(n_m):
                        for t in range(n_t):
                            kept[s, m, t, i] = y[s, m, t, lane]
    for s in range(n_s):
        for r in range(s):
            for j in range(n_j + 1):
                cross[s, r, j] = cross[r, s, j]
    return hits, cross, kept, bad


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
def _copy_rows(src, dst):
    """dst[t, lane] = src[t, lane] (loops: a slice assignment would compile its shape checks)."""
    for t in range(src.shape[0]):
        for lane in range(LANES):
            dst[t, lane] = src[t, lane]


@nb.njit(cache=True)
def _processes(s, proc, scen, mu_d, phi_d, sigma_d, x0, eps, z_pin, ar, x):
    """Scenario s's process paths ``x[s, p, t]`` (all lanes), as deviations from the mean (AR(1))
    added to it. A pinned step (pin_b not NaN) is a * (the AR draw) + b + c * z: a full observed
    year has a = c = 0; a year known up to some months keeps part of the draw. A scenario's
    parameter override (not NaN) replaces the path's drawn parameter. Processes whose deviations an
    earlier scenario shares are that scenario's paths moved by the shifts."""
    n_p, n_t = x.shape[1], x.shape[2]
    shift, vol = scen.shift, scen.vol
    for p in range(n_p):
        r = scen.dev_same[s, p]
        if r != s:
            for t in range(n_t):
                moved = shift[s, p, t] - shift[r, p, t]
                for lane in range(LANES):
                    x[s, p, t, lane] = x[r, p, t, lane] + moved
            continue
        over = scen.theta_over[s, p]
        over_mu, over_phi, over_sigma = over[0], over[1], over[2]
        for lane in range(LANES):
            ar[0, p, lane] = mu_d[p, lane] if np.isnan(over_mu) else over_mu
            ar[1, p, lane] = phi_d[p, lane] if np.isnan(over_phi) else over_phi
            ar[2, p, lane] = sigma_d[p, lane] if np.isnan(over_sigma) else over_sigma
        a, b, c = proc.pin_a[p, 0], proc.pin_b[p, 0], proc.pin_c[p, 0]
        for lane in range(LANES):
            prev = x0[p, lane]
            if not np.isnan(b):
                prev = a * prev + b + c * z_pin[0, p, lane]
            x[s, p, 0, lane] = prev
            ar[3, p, lane] = prev - (ar[0, p, lane] + shift[s, p, 0])  # the deviation from the mean
        for t in range(1, n_t):
            shifted, v = shift[s, p, t], vol[s, p, t]
            a, b, c = proc.pin_a[p, t], proc.pin_b[p, t], proc.pin_c[p, t]
            if t <= proc.last_pin[p] and not np.isnan(b):
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
def _indicators(s, scen, ind, x, y_all, flow, cstart, cstate, work):
    """Scenario s's indicator values ``y[m, t]`` (all lanes) from its process paths ``x[p, t]``,
    in order (operands first), except those an earlier scenario computed; observed years stay
    fixed. The one switch on the kind (sim.kinds):

    - rate: the sum of its drivers (+ a shock in points);
    - level: compounds by a product of factors; a level stays positive (it cannot fall by all of
      it) and finite (``_bounded``);
    - share: its logit moves by its drivers; a shock moves the share by points;
    - count: last year's stock + Poisson(stock x entry rate) − Binomial(stock, exit rate), drawn
      from each lane's count stream, restarted at ``cstart`` for every scenario (so scenarios draw
      the same numbers); entries: the entries of its stock;
    - increment: the year's change of its operand (a flow from a stock);
    - ratio: its last observed value times the ratio of its two operands' growth since then.
    """
    y = y_all[s]
    n_t = x.shape[1]
    level = work[1]
    factor = work[2]
    shock = scen.shock[s]
    for lane in range(LANES):
        cstate[lane] = cstart[lane]
    for m in range(ind.kind.size):
        kind = ind.kind[m]
        r = scen.ind_same[s, m]
        if r != s:
            if scen.copy[s, m]:
                _copy_rows(y_all[r, m], y[m])
            continue
        first = ind.start[m] + 1
        for t in range(min(first, n_t)):
            for lane in range(LANES):
                y[m, t, lane] = ind.fixed[m, t]
        lo, hi = ind.drv_ptr[m], ind.drv_ptr[m + 1]
        for lane in range(LANES):
            level[lane] = ind.start_level[m]
        if kind == RATE:
            for t in range(first, n_t):
                for lane in range(LANES):
                    y[m, t, lane] = 0.0
                for k in range(lo, hi):
                    p, c = ind.drv_p[k], ind.drv_c[k]
                    for lane in range(LANES):
                        y[m, t, lane] += c * x[p, t, lane]
                for lane in range(LANES):
                    y[m, t, lane] += shock[m, t]
        elif kind == LEVEL:
            for t in range(first, n_t):
                for lane in range(LANES):
                    factor[lane] = shock[m, t]
                for k in range(lo, hi):
                    p, c, mode = ind.drv_p[k], ind.drv_c[k], ind.drv_mode[k]
                    if mode == MUL_PCT:
                        for lane in range(LANES):
                            factor[lane] = _bounded(factor[lane] * (1.0 + x[p, t, lane] * 0.01))
                    elif mode == POW_PCT:
                        for lane in range(LANES):
                            step = c * np.log1p(max(x[p, t, lane] / 100.0, -1.0))
                            step = min(max(step, -EXP_BOUND), EXP_BOUND)
                            factor[lane] = _bounded(factor[lane] * np.exp(step))
                    else:
                        for lane in range(LANES):
                            step = min(max(c * x[p, t, lane], -EXP_BOUND), EXP_BOUND)
                            factor[lane] = _bounded(factor[lane] * np.exp(step))
                for lane in range(LANES):
                    level[lane] = _bounded(level[lane] * factor[lane])
                    y[m, t, lane] = level[lane]
        elif kind == SHARE:
            for t in range(first, n_t):
                for lane in range(LANES):
                    factor[lane] = 0.0  # the step of the logit
                for k in range(lo, hi):
                    p, c = ind.drv_p[k], ind.drv_c[k]
                    if ind.drv_mode[k] == LOG_PCT:
                        for lane in range(LANES):
                            factor[lane] += c * np.log1p(max(x[p, t, lane] / 100.0, -1.0 + 1e-12))
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
                    entry_rate = max(x[ind.link[m, 0], t, lane], 0.0) / 100.0
                    entries, cs = next_poisson(cs, stock * entry_rate)
                    exits = 0.0
                    if ind.link[m, 1] >= 0:
                        exit_rate = min(max(x[ind.link[m, 1], t, lane], 0.0) / 100.0, 1.0)
                        exits, cs = next_binomial(cs, stock, exit_rate)
                    stock += entries - exits
                    y[m, t, lane] = stock
                    flow[m, t, lane] = entries
                cstate[lane] = cs
        elif kind == ENTRIES:
            stock = ind.operand[m, 0]
            for t in range(first, n_t):
                for lane in range(LANES):
                    y[m, t, lane] = ind.fixed[m, t] if t <= ind.start[stock] else flow[stock, t, lane]
        elif kind == INCREMENT:
            stock = ind.operand[m, 0]
            for t in range(first, n_t):
                for lane in range(LANES):
                    y[m, t, lane] = y[stock, t, lane] - y[stock, t - 1, lane]
        elif kind == RATIO:
            num, den, st = ind.operand[m, 0], ind.operand[m, 1], ind.start[m]
            for lane in range(LANES):
                level[lane] = _bounded(level[lane] * _bounded(y[den, st, lane] / y[num, st, lane]))
            for t in range(first, n_t):
                for lane in range(LANES):
                    y[m, t, lane] = _bounded(level[lane] * _bounded(y[num, t, lane] / y[den, t, lane]))


@nb.njit(cache=True, inline="always")
def _bounded(v):
    """A positive quantity within [TINY, HUGE] (NaN, from a NaN input, stays NaN to be reported)."""
    return min(max(v, TINY), HUGE) if v == v else v


@nb.njit(cache=True, inline="always")
def _target_met(y, m, t, measure, base_t, base_value, cmp, threshold, value, met):
    """Whether each lane meets one target: ``met[lane]`` (``value`` is scratch); sim.targets'
    measure_of and met say the same in NumPy."""
    for lane in range(LANES):
        value[lane] = y[m, t, lane]
    if measure != 0:
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


@nb.njit(cache=True, nogil=True)
def _sample_shocks(seed, n_paths, n_t, chol, t_const, t_group):
    n_p = chol.shape[0]
    out = np.empty((n_paths, n_t, n_p))
    seed64 = np.uint64(seed)
    nrm = np.empty((n_t, n_p, LANES))
    scale = np.empty((n_t, t_const.shape[0], LANES))
    eps = np.empty((n_t, n_p, LANES))
    for g in range((n_paths + LANES - 1) // LANES):
        for lane in range(LANES):
            _shock_draws(path_state(seed64, np.uint64(g * LANES + lane)), t_const, 1.0, nrm, scale, lane)
        _correlate(chol, t_group, nrm, scale, eps)
        for lane in range(min(LANES, n_paths - g * LANES)):
            for t in range(n_t):
                for p in range(n_p):
                    out[g * LANES + lane, t, p] = eps[t, p, lane]
    return out


def sample_shocks(seed: int, n_paths: int, n_t: int, chol: np.ndarray, df: float | np.ndarray) -> np.ndarray:
    """The shocks ``simulate`` would feed path i, without the rest (for tests and benchmarks):
    an array (n_paths, n_t, n_p) drawn from each path's own stream; ``df`` one for all processes
    or one per process."""
    chol = np.ascontiguousarray(chol, dtype=np.float64)
    t_const, t_group = t_groups(np.broadcast_to(np.asarray(df, dtype=np.float64), (chol.shape[0],)))
    return _sample_shocks(seed, n_paths, n_t, chol, t_const, t_group)


def t_groups(dfs: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Student-t constants by distinct degrees of freedom (in order of first appearance), and each
    process's group: processes with the same degrees of freedom share their scale draws."""
    distinct = list(dict.fromkeys(float(d) for d in dfs))
    return (np.array([t_constants(d) for d in distinct]).reshape(len(distinct), 3),
            np.array([distinct.index(float(d)) for d in dfs], dtype=np.int64))
