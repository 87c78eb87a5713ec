"""make_multitask_regression: the paper's generator of correlated tasks."""

import numpy as np
import pytest

from sklearn_mmoe.datasets import make_multitask_regression


@pytest.mark.parametrize("p", [-0.3, 0.0, 0.5, 0.9, 1.0])
def test_every_task_has_cosine_p_with_the_first(p):
    _, _, W = make_multitask_regression(
        n_samples=10, n_tasks=4, correlation=p, scale=2.0, coef=True, random_state=0
    )
    norms = np.linalg.norm(W, axis=0)
    np.testing.assert_allclose(norms, 2.0)
    cos = W[:, 0] @ W[:, 1:] / (norms[0] * norms[1:])
    np.testing.assert_allclose(cos, p, atol=1e-12)


def test_label_correlation_grows_with_task_correlation():
    def label_corr(p):
        _, Y = make_multitask_regression(
            n_samples=20_000, correlation=p, random_state=1
        )
        return np.corrcoef(Y.T)[0, 1]

    corrs = [label_corr(p) for p in (0.0, 0.5, 0.9, 1.0)]
    assert corrs == sorted(corrs)
    assert abs(corrs[0]) < 0.05 and corrs[-1] > 0.99


def test_targets_follow_the_formula():
    X, Y, W = make_multitask_regression(
        n_samples=50, n_sines=3, noise=0.0, coef=True, random_state=2
    )
    z = X @ W
    expected = z + sum(np.sin(i * z + i**2) for i in (1, 2, 3))
    np.testing.assert_allclose(Y, expected)


def test_a_seed_repeats_the_data():
    a = make_multitask_regression(n_samples=20, random_state=3)
    b = make_multitask_regression(n_samples=20, random_state=3)
    np.testing.assert_array_equal(a[1], b[1])


def test_more_tasks_than_features_are_refused():
    with pytest.raises(ValueError, match="n_features >= n_tasks"):
        make_multitask_regression(n_features=2, n_tasks=3)
    with pytest.raises(ValueError, match="correlation"):
        make_multitask_regression(correlation=1.5)
