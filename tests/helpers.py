"""What several test files share: a hand-set AP-1 motif model, planted windows, a tiny
training recipe. Test files import these from here, never from each other."""
from __future__ import annotations

import numpy as np

from tfbinding.config import TrainingConfig
from tfbinding.data.onehot import one_hot
from tfbinding.models.inference import configure_tensorflow

#: the training recipe of the tiny-dataset tests: one epoch, small batches
TINY = TrainingConfig(epochs=1, batch_size=64, improved_batch_size=64, improved_epochs=1,
                      early_stopping_start=0)

SITE = "TGACTCA"
SITE_RC = "TGAGTCA"
LENGTH = 60


def motif_model(length: int = LENGTH, sites: tuple[str, ...] = (SITE, SITE_RC)):
    """A Keras model whose logit is +4 when the window holds one of ``sites``, else -4."""
    configure_tensorflow(0)
    import keras

    inputs = keras.Input((length, 4), name="one_hot")
    conv = keras.layers.Conv1D(len(sites), len(sites[0]), activation="relu", name="motif")
    x = keras.layers.GlobalMaxPooling1D()(conv(inputs))
    dense = keras.layers.Dense(1, activation="sigmoid", name="probability")
    model = keras.Model(inputs, dense(x))
    kernel = np.stack([one_hot(site).astype(np.float32) for site in sites], axis=-1)
    conv.set_weights([kernel, np.full(len(sites), 1.0 - len(sites[0]), np.float32)])
    dense.set_weights([np.full((len(sites), 1), 8.0, np.float32), np.array([-4.0], np.float32)])
    return model


def save_motif_model(folder, length: int = LENGTH):
    """Write :func:`motif_model` as ``folder/model.keras``; return the folder."""
    folder.mkdir(parents=True, exist_ok=True)
    motif_model(length).save(folder / "model.keras")
    return folder


def planted_windows(n: int = 12, length: int = LENGTH, seed: int = 0,
                    bases: int = 4) -> tuple[np.ndarray, np.ndarray]:
    """Random windows, each with TGACTCA planted at a random offset; returns (X, offsets).

    ``bases=2`` draws the background from A and C only, where no single substitution can
    make a new site.
    """
    rng = np.random.default_rng(seed)
    X = np.eye(4, dtype=np.uint8)[rng.integers(0, bases, (n, length))]
    offsets = rng.integers(5, length - len(SITE) - 5, n)
    for row, offset in enumerate(offsets):
        X[row, offset:offset + len(SITE)] = one_hot(SITE)
    return X, offsets
