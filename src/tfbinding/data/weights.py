"""Sample weights that balance the two classes."""
from __future__ import annotations

import numpy as np

from tfbinding.config import WEIGHTS_MODES, check_choice


def balanced_weights(labels: np.ndarray) -> np.ndarray:
    """``w = n / (2 * n_class)`` for each sample, so that each class sums to ``n / 2``.

    A class that is absent gets no weight to speak of (there is no sample to carry it).
    """
    labels = np.asarray(labels).reshape(-1)
    n = labels.size
    positives = int(np.count_nonzero(labels))
    negatives = n - positives
    weights = np.empty(n, dtype=np.float32)
    if positives:
        weights[labels != 0] = n / (2.0 * positives)
    if negatives:
        weights[labels == 0] = n / (2.0 * negatives)
    return weights


def uniform_weights(labels: np.ndarray) -> np.ndarray:
    """All ones: for ``weights: none``."""
    return np.ones(np.asarray(labels).size, dtype=np.float32)


def split_weights(labels: np.ndarray, assignment: np.ndarray, mode: str,
                  negative_fraction: float = 1.0) -> np.ndarray:
    """Weights computed within each split (``assignment`` 0, 1, 2; others get 0).

    ``mode`` is ``"balanced"`` (:func:`balanced_weights`) or ``"none"`` (ones, except that
    kept negatives of train and valid stand for those dropped by negative downsampling:
    ``1 / negative_fraction``; test is never downsampled).
    """
    check_choice(mode, WEIGHTS_MODES, "weights")
    labels = np.asarray(labels).reshape(-1)
    weights = np.zeros(len(labels), dtype=np.float32)
    for value in range(3):
        rows = assignment == value
        if mode == "balanced":
            weights[rows] = balanced_weights(labels[rows])
        else:
            weights[rows] = uniform_weights(labels[rows])
            if value != 2:
                weights[rows & (labels == 0)] /= negative_fraction
    return weights


def task_weights(labels: np.ndarray, assignment: np.ndarray, mode: str,
                 negative_fraction: float = 1.0) -> np.ndarray:
    """Per-task weights for (N, T) labels: :func:`split_weights` of each task's column over
    the rows whose label is not masked (-1); a masked label weighs 0.

    Parameters
    ----------
    labels : (N, T) array of 1, 0 or -1 (masked: ambiguous for that task).
    assignment : (N,) split of each row (0, 1, 2; others get 0).
    mode, negative_fraction : as in :func:`split_weights`.

    Returns
    -------
    numpy.ndarray
        (N, T) float32; each task balanced within each split.
    """
    labels = np.asarray(labels)
    if labels.ndim != 2:
        raise ValueError(f"task_weights needs (N, T) labels, not shape {labels.shape}")
    weights = np.zeros(labels.shape, dtype=np.float32)
    for task in range(labels.shape[1]):
        column = labels[:, task]
        kept = column >= 0
        masked_assignment = np.where(kept, assignment, -1)
        weights[:, task] = split_weights(np.where(kept, column, 0), masked_assignment, mode,
                                         negative_fraction)
    return weights
