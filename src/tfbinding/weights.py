"""Sample weights that balance the two classes."""
from __future__ import annotations

import numpy as np


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
