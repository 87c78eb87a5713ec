"""n_cv: a cross-fitted ensemble, one network per fold of the training rows, each
stopped early on its own fold, predicting together in each task's units."""

import numpy as np
import pytest
from _helpers import (
    AROUND_EXPERTS,
    BRIEF,
    FUNNEL,
    FUNNEL_KINDS,
    MIXED_KINDS,
    STOPPING,
    mixed_frame,
    recommender_funnel,
    two_regression_tasks,
)
from numpy.testing import assert_allclose, assert_array_equal
from sklearn.exceptions import ConvergenceWarning

from sklearn_mmoe import MMoEClassifier, MMoEMultiTask, MMoERegressor, load, save
from sklearn_mmoe._estimators import inference
from sklearn_mmoe._inputs.validation import validate_X
from sklearn_mmoe._network.crossfit import CrossFitModule

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")

# each member stopped on its own fold within 12 epochs
FOLDED = dict(**STOPPING, max_epochs=12, n_iter_no_change=3)


def _regression(n=240, seed=0):
    """A learnable task and one of pure noise."""
    return two_regression_tasks(n, seed, n_features=4, noise=0.3, second="noise")


def _member_outputs(model, X, method):
    """Each member's ``method`` output of every task, alone (shrunk by its own
    factors): members x tasks."""
    module = model.net_.module_
    members = []
    for k in range(len(module.members)):
        raw = inference.torch_results(
            model, validate_X(model, X), "outputs", module.member_run(k)
        )
        members.append(inference.outputs_of(model, raw, method))
    return members


def test_a_single_network_by_default_keeps_no_cross_fitted_record():
    X, Y = _regression()
    model = MMoERegressor(**FOLDED).fit(X, Y)
    assert model.n_cv == 1 and model.n_cv_ == 1
    assert not isinstance(model.net_.module_, CrossFitModule)
    for name in ("cv_n_iter_", "cv_validation_scores_", "oof_prediction_"):
        assert not hasattr(model, name)


def test_each_member_trains_on_the_other_folds_and_stops_on_its_own():
    X, Y = _regression()
    model = MMoERegressor(**FOLDED, n_cv=3).fit(X, Y)
    module = model.net_.module_
    assert isinstance(module, CrossFitModule) and len(module.members) == 3
    assert model.n_cv_ == 3
    assert model.cv_n_iter_.shape == (3,) and (model.cv_n_iter_ >= 1).all()
    assert model.cv_validation_scores_.shape == (3,)
    # the first member's record is the estimator's
    assert model.n_iter_ == model.cv_n_iter_[0]
    assert model.best_validation_score_ == pytest.approx(model.cv_validation_scores_[0])
    # a third of the rows held out by each: 80 rows, in its validation batch
    assert all(
        b["valid_batch_size"] == 80
        for b in model.net_.history[0, "batches"]
        if "valid_batch_size" in b
    )
    # members of their own initial weights: they differ
    first, second = (m.expert_weights(0)["weight0"] for m in module.members[:2])
    assert not np.allclose(first.detach(), second.detach())


def test_predictions_are_the_members_mean_in_each_tasks_units(mixed_table):
    X, Y = mixed_table
    model = MMoEMultiTask(**FOLDED, n_cv=3, task_types=MIXED_KINDS).fit(X, Y)
    values = _member_outputs(model, X, "predict")
    proba = _member_outputs(model, X, "proba")
    predicted = model.predict(X)
    # the purchase's probability, the spend's value, the visits' expected count
    mean_proba = np.mean([p[0] for p in proba], axis=0)
    assert_allclose(model.predict_proba(X)[0], mean_proba, atol=1e-6)
    for t in (1, 2):
        mean = np.mean([v[t] for v in values], axis=0)
        assert_allclose(predicted[:, t].astype(float), mean, rtol=1e-5, atol=1e-5)


def test_regression_members_keep_their_own_shrinkage():
    X, Y = _regression()
    model = MMoERegressor(**FOLDED, n_cv=3).fit(X, Y)
    shrink = model.net_.module_.shrink.numpy()
    assert shrink.shape == (3, 2) and ((0 <= shrink) & (shrink <= 1)).all()
    # the second task is noise: its members shrink it towards the mean
    assert shrink[:, 1].mean() < 0.5
    assert all(task.shrink == 1.0 for task in model._tasks)  # in the module instead


def test_out_of_fold_predictions_come_from_the_member_that_did_not_train_on_the_row():
    X, Y = _regression()
    model = MMoERegressor(**FOLDED, n_cv=3).fit(X, Y)
    oof = model.oof_prediction_
    assert oof.shape == Y.shape
    members = np.stack(
        [np.column_stack(v) for v in _member_outputs(model, X, "predict")]
    )
    matches = np.isclose(members, oof[None], rtol=1e-5, atol=1e-6).all(axis=2)
    assert (matches.sum(axis=0) >= 1).all()  # every row: one member's prediction
    owner = matches.argmax(axis=0)
    assert_array_equal(np.bincount(owner, minlength=3), [80, 80, 80])
    # honest: the out-of-fold score is below the score on the rows trained on
    in_sample = ((model.predict(X) - Y) ** 2).mean()
    assert ((oof - Y) ** 2).mean() > in_sample


def test_out_of_fold_probabilities_in_predict_probas_layout(two_task_data):
    X, Y, _, _ = two_task_data
    model = MMoEClassifier(**FOLDED, n_cv=2).fit(X, Y)
    assert [p.shape for p in model.oof_proba_] == [(300, 2), (300, 3)]
    assert model.oof_prediction_.shape == (300, 2)
    for t, p in enumerate(model.oof_proba_):
        assert_allclose(p.sum(axis=1), 1.0, atol=1e-6)
        labels = model.classes_[t][p.argmax(axis=1)]
        assert_array_equal(labels, model.oof_prediction_[:, t])


def test_repeated_rows_share_a_fold_and_unused_rows_get_every_members_mean():
    X, Y = _regression(n=200)
    X, Y = np.r_[X, X[:20]], np.r_[Y, Y[:20]]  # 20 rows twice: merged, one fold
    weight = np.ones(len(X))
    weight[5] = weight[5 + 200] = 0.0  # one row (both copies) trains nowhere
    model = MMoERegressor(**FOLDED, n_cv=4).fit(X, Y, sample_weight=weight)
    oof = model.oof_prediction_
    assert_allclose(oof[200:], oof[:20])
    assert_allclose(oof[5], model.predict(X[5:6])[0], rtol=1e-5, atol=1e-6)


def test_missing_labels_and_sample_weights_train_every_member():
    X, Y = mixed_frame(n=160)
    Y = Y.astype({"buys": object})
    Y.loc[::7, "buys"] = None
    weight = np.random.RandomState(0).uniform(0.5, 2, len(X))
    model = MMoEMultiTask(
        **FOLDED, n_cv=2, task_types=MIXED_KINDS, missing_labels="ignore"
    )
    model.fit(X, Y, sample_weight=weight)
    assert model.oof_prediction_.shape == (160, 3)
    assert np.isfinite(model.predict(X)[:, 1].astype(float)).all()


@pytest.mark.parametrize("params", list(AROUND_EXPERTS.values()), ids=AROUND_EXPERTS)
@pytest.mark.parametrize("expert_type", ["mlp", "transformer"])
def test_every_architecture_and_expert_type_cross_fits(params, expert_type):
    X, Y = mixed_frame(n=100)
    options = dict(token_dim=8, n_heads=2) if expert_type == "transformer" else {}
    model = MMoEMultiTask(
        **BRIEF,
        **params,
        **options,
        expert_type=expert_type,
        n_cv=2,
        task_types=MIXED_KINDS,
        random_state=0,
    )
    model.fit(X, Y)
    assert len(model.net_.module_.members) == 2
    assert model.gate_weights(X[:5]).shape[:2] == (5, 3)
    assert model.expert_weights()  # the members' axis first
    assert np.isfinite(model.predict(X)[:, 1].astype(float)).all()


def test_refit_trains_each_member_again_on_every_row():
    X, Y = _regression()
    folded = MMoERegressor(**FOLDED, n_cv=3).fit(X, Y)
    refitted = MMoERegressor(**FOLDED, n_cv=3, refit=True).fit(X, Y)
    assert_array_equal(refitted.cv_n_iter_, folded.cv_n_iter_)  # the same selection
    assert "valid_loss" not in refitted.net_.history[-1]
    assert not np.allclose(refitted.predict(X), folded.predict(X))
    assert_allclose(refitted.oof_prediction_, folded.oof_prediction_)  # still honest


def test_warm_start_continues_each_member():
    X, Y = _regression()
    model = MMoERegressor(**FOLDED, n_cv=3, warm_start=True).fit(X, Y)
    before = model.expert_weights()["weight0"]  # (members, experts, in, out)
    first = model.n_iter_
    model.fit(X, Y)
    assert model.n_iter_ > first  # the curves continue
    moved = np.abs(model.expert_weights()["weight0"] - before).max(axis=(1, 2, 3))
    assert (moved > 0).all()
    after = model.expert_weights()["weight0"]
    # each member continued its own weights: nearest to them of the three
    distance = np.abs(after[:, None] - before[None]).mean(axis=(2, 3, 4))
    assert_array_equal(distance.argmin(axis=1), [0, 1, 2])
    with pytest.raises(ValueError, match="n_cv=3.*n_cv=2"):
        model.set_params(n_cv=2).fit(X, Y)
    assert len(model.net_.module_.members) == 3  # the failed fit changed nothing


def test_partial_fit_trains_one_network_or_continues_every_member():
    X, Y = _regression()
    streamed = MMoERegressor(**FOLDED, n_cv=3).partial_fit(X, Y)
    assert streamed.n_cv_ == 1 and not hasattr(streamed, "oof_prediction_")
    model = MMoERegressor(**FOLDED, n_cv=3).fit(X, Y)
    before = model.expert_weights()["weight0"]
    model.partial_fit(X, Y)
    moved = np.abs(model.expert_weights()["weight0"] - before).max(axis=(1, 2, 3))
    assert (moved > 0).all()  # every member trained on the rows
    assert model.n_cv_ == 3 and len(model.net_.module_.members) == 3
    assert np.isfinite(model.predict(X)).all()


def test_contradictory_or_impossible_folds_are_refused():
    X, Y = _regression(n=40)
    with pytest.raises(ValueError, match="early_stopping=False"):
        MMoERegressor(**FOLDED, n_cv=2, early_stopping=False).fit(X, Y)
    with pytest.raises(ValueError, match="n_cv=50 folds.*n_samples = 40"):
        MMoERegressor(**FOLDED, n_cv=50).fit(X, Y)
    with pytest.raises(ValueError, match="n_cv"):
        MMoERegressor(n_cv=0).fit(X, Y)
    # below 20 rows "auto" early stopping holds nothing out: one network
    small = MMoERegressor(**FOLDED, n_cv=3).fit(X[:12], Y[:12])
    assert small.n_cv_ == 1


def test_a_saved_ensemble_loads_with_every_member(tmp_path, mixed_table):
    X, Y = mixed_table
    model = MMoEMultiTask(**FOLDED, n_cv=3, task_types=MIXED_KINDS).fit(X, Y)
    path = tmp_path / "model.safetensors"
    save(model, path)
    loaded = load(path)
    assert_array_equal(loaded.predict(X), model.predict(X))
    assert loaded.n_cv_ == 3
    assert_array_equal(loaded.cv_n_iter_, model.cv_n_iter_)
    assert_array_equal(loaded.net_.module_.shrink, model.net_.module_.shrink)
    assert not hasattr(loaded, "oof_prediction_")  # a record of the fit, not saved
    save(MMoERegressor(**FOLDED).fit(X[["age"]], Y["spend"]), path)
    single = load(path)
    assert single.n_cv_ == 1


def test_verbose_names_each_member_and_its_fold(capsys):
    X, Y = _regression(n=120)
    MMoERegressor(**FOLDED, n_cv=2, verbose=1).fit(X, Y)
    out = capsys.readouterr().out
    assert "member 1 of 2 (fold 1 held out): stopped after epoch" in out
    assert "member 2 of 2 (fold 2 held out)" in out


def test_a_continued_ensemble_predicts_as_trained_and_saves_under_any_n_cv(tmp_path):
    X, Y = _regression()
    model = MMoERegressor(**FOLDED, n_cv=3).fit(X, Y)
    assert (model.net_.module_.shrink < 1).any()  # the noise task is shrunk
    model.set_params(n_cv=1).partial_fit(X, Y)
    # shrinkage chosen for the weights before the pass is dropped, as a single
    # network's tasks drop theirs
    assert (model.net_.module_.shrink == 1).all()
    assert model.n_cv_ == 3
    save(model, tmp_path / "model.safetensors")
    assert_array_equal(
        load(tmp_path / "model.safetensors").predict(X), model.predict(X)
    )


def test_max_epochs_that_cut_the_members_short_warns_once():
    X, Y = _regression()
    params = {**FOLDED, "max_epochs": 2, "n_iter_no_change": 50}
    with pytest.warns(ConvergenceWarning) as caught:
        MMoERegressor(**params, n_cv=3).fit(X, Y)
    assert len([w for w in caught if w.category is ConvergenceWarning]) == 1


@pytest.mark.parametrize("funnel", ["esmm", "aitm"])
def test_a_funnel_with_ids_cross_fits_and_keeps_its_order(funnel):
    X, Y = recommender_funnel()
    model = MMoEMultiTask(
        **BRIEF,
        n_cv=2,
        task_types=FUNNEL_KINDS,
        task_parents=FUNNEL,
        funnel=funnel,
        random_state=0,
    ).fit(X, Y)
    assert model.net_.module_.members[0].interactions is not None  # ids: wide part
    purchase, loved = (p[:, 1] for p in model.predict_proba(X)[:2])
    if funnel == "esmm":  # the mean of products each below its parent's stays below
        assert (loved <= purchase + 1e-6).all()
    assert model.oof_proba_[1].shape == (len(X), 2)


def test_each_member_trains_in_batches_of_its_own_rows(monkeypatch):
    import sklearn_mmoe._training.engine as engine

    seen, train = [], engine._train

    def recording(net, data, device, seed):
        rows, _ = net.train_split(data)
        seen.append((net.batch_size, len(rows)))
        train(net, data, device, seed)

    monkeypatch.setattr(engine, "_train", recording)
    X, Y = _regression(n=138)  # folds of 28 and 27 rows: members of 110 and 111
    MMoERegressor(**{**FOLDED, "batch_size": "auto"}, n_cv=5).fit(X, Y)
    assert sorted(n for _, n in seen) == [110, 110, 110, 111, 111]
    # one batch per epoch each, never a batch of the one row left over
    assert all(batch == n for batch, n in seen)
