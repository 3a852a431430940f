"""The motif baseline: score each window by its best match to a JASPAR position weight
matrix on either strand. No training.
"""
from __future__ import annotations

import os

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from tfbinding.errors import located


def read_jaspar(path: str | os.PathLike) -> tuple[str, np.ndarray]:
    """Read a JASPAR-format count matrix; return (header, counts of shape (length, 4), ACGT)."""
    lines = [line.strip() for line in open(path) if line.strip()]
    if not lines or not lines[0].startswith(">"):
        raise located(path, 1, "not a JASPAR matrix: the first line is no '>ID name' header")
    rows = {}
    for number, line in enumerate(lines[1:5], 2):
        base, _, values = line.partition("[")
        if base.strip() not in "ACGT" or not values.endswith("]"):
            raise located(path, number, f"expected 'A [ counts ]', found {line!r}")
        rows[base.strip()] = [float(v) for v in values[:-1].split()]
    counts = np.array([rows[b] for b in "ACGT"], dtype=np.float64).T
    return lines[0][1:], counts


def log_odds(counts: np.ndarray, pseudocount: float = 1.0, background: float = 0.25) -> np.ndarray:
    """Position weight matrix (log2 odds against a uniform background) from counts."""
    probabilities = (counts + pseudocount * background) / (counts.sum(axis=1, keepdims=True) + pseudocount)
    return np.log2(probabilities / background)


#: scan scores are rounded to 1/SCAN_SCALE: float32 sums of the same log-odds in another
#: order differ in the last bits, which would split ties between the same k-mers
SCAN_SCALE = 1e4


def best_match_scores(X: np.ndarray, pwm: np.ndarray, chunk: int = 4096) -> np.ndarray:
    """Max PWM score over all positions and both strands of each one-hot window.

    N positions (all-zero rows) add nothing to a match's score.
    """
    both_strands = np.stack((pwm, pwm[::-1, ::-1]))  # (2, k, 4): forward, reverse complement
    k = pwm.shape[0]
    scores = np.empty(len(X), dtype=np.float32)
    for first in range(0, len(X), chunk):
        # float64 sums, rounded: the same k-mer scores the same wherever it is summed
        block = np.asarray(X[first:first + chunk], dtype=np.float64)
        windows = sliding_window_view(block, (k, 4), axis=(1, 2))[:, :, 0]  # (n, L-k+1, k, 4)
        matches = np.einsum("nlkc,skc->nls", windows, both_strands.astype(np.float64), optimize=True)
        scores[first:first + len(block)] = np.round(matches.max(axis=(1, 2)) * SCAN_SCALE) / SCAN_SCALE
    return scores
