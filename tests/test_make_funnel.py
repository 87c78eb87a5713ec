"""make_funnel: a funnel whose rates and probabilities are what it says."""

import numpy as np
import pytest

from sklearn_mmoe.datasets import make_funnel


@pytest.mark.parametrize("click_rate, conversion_rate", [(0.2, 0.1), (0.6, 0.5)])
def test_the_rates_are_those_asked(click_rate, conversion_rate):
    X, Y, P = make_funnel(
        n_samples=40_000,
        click_rate=click_rate,
        conversion_rate=conversion_rate,
        probabilities=True,
        random_state=0,
    )
    np.testing.assert_allclose(P.mean(), [click_rate, conversion_rate], rtol=1e-9)
    # the draws: within 5 standard errors of their probabilities
    clicks = Y["click"].to_numpy()
    assert abs(clicks.mean() - click_rate) < 5 * np.sqrt(0.25 / len(Y))
    converted = Y["purchase"][clicks].mean()
    expected = np.average(P["conversion"][clicks])
    assert abs(converted - expected) < 5 * np.sqrt(0.25 / clicks.sum())


def test_a_purchase_needs_a_click():
    _, Y = make_funnel(n_samples=5000, conversion_rate=0.9, random_state=1)
    assert not (Y["purchase"] & ~Y["click"]).any()
    assert Y["purchase"].any()


@pytest.mark.parametrize("correlation", [-0.5, 0.0, 0.8])
def test_correlation_sets_how_the_two_probabilities_move_together(correlation):
    X, _, P = make_funnel(
        n_samples=20_000, correlation=correlation, probabilities=True, random_state=2
    )
    logit = np.log(P / (1 - P))
    # both logits are linear in X: their correlation is the directions' cosine
    r = np.corrcoef(logit["click"], logit["conversion"])[0, 1]
    assert abs(r - correlation) < 0.03


def test_a_seed_repeats_the_funnel():
    a, b = make_funnel(n_samples=100, random_state=3), make_funnel(100, random_state=3)
    np.testing.assert_array_equal(a[0], b[0])
    assert a[1].equals(b[1])


def test_bad_parameters_are_refused_by_name():
    with pytest.raises(ValueError, match="click_rate"):
        make_funnel(click_rate=1.0)
    with pytest.raises(ValueError, match="n_features"):
        make_funnel(n_features=1)
