"""The shocks: Student t with unit variance, the correlation asked for, one stream per path."""

import numpy as np
from scipy import stats

from sim import kernels

N = 200_000


def _chol(rho):
    return np.linalg.cholesky(np.array([[1.0, rho], [rho, 1.0]]))


def test_t_shocks_have_unit_variance_and_a_t_law():
    df = 8.0
    eps = kernels.sample_shocks(11, N, 1, np.eye(1), df)[:, 0, 0]
    # Var(e^2) = E e^4 - 1 with E e^4 = 3 (df - 2) / (df - 4) for a unit-variance t
    se_var = np.sqrt((3 * (df - 2) / (df - 4) - 1) / N)
    assert abs(eps.var() - 1) < 4 * se_var
    assert abs(eps.mean()) < 4 / np.sqrt(N)
    assert stats.kstest(eps * np.sqrt(df / (df - 2)), stats.t(df).cdf).pvalue > 1e-3


def test_gaussian_shocks_are_standard_normal():
    eps = kernels.sample_shocks(12, N, 1, np.eye(1), 1e9)[:, 0, 0]
    assert stats.kstest(eps, stats.norm.cdf).pvalue > 1e-3


def test_ziggurat_tails_have_the_normal_frequency():
    n = 4_000_000
    eps = kernels.sample_shocks(17, n, 1, np.eye(1), 1e9)[:, 0, 0]
    for k in (2.0, 3.0, 3.442619855899, 4.0):  # 3.44...: the ziggurat's base layer edge
        p = 2 * stats.norm.sf(k)
        assert abs(np.mean(np.abs(eps) > k) - p) < 4 * np.sqrt(p * (1 - p) / n), k


def test_correlation_is_reproduced():
    rho = 0.6
    for df, kappa in ((1e9, 0.0), (8.0, 2 / (8.0 - 4))):
        eps = kernels.sample_shocks(13, N, 1, _chol(rho), df)[:, 0, :]
        r = np.corrcoef(eps.T)[0, 1]
        # asymptotic sd of a sample correlation under an elliptical law with kurtosis parameter kappa
        se = np.sqrt(1 + kappa) * (1 - rho**2) / np.sqrt(N)
        assert abs(r - rho) < 4 * se, (df, r)


def test_shocks_are_independent_over_time_and_paths():
    eps = kernels.sample_shocks(14, N, 2, np.eye(1), 1e9)[:, :, 0]
    assert abs(np.corrcoef(eps[:, 0], eps[:, 1])[0, 1]) < 4 / np.sqrt(N)
    assert abs(np.corrcoef(eps[:-1, 0], eps[1:, 0])[0, 1]) < 4 / np.sqrt(N)


def test_a_path_draws_the_same_numbers_whatever_else_is_drawn():
    a = kernels.sample_shocks(15, 1000, 3, np.eye(2), 6.0)
    b = kernels.sample_shocks(15, 10, 3, np.eye(2), 6.0)
    np.testing.assert_array_equal(a[:10], b)
    assert not np.array_equal(kernels.sample_shocks(16, 10, 3, np.eye(2), 6.0), b)
