"""Loading models and predicting with them."""
from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("tensorflow")

from tfbinding.data.onehot import one_hot  # noqa: E402
from tfbinding.errors import InputError  # noqa: E402
from tfbinding.models.inference import load_model, predict_probabilities, reverse_complement  # noqa: E402


def test_reverse_complement_of_one_hot():
    X = one_hot("AACGTN")[None]
    assert (reverse_complement(X)[0] == one_hot("NACGTT")).all()


def test_a_missing_or_corrupt_model_is_a_clear_error(tmp_path):
    with pytest.raises(InputError, match="no trained model here"):
        load_model(tmp_path)
    (tmp_path / "model.keras").write_bytes(b"PK\x03\x04 not really a zip")
    with pytest.raises(InputError, match=r"model.keras: not a Keras model archive \(truncated or corrupt\)"):
        load_model(tmp_path)


def test_predictions_average_both_strands_when_asked(tmp_path):
    import keras

    from tfbinding.models.inference import configure_tensorflow

    configure_tensorflow(0)
    inputs = keras.Input((6, 4))
    outputs = keras.layers.Dense(1, activation="sigmoid")(keras.layers.Flatten()(inputs))
    model = keras.Model(inputs, outputs)
    model.save(tmp_path / "model.keras")
    loaded = load_model(tmp_path)
    X = np.stack([one_hot("AACGTT"), one_hot("GATTAC")])
    forward = predict_probabilities(loaded, X, batch_size=1)
    backward = predict_probabilities(loaded, reverse_complement(X))
    both = predict_probabilities(loaded, X, reverse_complement_average=True)
    np.testing.assert_allclose(forward, model.predict_on_batch(X.astype(np.float32)).ravel(), rtol=1e-6)
    np.testing.assert_allclose(both, (forward + backward) / 2, rtol=1e-6)
    assert forward.dtype == np.float32 and forward.shape == (2,)


def test_a_length_and_flank_that_do_not_fit_the_model_are_one_line(tmp_path):
    """Issue 22: --length/--flank whose length + 2*flank is not the model's input length
    is refused with one line naming both, not a Keras shape traceback."""
    from helpers import save_motif_model
    from tfbinding.models.inference import check_input_length

    folder = save_motif_model(tmp_path / "model", length=141)
    model = load_model(folder)
    check_input_length(model, 101, 20, folder)
    check_input_length(model, 141, 0, folder)
    with pytest.raises(InputError, match=r"model.keras: the model reads 141 bp.*--length 101 --flank 0 "
                                         r"give 101.*--flank 20") as error:
        check_input_length(model, 101, 0, folder)
    assert "\n" not in str(error.value)
    with pytest.raises(InputError, match="reads 141 bp.*give 100"):
        check_input_length(model, 100, 0, folder)
