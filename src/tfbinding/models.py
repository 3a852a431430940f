"""The binding classifiers: the study's ablation (``no_dropout``, ``no_weights``, ``full``)
and ``improved``. ``motif_baseline`` needs no network (see :mod:`tfbinding.motif`)."""
from __future__ import annotations

import keras

from .options import TrainingConfig, check_model


def _metrics() -> list:
    return [keras.metrics.AUC(curve="ROC", name="roc_auc"), keras.metrics.AUC(curve="PR", name="pr_auc")]


def build_study_model(input_length: int, dropout: float, config: TrainingConfig) -> keras.Model:
    """3× (Conv1D(15, 10, relu, same) → Dropout), Flatten, Dense(1, sigmoid); SGD."""
    inputs = keras.Input((input_length, 4), name="one_hot")
    x = inputs
    for layer in range(3):
        x = keras.layers.Conv1D(config.filters, config.kernel_size, activation="relu", padding="same",
                                kernel_initializer="he_normal", name=f"conv{layer + 1}")(x)
        if dropout:
            x = keras.layers.Dropout(dropout, name=f"dropout{layer + 1}")(x)
    x = keras.layers.Flatten()(x)
    outputs = keras.layers.Dense(1, activation="sigmoid", name="probability")(x)
    model = keras.Model(inputs, outputs)
    model.compile(optimizer=keras.optimizers.SGD(config.learning_rate, momentum=config.momentum),
                  loss="binary_crossentropy", weighted_metrics=[], metrics=_metrics())
    return model


def build_improved_model(input_length: int, config: TrainingConfig) -> keras.Model:
    """Conv → BatchNorm → ReLU → MaxPool blocks, global max pooling, dropout, Adam."""
    inputs = keras.Input((input_length, 4), name="one_hot")
    x = inputs
    for layer, (filters, kernel) in enumerate(((64, 11), (64, 7), (64, 5))):
        x = keras.layers.Conv1D(filters, kernel, padding="same", use_bias=False, name=f"conv{layer + 1}")(x)
        x = keras.layers.BatchNormalization(name=f"norm{layer + 1}")(x)
        x = keras.layers.Activation("relu")(x)
        if layer < 2:
            x = keras.layers.MaxPooling1D(2, name=f"pool{layer + 1}")(x)
    x = keras.layers.GlobalMaxPooling1D()(x)
    x = keras.layers.Dropout(0.3)(x)
    x = keras.layers.Dense(32, activation="relu")(x)
    outputs = keras.layers.Dense(1, activation="sigmoid", name="probability")(x)
    model = keras.Model(inputs, outputs)
    model.compile(optimizer=keras.optimizers.Adam(config.improved_learning_rate),
                  loss="binary_crossentropy", weighted_metrics=[], metrics=_metrics())
    return model


def build_model(model_name: str, input_length: int, config: TrainingConfig = TrainingConfig()) -> keras.Model:
    """Build and compile one of :data:`tfbinding.options.TRAINED_MODELS`."""
    check_model(model_name)
    if model_name == "no_dropout":
        return build_study_model(input_length, 0.0, config)
    if model_name in ("no_weights", "full"):
        return build_study_model(input_length, config.dropout, config)
    return build_improved_model(input_length, config)
