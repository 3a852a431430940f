"""Run trained models: seed and thread TensorFlow, load a model, predict probabilities.

Training, evaluation, calibration, prediction and interpretation all go through here, so
a model is loaded, seeded and reverse-complement-averaged the same way everywhere.
"""
from __future__ import annotations

import logging
import os
import zipfile
from pathlib import Path

import numpy as np

from .errors import InputError

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

    from . import models  # noqa: F401  (registers the custom layers a model may hold)

    try:
        return keras.models.load_model(path)
    except Exception as err:  # Keras raises many types for a damaged archive
        raise InputError(f"{path}: cannot load this Keras model ({type(err).__name__}: "
                         f"{str(err).splitlines()[0] if str(err) else 'no detail'}). Delete it and "
                         "rerun training to rebuild it") from err


def reverse_complement(X: np.ndarray) -> np.ndarray:
    """Reverse complement of one-hot windows ``(n, L, C)`` with channels A, C, G, T first."""
    return X[:, ::-1, ::-1]


def predict_probabilities(model, X: np.ndarray, reverse_complement_average: bool = False,
                          batch_size: int = 4096) -> np.ndarray:
    """Binding probabilities of one-hot windows.

    Parameters
    ----------
    model : keras.Model
        A model with one sigmoid output per window.
    X : array (n, L, 4)
        One-hot windows; a uint8 memory map is read ``batch_size`` rows at a time.
    reverse_complement_average : bool, default False
        Average each window's probability with its reverse complement's.
    batch_size : int, default 4096

    Returns
    -------
    numpy.ndarray (n,) float32
    """
    out = np.empty(len(X), dtype=np.float32)
    for first in range(0, len(X), batch_size):
        block = np.asarray(X[first:first + batch_size], dtype=np.float32)
        p = np.asarray(model.predict_on_batch(block)).reshape(len(block), -1)[:, 0]
        if reverse_complement_average:
            p = (p + np.asarray(model.predict_on_batch(reverse_complement(block))).reshape(
                len(block), -1)[:, 0]) / 2
        out[first:first + len(block)] = p
    return out
