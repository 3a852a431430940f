"""Run trained models: seed and thread TensorFlow, load a model, predict probabilities.

Training, evaluation, calibration, prediction and interpretation all go through here, so
a model is loaded, seeded and reverse-complement-averaged the same way everywhere.
"""
from __future__ import annotations

import json
import logging
import os
import zipfile
from pathlib import Path
from typing import Sequence

import numpy as np

from tfbinding.errors import InputError
from tfbinding.io.npy import read_rows

log = logging.getLogger(__name__)

MODEL_FILE = "model.keras"


def configure_tensorflow(seed: int = 0, threads: int | None = None) -> None:
    """Seed Python, numpy and TensorFlow, make ops deterministic, and cap CPU threads.

    Parameters
    ----------
    seed : int, default 0
        Seed of Python's, numpy's and TensorFlow's generators.
    threads : int or None, default None
        Intra-op threads; ``None`` leaves TensorFlow's choice. Ignored (with a debug
        message) once TensorFlow has started in this process.
    """
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    import keras
    import tensorflow as tf

    keras.utils.set_random_seed(seed)
    tf.config.experimental.enable_op_determinism()
    if threads:
        try:
            tf.config.threading.set_intra_op_parallelism_threads(threads)
            tf.config.threading.set_inter_op_parallelism_threads(1)
        except RuntimeError:  # TensorFlow already started in this process (notebooks, tests)
            log.debug("TensorFlow's thread pools are already set; keeping them")


def model_path(model_dir: str | os.PathLike) -> Path:
    """``<model_dir>/model.keras``; a path that already names a ``.keras`` file is kept."""
    path = Path(model_dir)
    return path if path.suffix == ".keras" else path / MODEL_FILE


def load_model(model_dir: str | os.PathLike, seed: int = 0, threads: int | None = None):
    """Load a trained model (``<model_dir>/model.keras``) after :func:`configure_tensorflow`.

    Parameters
    ----------
    model_dir : path
        A model folder (as ``tfbinding train`` writes it) or a ``.keras`` file.
    seed, threads
        Passed to :func:`configure_tensorflow`.

    Returns
    -------
    keras.Model

    Raises
    ------
    InputError
        When the file is missing, or is not a readable Keras archive (truncated, corrupt).
    """
    path = model_path(model_dir)
    if not path.is_file():
        raise InputError(f"{path}: no trained model here. Train it first (snakemake ... "
                         f"{path}) or check the path")
    if not zipfile.is_zipfile(path):
        raise InputError(f"{path}: not a Keras model archive (truncated or corrupt). Delete it "
                         "and rerun training to rebuild it")
    configure_tensorflow(seed, threads)
    import keras

    from tfbinding.models import architectures as models  # noqa: F401  (registers the custom layers a model may hold)

    try:
        return keras.models.load_model(path)
    except Exception as err:  # Keras raises many types for a damaged archive
        raise InputError(f"{path}: cannot load this Keras model ({type(err).__name__}: "
                         f"{str(err).splitlines()[0] if str(err) else 'no detail'}). Delete it and "
                         "rerun training to rebuild it") from err


def check_input_length(model, length: int, flank: int = 0,
                       model_dir: str | os.PathLike | None = None) -> None:
    """Refuse a window ``length`` and ``flank`` whose ``length + 2*flank`` is not the model's
    input length (a model without a fixed length takes any).

    Parameters
    ----------
    model : keras.Model
    length, flank : int
        The windows' length and flank (``tfbinding predict --length/--flank``).
    model_dir : path or None, default None
        Named in the message.

    Raises
    ------
    InputError
        One line naming the model, its input length, what was given and what fits.
    """
    shape = getattr(model, "input_shape", None)
    expected = shape[1] if shape is not None and len(shape) > 2 else None
    if expected is None or length + 2 * flank == int(expected):
        return
    expected = int(expected)
    where = f"{model_path(model_dir)}: " if model_dir is not None else ""
    fits = []
    if 0 <= expected - length and (expected - length) % 2 == 0:
        fits.append(f"--length {length} --flank {(expected - length) // 2}")
    if expected - 2 * flank > 0:
        fits.append(f"--length {expected - 2 * flank} --flank {flank}")
    raise InputError(f"{where}the model reads {expected} bp windows (length + 2*flank), but "
                     f"--length {length} --flank {flank} give {length + 2 * flank}. Use the length "
                     f"and flank of the dataset it was trained on"
                     + (f", e.g. {' or '.join(fits)}" if fits else ""))


def output_tasks(model) -> int:
    """The model's sigmoid outputs: 1, or T for a multi-task model."""
    return int(model.outputs[0].shape[-1] or 1) if getattr(model, "outputs", None) else 1


def signal_channels(model) -> int:
    """The model's input channels after A, C, G, T (0 for a sequence-only model)."""
    return (int(model.inputs[0].shape[-1] or 4) if getattr(model, "inputs", None) else 4) - 4


def task_names(model, model_dir: str | os.PathLike | None = None,
               names: Sequence[str] | None = None) -> list[str]:
    """The names of the model's outputs: ``[""]`` for a single-task model (its outputs keep
    their single-task names); for T tasks ``names`` if given, else the ``tasks`` that
    training wrote to ``<model_dir>/training.json``, else ``task0, task1, ...``.

    Raises
    ------
    InputError
        ``names`` (or training.json's tasks) not one per output, or repeated.
    """
    tasks = output_tasks(model)
    recorded = None
    if model_dir is not None:
        record = model_path(model_dir).parent / "training.json"
        try:
            recorded = json.loads(record.read_text()).get("tasks")
        except (OSError, ValueError, AttributeError):
            recorded = None
    if tasks == 1:
        if names and len(names) != 1:
            raise InputError(f"{len(names)} task names given ({', '.join(names)}) for a single-task "
                             "model: give none, or train on the multi-task dataset")
        return [""]
    if names:
        if recorded and list(recorded) != list(names):
            raise InputError(f"task names {list(names)} differ from the tasks the model was trained "
                             f"on ({recorded}, {model_path(model_dir).parent / 'training.json'}). "
                             "Predict with the model of this config, or retrain it")
        chosen = list(names)
    else:
        chosen = list(recorded) if recorded else [f"task{i}" for i in range(tasks)]
    if len(chosen) != tasks or len(set(chosen)) != len(chosen) or not all(chosen):
        raise InputError(f"task names {chosen}: the model has {tasks} outputs; give one distinct, "
                         "non-empty name per output")
    return chosen


def select_tasks(names: Sequence[str], wanted: Sequence[str | int] | str | int | None) -> list[int]:
    """Output indices of the ``wanted`` tasks (names or indices; None or empty: every task).

    Raises
    ------
    InputError
        A task that the model does not have.
    """
    if wanted is None or (not isinstance(wanted, (str, int)) and not len(wanted)):
        return list(range(len(names)))
    chosen = []
    for task in [wanted] if isinstance(wanted, (str, int)) else wanted:
        if isinstance(task, (int, np.integer)) and 0 <= task < len(names):
            chosen.append(int(task))
        elif task in names and task != "":
            chosen.append(list(names).index(task))
        else:
            raise InputError(f"task {task!r}: the model's tasks are {[n for n in names if n] or '(one, unnamed)'}. "
                             "Choose one of them (interpret.tasks)")
    return chosen


def reverse_complement(X: np.ndarray) -> np.ndarray:
    """Reverse complement of one-hot windows ``(n, L, C)`` with channels A, C, G, T first.

    With more than 4 channels, the ones after A, C, G, T are signal channels: they are
    reversed along the length only, not complemented.
    """
    if X.shape[-1] == 4:
        return X[:, ::-1, ::-1]
    return np.concatenate((X[:, ::-1, 3::-1], X[:, ::-1, 4:]), axis=-1)


def with_signals(X: np.ndarray, S: np.ndarray | None) -> np.ndarray:
    """One-hot windows with their signal channels after A, C, G, T: ``(n, L, 4 + S)``
    float32; ``X`` itself when ``S`` is None.
    """
    if S is None:
        return X
    return np.concatenate((np.asarray(X, dtype=np.float32), np.asarray(S, dtype=np.float32)), axis=-1)


def predict_probabilities(model, X: np.ndarray, reverse_complement_average: bool = False,
                          batch_size: int = 4096, signals: np.ndarray | None = None) -> np.ndarray:
    """Binding probabilities of one-hot windows.

    Parameters
    ----------
    model : keras.Model
        A model with one sigmoid output per window, or T (a multi-task model).
    X : array (n, L, 4)
        One-hot windows; a uint8 memory map is read ``batch_size`` rows at a time.
    reverse_complement_average : bool, default False
        Average each window's probability with its reverse complement's.
    batch_size : int, default 4096
    signals : array (n, L, S) or None, default None
        The windows' signal channels, for a model trained with them (row for row with X).

    Returns
    -------
    numpy.ndarray (n,) float32 for one output, (n, T) for T outputs
    """
    tasks = output_tasks(model)
    out = np.empty((len(X),) if tasks == 1 else (len(X), tasks), dtype=np.float32)
    for first in range(0, len(X), batch_size):
        rows = np.arange(first, min(first + batch_size, len(X)))
        block = read_rows(X, rows).astype(np.float32)  # pread: nothing of a memory map stays mapped
        if signals is not None:
            block = with_signals(block, read_rows(signals, rows))
        p = np.asarray(model.predict_on_batch(block)).reshape(len(block), -1)
        if reverse_complement_average:
            p = (p + np.asarray(model.predict_on_batch(reverse_complement(block))).reshape(len(block), -1)) / 2
        out[first:first + len(block)] = p[:, 0] if tasks == 1 else p
    return out


def load_ensemble(model_dirs: Sequence[str | os.PathLike], seed: int = 0, threads: int | None = None) -> list:
    """Load the models of an ensemble (e.g. the K fold models of ``split.folds``).

    Parameters
    ----------
    model_dirs : sequence of paths
        Model folders (or ``.keras`` files), one per member; at least one.
    seed, threads
        Passed to :func:`load_model`.

    Returns
    -------
    list of keras.Model

    Raises
    ------
    InputError
        No folder given, or members that differ in input length, channels or outputs.
    """
    if not len(model_dirs):
        raise InputError("an ensemble needs at least one model folder")
    models = [load_model(folder, seed, threads) for folder in model_dirs]
    shapes = {(tuple(m.input_shape[1:]), output_tasks(m)) for m in models}
    if len(shapes) > 1:
        raise InputError(f"the ensemble's models differ in input or outputs ({sorted(shapes)}): "
                         f"{', '.join(map(str, model_dirs))}. Give the folds of one model")
    return models


def predict_ensemble(models: Sequence, X: np.ndarray, reverse_complement_average: bool = False,
                     batch_size: int = 4096, signals: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """The ensemble's probabilities: the mean over its models, and each model's.

    Parameters
    ----------
    models : sequence of keras.Model
        The members (:func:`load_ensemble`).
    X, reverse_complement_average, batch_size, signals
        As in :func:`predict_probabilities`, for every member.

    Returns
    -------
    (numpy.ndarray, numpy.ndarray)
        The mean, ``(n,)`` or ``(n, T)`` float32, and the members' scores, ``(K, n)`` or
        ``(K, n, T)`` float32 (for the folds' spread, or a sign that differs between them).
    """
    members = np.stack([predict_probabilities(model, X, reverse_complement_average, batch_size, signals)
                        for model in models])
    return members.mean(axis=0, dtype=np.float64).astype(np.float32), members
