"""Window geometry, pure numpy: tile a chromosome and filter the windows.

Every window is ``[start, start + length)``, 0-based and half-open. Filters drop a window
for the first reason that applies, in this order: it runs past the chromosome's end, it
overlaps the blacklist, or its fraction of non-ACGT bases exceeds ``max_n_fraction``.
Shared by the windows step and genome-wide prediction.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from tfbinding.data.encoding import base_classes
from tfbinding.intervals import overlap_bp

PAST_END = "past_chrom_end"
BLACKLIST = "blacklist"
N_FRACTION = "n_fraction"


def tile(chrom_size: int, length: int, stride: int, offset: int = 0) -> np.ndarray:
    """Starts ``offset, offset + stride, …`` below ``chrom_size`` (the last ones may run past
    the end; :func:`select_windows` drops and counts them).
    """
    if offset >= chrom_size:
        return np.zeros(0, dtype=np.int64)
    return np.arange(offset, chrom_size, stride, dtype=np.int64)


def unknown_runs(sequence: np.ndarray, name: str = "sequence") -> tuple[np.ndarray, np.ndarray]:
    """Maximal runs ``[start, end)`` of bases that are not A, C, G or T (N, IUPAC codes).

    Real genomes hold few, long runs (gaps, centromeres), so windows are checked against
    these intervals instead of a per-base prefix sum. Bytes that are no nucleotide code
    are an error (see :func:`tfbinding.data.onehot.base_classes`).
    """
    unknown = base_classes(sequence, name).view(np.bool_)
    change = np.flatnonzero(unknown[1:] != unknown[:-1]) + 1
    bounds = np.concatenate(([0], change, [len(unknown)])).astype(np.int64)
    starts, ends = bounds[:-1], bounds[1:]
    keep = unknown[starts] if len(unknown) else np.zeros(0, dtype=bool)
    return starts[keep], ends[keep]


def n_fraction(sequence: np.ndarray, starts: np.ndarray, length: int,
               name: str = "sequence") -> np.ndarray:
    """Fraction of bases in each window that are not A, C, G or T (any case)."""
    return overlap_bp(starts, starts + length, *unknown_runs(sequence, name)) / length


@dataclass
class WindowSelection:
    """Windows kept on one chromosome, and how many were dropped for each reason."""

    starts: np.ndarray
    dropped: dict[str, int] = field(default_factory=dict)
    considered: int = 0


def select_windows(sequence: np.ndarray, starts: np.ndarray, length: int, max_n_fraction: float,
                   blacklist: tuple[np.ndarray, np.ndarray] | None = None,
                   name: str = "sequence") -> WindowSelection:
    """Drop windows past the end, on the blacklist, or too N-rich; count each reason.

    Parameters
    ----------
    sequence : numpy.ndarray of uint8
        The chromosome's ASCII bases.
    starts : array of int
        0-based starts of windows ``[start, start + length)``; sorted and made unique.
    length : int
        Window length in bp.
    max_n_fraction : float
        A window is kept when its fraction of non-ACGT bases is at most this.
    blacklist : (starts, ends) or None
        Merged, sorted intervals; a window touching one is dropped.
    name : str
        Named in errors (a byte that is no nucleotide code).

    Returns
    -------
    WindowSelection
        The kept starts, the number considered, and drops by the first reason that applies
        (``past_chrom_end``, ``blacklist``, ``n_fraction``).

    Raises
    ------
    InputError
        When the sequence holds a byte that is no nucleotide or IUPAC code.
    """
    starts = np.asarray(starts, dtype=np.int64)
    if not np.all(starts[1:] > starts[:-1]):
        starts = np.unique(starts)
    considered = len(starts)
    dropped = {PAST_END: 0, BLACKLIST: 0, N_FRACTION: 0}
    inside = starts + length <= len(sequence)
    dropped[PAST_END] = int(np.count_nonzero(~inside))
    starts = starts[inside]
    if blacklist is not None and len(blacklist[0]):
        hit = overlap_bp(starts, starts + length, *blacklist) > 0
        dropped[BLACKLIST] = int(np.count_nonzero(hit))
        starts = starts[~hit]
    too_many_n = n_fraction(sequence, starts, length, name) > max_n_fraction
    dropped[N_FRACTION] = int(np.count_nonzero(too_many_n))
    return WindowSelection(starts[~too_many_n], dropped, considered)
