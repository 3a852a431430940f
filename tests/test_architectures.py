"""The model builders: the study's ablation and improved."""
from __future__ import annotations

import pytest

pytest.importorskip("tensorflow")

from conftest import TINY_LENGTH  # noqa: E402
from tfbinding.config import TRAINED_MODELS, TrainingConfig  # noqa: E402
from tfbinding.errors import InputError  # noqa: E402
from tfbinding.models.architectures import build_model  # noqa: E402


@pytest.mark.parametrize("model_name", TRAINED_MODELS)
def test_each_model_builds_with_one_sigmoid_output(model_name):
    model = build_model(model_name, TINY_LENGTH, TrainingConfig())
    assert model.output_shape == (None, 1)
    has_dropout = any("dropout" in layer.name for layer in model.layers)
    assert has_dropout == (model_name != "no_dropout")


def test_an_unknown_model_is_a_clear_error():
    with pytest.raises(InputError, match="model: 'deep' is not one of no_dropout"):
        build_model("deep", TINY_LENGTH)


def test_study_models_crop_flanks_away_and_start_at_the_prior():
    import numpy as np

    model = build_model("full", 141, TrainingConfig(), window_length=101, prior=0.25)
    assert model.get_layer("window").output.shape[1] == 101
    assert model.get_layer("probability").get_weights()[1][0] == pytest.approx(np.log(0.25 / 0.75))
    sgd = build_model("no_weights", 101, TrainingConfig(optimizer="sgd", learning_rate=0.03), steps_per_epoch=5)
    assert type(sgd.optimizer).__name__ == "SGD" and sgd.optimizer.clipnorm == 1.0


def test_motif_informed_improved_starts_as_the_motif_scan():
    import numpy as np

    from conftest import REPO
    from tfbinding.models.architectures import MotifScan, fit_scan_logistic
    from tfbinding.models.inference import predict_probabilities
    from tfbinding.models.motif_baseline import best_match_scores, log_odds, read_jaspar

    pwm = log_odds(read_jaspar(REPO / "resources/motifs/MA0491.3.jaspar")[1])
    rng = np.random.default_rng(1)
    X = np.eye(4, dtype=np.uint8)[rng.integers(0, 4, (64, 60))]
    X[:5, 20:25] = 0  # N rows
    scan = best_match_scores(X, pwm)
    layer = MotifScan(pwm)
    np.testing.assert_allclose(np.asarray(layer(X.astype("float32"))).ravel(), scan, rtol=1e-5, atol=1e-4)
    model = build_model("improved", 60, TrainingConfig(improved_filters=8), pwm=pwm, scan_fit=(0.7, -3.0))
    expected = 1 / (1 + np.exp(-(0.7 * scan - 3.0)))
    np.testing.assert_allclose(predict_probabilities(model, X), expected, rtol=1e-4)
    assert np.allclose(model.get_layer("conv1").get_weights()[0][:, :, 0].sum(axis=1), 0, atol=1e-6)
    a, b = fit_scan_logistic(scan, (scan > np.median(scan)).astype(float))
    assert a > 0  # a higher scan means more likely bound


def test_logistic_fit_recovers_known_coefficients():
    import numpy as np

    from tfbinding.models.architectures import fit_scan_logistic

    rng = np.random.default_rng(0)
    s = rng.normal(0, 2, 20000)
    y = rng.random(20000) < 1 / (1 + np.exp(-(1.5 * s - 2.0)))
    a, b = fit_scan_logistic(s, y)
    assert a == pytest.approx(1.5, abs=0.1) and b == pytest.approx(-2.0, abs=0.1)
