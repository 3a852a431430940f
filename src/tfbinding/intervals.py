"""Pure interval arithmetic on sorted numpy arrays (0-based, half-open)."""
from __future__ import annotations

import numpy as np


def covered_before(positions: np.ndarray, starts: np.ndarray, ends: np.ndarray) -> np.ndarray:
    """Bases of the disjoint, sorted intervals ``[starts, ends)`` that lie before each position.

    ``covered_before(x)`` counts covered bases in ``[0, x)``, so the overlap of a window
    ``[a, b)`` with the union is ``covered_before(b) - covered_before(a)``.
    """
    positions = np.asarray(positions, dtype=np.int64)
    if len(starts) == 0:
        return np.zeros(positions.shape, dtype=np.int64)
    lengths = ends - starts
    cumulative = np.concatenate(([0], np.cumsum(lengths)))
    last = np.searchsorted(starts, positions, side="right") - 1  # interval starting at or before x
    safe = np.maximum(last, 0)
    inside = np.clip(positions - starts[safe], 0, lengths[safe])
    return np.where(last >= 0, cumulative[safe] + inside, 0)


def overlap_bp(win_starts: np.ndarray, win_ends: np.ndarray, starts: np.ndarray,
               ends: np.ndarray) -> np.ndarray:
    """Bases of each window ``[win_starts, win_ends)`` covered by the disjoint, sorted
    intervals ``[starts, ends)`` (for example, merged peaks).
    """
    return covered_before(win_ends, starts, ends) - covered_before(win_starts, starts, ends)


def points_inside(win_starts: np.ndarray, win_ends: np.ndarray, points: np.ndarray) -> np.ndarray:
    """How many of the sorted ``points`` fall in each window ``[win_starts, win_ends)``."""
    return (np.searchsorted(points, win_ends, side="left")
            - np.searchsorted(points, win_starts, side="left"))
