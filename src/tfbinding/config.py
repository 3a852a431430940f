"""Names and defaults shared by the CLI, the Snakemake workflow and the config schema.

This module imports nothing heavy, so the Snakefile can read model names from it. A test
checks that ``workflow/schemas/config.schema.yaml`` agrees with every name and default
here (and with :class:`tfbinding.data.label_rule.LabelRule` and :class:`tfbinding.data.split.SplitSpec`).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

from tfbinding.errors import InputError

STUDY_MODELS = ("no_dropout", "no_weights", "full")
TRAINED_MODELS = STUDY_MODELS + ("improved",)
MOTIF_BASELINE = "motif_baseline"
ALL_MODELS = TRAINED_MODELS + (MOTIF_BASELINE,)

LABEL_MODES = ("overlap", "summit")
SPLIT_METHODS = ("random", "chromosome", "blocks")
WEIGHTS_MODES = ("balanced", "none")
#: how a signal bigWig's values are transformed, and what a missing value (NaN, chromosome) does
SIGNAL_TRANSFORMS = ("none", "log1p")
SIGNAL_MISSING = ("error", "zero")

#: a config's ``peaks`` naming a file with these endings is a task table (name, peaks)
TASK_TABLE_SUFFIXES = (".tsv", ".tsv.gz")

PREDICT_MODEL = "full"
PREDICT_STRIDE = 50
PREDICT_FDR = 0.1
#: how ``predict`` scores windows (:func:`tfbinding.genomewide.predict.score_windows`)
PREDICT_ENGINES = ("auto", "scan", "per_window")


def check_choice(value: str, choices: tuple[str, ...], what: str) -> None:
    """Raise :class:`InputError` unless ``value`` is one of ``choices``."""
    if value not in choices:
        raise InputError(f"{what}: {value!r} is not one of {', '.join(choices)}")


def check_model(name: str, choices: tuple[str, ...] = TRAINED_MODELS) -> None:
    """Raise :class:`InputError` unless ``name`` is a known model."""
    check_choice(name, choices, "model")


def is_task_table(peaks: object) -> bool:
    """Whether a config's ``peaks`` value names a task table (a path ending in ``.tsv`` or
    ``.tsv.gz``, read by :func:`tfbinding.io.bed.read_task_table`) rather than one peaks
    source or a list of tasks.
    """
    return isinstance(peaks, str) and peaks.lower().endswith(TASK_TABLE_SUFFIXES)


#: the task names of a single-task model or dataset: one unnamed task
SINGLE_TASK = ("",)


def task_names(names: Sequence[str] | None) -> list[str]:
    """A model's or dataset's task names, in one convention.

    Parameters
    ----------
    names : sequence of str or None
        The names given (a config's tasks, ``--tasks``, a manifest's or a model's tasks).

    Returns
    -------
    list of str
        ``names`` for two tasks or more; ``[""]`` (one unnamed task, whose files and columns
        keep their single-task names) for none, one or ``[""]``.
    """
    names = list(names or ())
    return names if len(names) > 1 else list(SINGLE_TASK)


def is_multi_task(names: Sequence[str] | None) -> bool:
    """Whether ``names`` (see :func:`task_names`) are the tasks of a multi-task model or dataset."""
    return len(task_names(names)) > 1


def uses_weights(model_name: str) -> bool:
    """Whether a model trains with the class-balancing sample weights."""
    return model_name != "no_weights"


def uses_reverse_complement(model_name: str) -> bool:
    """Whether a model is trained with RC augmentation and predicts RC-averaged."""
    return model_name == "improved"


@dataclass(frozen=True)
class WindowSpec:
    """How windows are made (the config's ``windows`` section).

    Attributes
    ----------
    length : window length in bp (default 101, the study's); the label is this window's.
    stride : tiling step in bp (default 101: adjacent, non-overlapping windows).
    offset : first tile start (default 0).
    flank : context in bp added on each side of X (default 0); labels ignore it.
    max_n_fraction : drop windows whose fraction of non-ACGT bases exceeds this (default 0.5).
    """

    length: int = 101
    stride: int = 101
    offset: int = 0
    flank: int = 0
    max_n_fraction: float = 0.5

    def __post_init__(self) -> None:
        for name in ("length", "stride"):
            if getattr(self, name) < 1:
                raise InputError(f"windows.{name}: {getattr(self, name)} must be at least 1")
        for name in ("offset", "flank"):
            if getattr(self, name) < 0:
                raise InputError(f"windows.{name}: {getattr(self, name)} must not be negative")
        if not 0.0 <= self.max_n_fraction <= 1.0:
            raise InputError(f"windows.max_n_fraction: {self.max_n_fraction} must be in [0, 1]")

    @property
    def input_length(self) -> int:
        """Length of each X row: the window plus both flanks."""
        return self.length + 2 * self.flank


OPTIMIZERS = ("adam", "sgd")
#: how training faces a rare positive class (see :class:`tfbinding.models.batches.ResampledBatches`):
#: ``balanced_batches`` (each batch holds ``positive_share`` positives, reweighted so the loss
#: stays unbiased), ``weights`` (the study's: shuffled batches, balancing weights),
#: ``downsample`` (every positive and fresh negatives each epoch, reweighted), ``focal``
#: (shuffled batches, balancing weights, focal loss with gamma 2)
IMBALANCE_STRATEGIES = ("balanced_batches", "weights", "downsample", "focal")


@dataclass(frozen=True)
class TrainingConfig:
    """Hyper-parameters (the config's ``training`` section).

    The study's architecture (``filters``, ``kernel_size``, ``dropout``, ``batch_size``) with
    a recipe that leaves the plateau: ``optimizer`` ``"adam"`` (DeepChem KerasModel's
    default) at ``learning_rate`` 3e-3, ``batch_size`` 250 (the study's 1000 gives too few
    updates per epoch once negatives are downsampled), and gradient-norm clipping at
    ``clipnorm`` (0: off).
    ``"sgd"`` is the seed study's (``learning_rate`` 0.03, ``momentum`` 0.9), warmed up
    linearly over ``warmup_epochs``. ``improved_*`` settings apply to ``improved``.
    """

    filters: int = 15
    kernel_size: int = 10
    dropout: float = 0.5
    optimizer: str = "adam"
    learning_rate: float = 0.003
    momentum: float = 0.9
    clipnorm: float = 1.0
    warmup_epochs: int = 2
    batch_size: int = 250
    epochs: int = 30
    patience: int = 6
    early_stopping_start: int = 5
    seed: int = 0
    improved_filters: int = 64
    improved_learning_rate: float = 0.001
    improved_batch_size: int = 256
    improved_epochs: int = 15
    imbalance: str = "balanced_batches"
    improved_imbalance: str = "weights"
    positive_share: float = 0.25
    epoch_steps: int = 200

    def __post_init__(self) -> None:
        check_choice(self.optimizer, OPTIMIZERS, "training.optimizer")
        check_choice(self.imbalance, IMBALANCE_STRATEGIES, "training.imbalance")
        check_choice(self.improved_imbalance, IMBALANCE_STRATEGIES, "training.improved_imbalance")
        if not 0.0 < self.positive_share < 1.0:
            raise InputError(f"training.positive_share: {self.positive_share} must be between 0 and 1")

    def imbalance_for(self, model_name: str) -> str:
        """The imbalance strategy that ``model_name`` trains with."""
        return self.improved_imbalance if model_name == "improved" else self.imbalance


def coerce_to_schema(value, schema: dict):
    """Turn the strings of command-line overrides into the types a JSON schema expects.

    ``snakemake --config evaluation='{bootstrap: 10}'`` hands over ``{"bootstrap": "10"}``;
    here ``"10"`` becomes ``10`` where the schema wants an integer (likewise numbers,
    booleans and ``null``), recursively through objects and arrays. Anything that does not
    parse is returned unchanged, for the schema's validation to report.
    """
    types = schema.get("type", [])
    types = [types] if isinstance(types, str) else list(types)
    if isinstance(value, dict):
        properties = schema.get("properties", {})
        return {key: coerce_to_schema(item, properties.get(key, {})) for key, item in value.items()}
    if isinstance(value, list):
        return [coerce_to_schema(item, schema.get("items", {})) for item in value]
    if not isinstance(value, str):
        return value
    text = value.strip()
    if "null" in types and text in ("null", "None", "~", ""):
        return None
    if "boolean" in types and text.lower() in ("true", "false"):
        return text.lower() == "true"
    for kind, parse in (("integer", int), ("number", float)):
        if kind in types:
            try:
                return parse(text)
            except ValueError:
                pass
    return value
