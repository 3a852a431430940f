"""The binding classifiers: the study's ablation (``no_dropout``, ``no_weights``, ``full``)
and ``improved``. ``motif_baseline`` needs no network (see :mod:`tfbinding.models.motif_baseline`).

The study's models keep its architecture, 3x (Conv1D(15, 10) -> Dropout), Flatten,
Dense(sigmoid), and see only the labelled window (they crop any flank away). Their recipe
leaves the plateau on realistic data: Adam at 1e-3 (DeepChem ``KerasModel``'s default, which
the book trains through), gradient-norm clipping, and the output bias at the log prior.
The seed study's SGD stays available (``optimizer: sgd``), with clipping and a warm-up.

``improved`` sees the flanks, is trained on both strands and predicts their average. Given a
JASPAR matrix it is motif-informed: its logit is ``a * scan(x) + b + CNN(x)``, where scan is
the matrix's best log-odds match on either strand (as ``motif_baseline``), ``a, b`` start
at a logistic fit on train, the CNN's output starts at zero and its first filters start at
the matrix and its reverse complement. Before any training it *is* the motif scan.

Multi-task (``tasks=T > 1``): every model ends in T sigmoid outputs, one per factor, and
trains on :class:`MaskedBinaryCrossentropy`: the batches pack labels and weights side by
side, ``y_true = [y | w]`` of shape ``(n, 2T)``, and the loss is ``sum(w * bce) / sum(w)``,
so a masked label (``w == 0``) adds nothing. Its ROC and PR AUC (:class:`MaskedAUC`) are the
mean over tasks of each task's AUC on the unmasked windows. ``tasks=1`` builds exactly the
single-output models above with Keras' own loss and metrics. The motif-informed ``improved``
stays single-task: with T > 1 ``improved`` is the plain one.

Signal channels (``channels = 4 + S``): the extra input channels follow A, C, G, T on the
last axis; the first layer sees all of them, and the motif scan reads the first four.
"""
from __future__ import annotations

import keras
import numpy as np
from keras import ops

from tfbinding.config import TrainingConfig, check_model
from tfbinding.models.motif_baseline import SCAN_SCALE


def _metrics(tasks: int = 1) -> list:
    if tasks > 1:
        return [MaskedAUC(tasks, curve="ROC", name="roc_auc"), MaskedAUC(tasks, curve="PR", name="pr_auc")]
    return [keras.metrics.AUC(curve="ROC", name="roc_auc"), keras.metrics.AUC(curve="PR", name="pr_auc")]


#: focusing parameter of the ``focal`` imbalance strategy's loss (Lin et al. 2017's default)
FOCAL_GAMMA = 2.0


def _loss(tasks: int = 1, imbalance: str = "weights"):
    if tasks > 1:
        return MaskedBinaryCrossentropy(tasks)
    return keras.losses.BinaryFocalCrossentropy(gamma=FOCAL_GAMMA) if imbalance == "focal" else "binary_crossentropy"


def pack_targets(y: np.ndarray, w: np.ndarray) -> np.ndarray:
    """``[y | w]``, ``(n, 2T)`` float32: the multi-task models' ``y_true``."""
    return np.concatenate((np.asarray(y, dtype=np.float32), np.asarray(w, dtype=np.float32)), axis=1)


@keras.saving.register_keras_serializable(package="tfbinding")
class MaskedBinaryCrossentropy(keras.losses.Loss):
    """``sum(w * bce(y, p)) / sum(w)`` over the batch's windows and tasks, from
    ``y_true = [y | w]`` ``(n, 2T)``: entries with ``w == 0`` contribute nothing.
    """

    def __init__(self, tasks: int, name: str = "masked_binary_crossentropy", **kwargs):
        super().__init__(name=name, **kwargs)
        self.tasks = int(tasks)

    def call(self, y_true, y_pred):
        y_true = ops.cast(y_true, "float32")
        y, w = y_true[:, :self.tasks], y_true[:, self.tasks:]
        p = ops.clip(ops.cast(y_pred, "float32"), keras.config.epsilon(), 1 - keras.config.epsilon())
        bce = -(y * ops.log(p) + (1 - y) * ops.log(1 - p))
        # one value per window so that Keras' batch mean gives sum(w * bce) / sum(w)
        total = ops.maximum(ops.sum(w), keras.config.epsilon())
        return ops.sum(w * bce, axis=1) * ops.cast(ops.shape(w)[0], "float32") / total

    def get_config(self) -> dict:
        return {"tasks": self.tasks, "name": self.name}


@keras.saving.register_keras_serializable(package="tfbinding")
class MaskedAUC(keras.metrics.AUC):
    """Keras' AUC per task on the unmasked entries (``w > 0`` in ``y_true = [y | w]``),
    averaged over the tasks.
    """

    def __init__(self, tasks: int, curve: str = "ROC", name: str | None = None, **kwargs):
        kwargs.pop("multi_label", None), kwargs.pop("num_labels", None)
        super().__init__(curve=curve, name=name, multi_label=True, num_labels=int(tasks), **kwargs)
        self.tasks = int(tasks)

    def update_state(self, y_true, y_pred, sample_weight=None):
        y_true = ops.cast(y_true, "float32")
        mask = ops.cast(y_true[:, self.tasks:] > 0, "float32")
        return super().update_state(y_true[:, :self.tasks], y_pred, sample_weight=mask)

    def get_config(self) -> dict:
        config = super().get_config()
        for key in ("multi_label", "num_labels", "label_weights"):
            config.pop(key, None)
        return {**config, "tasks": self.tasks}


def prior_logit(prior: float) -> float:
    """``log(p / (1 - p))``: the output bias at which a model predicts the prior."""
    prior = float(np.clip(prior, 1e-6, 1 - 1e-6))
    return float(np.log(prior / (1 - prior)))


@keras.saving.register_keras_serializable(package="tfbinding")
class LinearWarmUp(keras.optimizers.schedules.LearningRateSchedule):
    """Linear warm-up from ~0 to ``peak`` over ``steps`` optimizer steps, then constant."""

    def __init__(self, peak: float, steps: int):
        self.peak, self.steps = float(peak), max(1, int(steps))

    def __call__(self, step):
        return self.peak * ops.minimum(1.0, (ops.cast(step, "float32") + 1.0) / self.steps)

    def get_config(self) -> dict:
        return {"peak": self.peak, "steps": self.steps}


def make_optimizer(config: TrainingConfig, steps_per_epoch: int = 1) -> keras.optimizers.Optimizer:
    """The study models' optimizer: Adam, or SGD with momentum and a linear warm-up; both
    clip the gradient norm at ``config.clipnorm`` (0 turns clipping off).
    """
    clip = {"clipnorm": config.clipnorm} if config.clipnorm else {}
    if config.optimizer == "sgd":
        rate = (LinearWarmUp(config.learning_rate, config.warmup_epochs * steps_per_epoch)
                if config.warmup_epochs else config.learning_rate)
        return keras.optimizers.SGD(rate, momentum=config.momentum, **clip)
    return keras.optimizers.Adam(config.learning_rate, **clip)


@keras.saving.register_keras_serializable(package="tfbinding")
class MotifScan(keras.layers.Layer):
    """Best log-odds match of a fixed matrix on both strands: ``(n, L, 4) -> (n, 1)``.

    All-zero (N) rows add nothing, as in :func:`tfbinding.models.motif_baseline.best_match_scores`. The
    sums are in float64 and rounded, as in ``best_match_scores``. The
    reverse strand is scanned as the matrix over the reverse-complemented window, not as
    the reverse-complemented matrix over the window: the two sums then add the same numbers
    in the same order, so a window and its reverse complement score bit for bit the same,
    and averaging over strands keeps the scan's ranking and its ties exactly.
    """

    def __init__(self, pwm, **kwargs):
        super().__init__(**kwargs)
        self.pwm = np.asarray(pwm, dtype=np.float64)

    def build(self, input_shape):
        self.kernel = self.add_weight(shape=(*self.pwm.shape, 1), trainable=False, name="pwm", dtype="float64",
                                      initializer=keras.initializers.Constant(self.pwm[..., None]))

    def call(self, x):
        x = ops.cast(x[..., :4], "float64")  # A, C, G, T: signal channels, if any, follow
        forward = ops.max(ops.conv(x, self.kernel, padding="valid"), axis=(1, 2))
        reverse = ops.max(ops.conv(x[:, ::-1, ::-1], self.kernel, padding="valid"), axis=(1, 2))
        # rounded as best_match_scores rounds, so that both rank and tie windows alike
        best = ops.round(ops.maximum(forward, reverse) * SCAN_SCALE) / SCAN_SCALE
        return ops.cast(best, "float32")[:, None]

    def get_config(self) -> dict:
        return {**super().get_config(), "pwm": self.pwm.tolist()}


def motif_filters(pwm: np.ndarray, filters: int, kernel: int, seed: int = 0, channels: int = 4) -> np.ndarray:
    """First-layer kernel ``(kernel, channels, filters)``: filter 0 the matrix, filter 1 its
    reverse complement (centred, each position zero-mean, scaled to max |w| = 1; zero on any
    signal channel), the rest He-normal.
    """
    weights = np.array(keras.initializers.HeNormal(seed)((kernel, channels, filters)))
    width = min(len(pwm), kernel)
    first = (kernel - width) // 2
    for index, matrix in enumerate((pwm, pwm[::-1, ::-1])[:filters]):
        matrix = matrix[(len(matrix) - width) // 2:][:width]
        weights[:, :, index] = 0.0
        weights[first:first + width, :4, index] = ((matrix - matrix.mean(axis=1, keepdims=True))
                                                  / np.abs(matrix).max())
    return weights


def _bias(prior, tasks: int):
    """The output bias initializer: each task's prior logit (``prior`` a float or T floats)."""
    priors = np.broadcast_to(np.asarray(prior, dtype=np.float64), (tasks,)) if tasks > 1 else None
    if priors is None:
        return keras.initializers.Constant(prior_logit(float(np.ravel(prior)[0])))
    return keras.initializers.Constant([prior_logit(p) for p in priors])


def build_study_model(input_length: int, dropout: float, config: TrainingConfig, window_length: int | None = None,
                      prior: float = 0.5, steps_per_epoch: int = 1, tasks: int = 1,
                      channels: int = 4) -> keras.Model:
    """3x (Conv1D(15, 10, relu, same) -> Dropout), Flatten, Dense(tasks, sigmoid).

    Parameters
    ----------
    input_length : bp per X row (window plus flanks).
    dropout : dropout rate (0: none, the ``no_dropout`` model).
    config : the training settings (optimizer, rate, clipping, filters).
    window_length : the labelled window; the flanks around it are cropped away
        (default: the whole row).
    prior : the weighted positive fraction the loss sees (0.5 with balanced weights); the
        output bias starts at its logit (one per task for ``tasks > 1``).
    steps_per_epoch : for SGD's warm-up.
    tasks : sigmoid outputs (T > 1: the masked multi-task loss and metrics).
    channels : input channels, 4 (one-hot) plus any signal channels.
    """
    inputs = keras.Input((input_length, channels), name="one_hot")
    x = inputs
    flank = (input_length - window_length) // 2 if window_length else 0
    if flank:
        x = keras.layers.Cropping1D((flank, input_length - window_length - flank), name="window")(x)
    for layer in range(3):
        x = keras.layers.Conv1D(config.filters, config.kernel_size, activation="relu", padding="same",
                                kernel_initializer="he_normal", name=f"conv{layer + 1}")(x)
        if dropout:
            x = keras.layers.Dropout(dropout, name=f"dropout{layer + 1}")(x)
    x = keras.layers.Flatten()(x)
    outputs = keras.layers.Dense(tasks, activation="sigmoid", name="probability",
                                 bias_initializer=_bias(prior, tasks))(x)
    model = keras.Model(inputs, outputs)
    model.compile(optimizer=make_optimizer(config, steps_per_epoch), loss=_loss(tasks, config.imbalance),
                  weighted_metrics=[], metrics=_metrics(tasks))
    return model


#: the shortest row whose valid 11-7-5 trunk with two pools of 2 keeps 5 positions
IMPROVED_VALID_MIN_LENGTH = 58


def build_improved_model(input_length: int, config: TrainingConfig, pwm: np.ndarray | None = None,
                         scan_fit: tuple[float, float] = (1.0, 0.0), prior: float = 0.5, tasks: int = 1,
                         channels: int = 4,
                         padding: str | None = None) -> keras.Model:
    """Conv -> BatchNorm -> ReLU -> MaxPool blocks, global max pooling, dropout, Adam.

    With ``pwm`` (a log-odds matrix, ``(k, 4)``) the logit is ``a * scan(x) + b + CNN(x)``
    with ``(a, b) = scan_fit`` and the CNN's output at zero: the untrained model is the scan.
    ``tasks > 1`` gives T outputs and takes no ``pwm`` (the motif-informed model is single-task).
    ``padding`` of the convolutions: by default ``"valid"`` for rows of at least
    :data:`IMPROVED_VALID_MIN_LENGTH` bp (scanned exactly genome-wide), else ``"same"``.
    """
    if tasks > 1 and pwm is not None:
        raise ValueError("the motif-informed improved model is single-task: build it with tasks=1 or pwm=None")
    # "valid": a window's score depends on its own row's bases only, so genome-wide prediction
    # runs the trunk once along the chromosome (tfbinding.genomewide.scan) and equals
    # per-window scoring; "same" padding's zeros at the row edges would see other bases there.
    # Rows shorter than the valid trunk's receptive field keep "same" (scored per window).
    if padding is None:
        padding = "valid" if input_length >= IMPROVED_VALID_MIN_LENGTH else "same"
    inputs = keras.Input((input_length, channels), name="one_hot")
    x = inputs
    for layer, kernel in enumerate((11, 7, 5)):
        init = (keras.initializers.Constant(motif_filters(pwm, config.improved_filters, kernel, config.seed,
                                                              channels))
                if layer == 0 and pwm is not None else "glorot_uniform")
        x = keras.layers.Conv1D(config.improved_filters, kernel, padding=padding, use_bias=False,
                                kernel_initializer=init, name=f"conv{layer + 1}")(x)
        x = keras.layers.BatchNormalization(name=f"norm{layer + 1}")(x)
        x = keras.layers.Activation("relu")(x)
        if layer < 2:
            x = keras.layers.MaxPooling1D(2, name=f"pool{layer + 1}")(x)
    x = keras.layers.GlobalMaxPooling1D()(x)
    x = keras.layers.Dropout(0.3)(x)
    x = keras.layers.Dense(32, activation="relu")(x)
    if pwm is None:
        logit = keras.layers.Dense(tasks, name="logit", bias_initializer=_bias(prior, tasks))(x)
    else:
        cnn = keras.layers.Dense(1, kernel_initializer="zeros", bias_initializer="zeros", name="cnn_logit")(x)
        scan = MotifScan(pwm, name="motif_scan")(inputs)
        motif = keras.layers.Dense(1, name="motif_logit",
                                   kernel_initializer=keras.initializers.Constant(scan_fit[0]),
                                   bias_initializer=keras.initializers.Constant(scan_fit[1]))(scan)
        logit = keras.layers.Add(name="logit")([motif, cnn])
    outputs = keras.layers.Activation("sigmoid", name="probability")(logit)
    model = keras.Model(inputs, outputs)
    clip = {"clipnorm": config.clipnorm} if config.clipnorm else {}
    model.compile(optimizer=keras.optimizers.Adam(config.improved_learning_rate, **clip),
                  loss=_loss(tasks, config.improved_imbalance), weighted_metrics=[], metrics=_metrics(tasks))
    return model


def build_model(model_name: str, input_length: int, config: TrainingConfig = TrainingConfig(), *,
                window_length: int | None = None, prior: float = 0.5, steps_per_epoch: int = 1,
                pwm: np.ndarray | None = None, scan_fit: tuple[float, float] = (1.0, 0.0),
                tasks: int = 1, channels: int = 4) -> keras.Model:
    """Build and compile one of :data:`tfbinding.config.TRAINED_MODELS` (see the builders):
    ``tasks`` sigmoid outputs (1: today's models exactly), ``channels`` input channels
    (4 one-hot, plus any signal channels).
    """
    check_model(model_name)
    if model_name == "improved":
        return build_improved_model(input_length, config, pwm, scan_fit, prior, tasks, channels)
    dropout = 0.0 if model_name == "no_dropout" else config.dropout
    return build_study_model(input_length, dropout, config, window_length, prior, steps_per_epoch, tasks,
                             channels)


def fit_scan_logistic(scores: np.ndarray, labels: np.ndarray, weights: np.ndarray | None = None,
                      iterations: int = 25) -> tuple[float, float]:
    """``(a, b)`` of a weighted one-feature logistic regression ``P(y) = sigmoid(a*s + b)``
    (Newton's method, a small ridge for stability).
    """
    s = np.asarray(scores, dtype=np.float64).ravel()
    y = np.asarray(labels, dtype=np.float64).ravel()
    w = np.ones_like(y) if weights is None else np.asarray(weights, dtype=np.float64).ravel()
    scale = s.std() or 1.0
    z = (s - s.mean()) / scale
    features = np.stack((z, np.ones_like(z)), axis=1)
    beta = np.zeros(2)
    for _ in range(iterations):
        p = 1.0 / (1.0 + np.exp(-(features @ beta)))
        gradient = features.T @ (w * (p - y)) + 1e-3 * beta
        hessian = (features * (w * p * (1 - p))[:, None]).T @ features + 1e-3 * np.eye(2)
        beta -= np.linalg.solve(hessian, gradient)
    a = beta[0] / scale
    return float(a), float(beta[1] - a * s.mean())
