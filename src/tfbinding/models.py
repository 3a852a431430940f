"""The binding classifiers: the study's ablation (``no_dropout``, ``no_weights``, ``full``)
and ``improved``. ``motif_baseline`` needs no network (see :mod:`tfbinding.motif`)."""
from __future__ import annotations

from dataclasses import dataclass

import keras

STUDY_MODELS = ("no_dropout", "no_weights", "full")
TRAINED_MODELS = STUDY_MODELS + ("improved",)
ALL_MODELS = TRAINED_MODELS + ("motif_baseline",)


@dataclass(frozen=True)
class TrainingConfig:
    """Hyper-parameters (the config's ``training`` section), with the study's defaults."""

    filters: int = 15
    kernel_size: int = 10
    dropout: float = 0.5
    learning_rate: float = 0.03
    momentum: float = 0.9
    batch_size: int = 1000
    epochs: int = 30
    patience: int = 6
    early_stopping_start: int = 12
    seed: int = 0
    improved_learning_rate: float = 0.001
    improved_batch_size: int = 256
    improved_epochs: int = 15


def uses_weights(variant: str) -> bool:
    """Whether a model trains with the class-balancing sample weights."""
    return variant != "no_weights"


def uses_reverse_complement(variant: str) -> bool:
    """Whether a model is trained with RC augmentation and predicts RC-averaged."""
    return variant == "improved"


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


def build_model(variant: str, input_length: int, config: TrainingConfig = TrainingConfig()) -> keras.Model:
    """Build and compile one of :data:`TRAINED_MODELS`."""
    if variant == "no_dropout":
        return build_study_model(input_length, 0.0, config)
    if variant in ("no_weights", "full"):
        return build_study_model(input_length, config.dropout, config)
    if variant == "improved":
        return build_improved_model(input_length, config)
    raise ValueError(f"unknown model {variant!r}; choose from {', '.join(TRAINED_MODELS)}")
